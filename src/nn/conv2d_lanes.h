// SPDX-License-Identifier: MIT
// Lanes<T>: 16 values processed together by the Winograd transforms (one value per tile), with
// the few operations the transforms need: partial loads and stores (a group may have fewer
// than 16 tiles), zero-padded even/odd deinterleaving loads (a tile row's input columns
// 2l + c) and interleaving (its output columns 2l, 2l + 1). Float on AVX-512 maps one Lanes to one zmm register and
// uses masked memory operations, so edge groups never touch memory past their last element;
// every other case is a plain array the compiler vectorises as it can.
#pragma once
#include <algorithm>
#include <cstdint>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace nst::cpu::detail {

constexpr int kLanes = 16;

template <typename T>
struct Lanes {
    T v[kLanes];

    static Lanes zero() {
        Lanes r;
        for (int l = 0; l < kLanes; ++l) r.v[l] = T(0);
        return r;
    }
    static Lanes splat(T s) {
        Lanes r;
        for (int l = 0; l < kLanes; ++l) r.v[l] = s;
        return r;
    }
    // p[0..n) into lanes 0..n-1, zeros above (n may be <= 0 or > 16).
    static Lanes load(const T* p, int n) {
        Lanes r;
        for (int l = 0; l < kLanes; ++l) r.v[l] = l < n ? p[l] : T(0);
        return r;
    }
    void store(T* p, int n) const {
        for (int l = 0; l < std::min(n, kLanes); ++l) p[l] = v[l];
    }
    // The window win[j] = row[start + j] for j < count where 0 <= start + j < w, else 0
    // (start >= -1: -1 is the left zero padding), read as d_c[l] = win[2l + c], c = 0..3: the
    // four input columns of 16 consecutive F(2x2, 3x3) tiles. count <= 34.
    static void load_tile_columns(const T* row, int start, int count, int w, Lanes d[4]) {
        for (int c = 0; c < 4; ++c)
            for (int l = 0; l < kLanes; ++l) {
                const int j = 2 * l + c;
                d[c].v[l] = (j < count && start + j >= 0 && start + j < w) ? row[start + j] : T(0);
            }
    }
    // a[0], b[0], a[1], b[1], ... a[15], b[15]: interleave_lo gives the first 16, _hi the rest.
    static Lanes interleave_lo(const Lanes& a, const Lanes& b) {
        Lanes r;
        for (int l = 0; l < kLanes / 2; ++l) {
            r.v[2 * l] = a.v[l];
            r.v[2 * l + 1] = b.v[l];
        }
        return r;
    }
    static Lanes interleave_hi(const Lanes& a, const Lanes& b) {
        Lanes r;
        for (int l = 0; l < kLanes / 2; ++l) {
            r.v[2 * l] = a.v[l + kLanes / 2];
            r.v[2 * l + 1] = b.v[l + kLanes / 2];
        }
        return r;
    }
    friend Lanes operator+(const Lanes& a, const Lanes& b) {
        Lanes r;
        for (int l = 0; l < kLanes; ++l) r.v[l] = a.v[l] + b.v[l];
        return r;
    }
    friend Lanes operator-(const Lanes& a, const Lanes& b) {
        Lanes r;
        for (int l = 0; l < kLanes; ++l) r.v[l] = a.v[l] - b.v[l];
        return r;
    }
    Lanes relu() const {
        Lanes r;
        for (int l = 0; l < kLanes; ++l) r.v[l] = v[l] > T(0) ? v[l] : T(0);
        return r;
    }
    // Lanes where m > 0 keep their value, the others become 0 (ReLU backward with m = y).
    Lanes keep_where_positive(const Lanes& m) const {
        Lanes r;
        for (int l = 0; l < kLanes; ++l) r.v[l] = m.v[l] > T(0) ? v[l] : T(0);
        return r;
    }
    // The same with a compact mask: lanes l < n where bytes[l] != 0 keep their value.
    Lanes keep_where_set(const std::uint8_t* bytes, int n) const {
        Lanes r;
        for (int l = 0; l < kLanes; ++l) r.v[l] = (l < n && bytes[l]) ? v[l] : T(0);
        return r;
    }
    // bytes[l] = (v[l] > 0) for l < n: the compact mask keep_where_set reads.
    void store_positive(std::uint8_t* bytes, int n) const {
        for (int l = 0; l < std::min(n, kLanes); ++l) bytes[l] = v[l] > T(0);
    }
};

#if defined(__AVX512F__)
template <>
struct Lanes<float> {
    __m512 v;

    static __mmask16 first(int n) {
        n = std::clamp(n, 0, kLanes);
        return __mmask16((1u << n) - 1u);
    }
    static Lanes zero() { return {_mm512_setzero_ps()}; }
    static Lanes splat(float s) { return {_mm512_set1_ps(s)}; }
    static Lanes load(const float* p, int n) {
        return n >= kLanes ? Lanes{_mm512_loadu_ps(p)} : Lanes{_mm512_maskz_loadu_ps(first(n), p)};
    }
    void store(float* p, int n) const {
        if (n >= kLanes)
            _mm512_storeu_ps(p, v);
        else
            _mm512_mask_storeu_ps(p, first(n), v);
    }
    [[gnu::always_inline]] static void load_tile_columns(const float* row, int start, int count, int w, Lanes d[4]) {
        // win[0..16), win[16..32), win[32..34) in a, b, c.
        __m512 a, b, c;
        if (start >= 0 && count >= 34 && start + 34 <= w) {
            a = _mm512_loadu_ps(row + start);
            b = _mm512_loadu_ps(row + start + kLanes);
            c = _mm512_maskz_loadu_ps(0x3, row + start + 2 * kLanes);
        } else {
            // Valid j: max(0, -start) <= j < min(count, w - start).
            const int jb = std::max(0, -start), je = std::min(count, w - start);
            const __mmask16 m0 = je > jb ? __mmask16(first(je) & ~first(jb)) : __mmask16(0);
            const __mmask16 m1 = first(je - kLanes), m2 = first(je - 2 * kLanes);
            if (start >= 0) {
                a = _mm512_maskz_loadu_ps(m0, row + start);
            } else {
                // start = -1: load row[0..] into lanes 0.. and shift up by one in register, so
                // no pointer leaves the row (and the slow memory form of vexpandps is avoided).
                a = _mm512_maskz_expand_ps(m0, _mm512_maskz_loadu_ps(__mmask16(m0 >> 1), row));
            }
            b = m1 ? _mm512_maskz_loadu_ps(m1, row + start + kLanes) : _mm512_setzero_ps();
            c = m2 ? _mm512_maskz_loadu_ps(m2, row + start + 2 * kLanes) : _mm512_setzero_ps();
        }
        const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
        const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
        // d2 = d0 shifted down one lane with win[32] on top, d3 = d1 shifted with win[33].
        const __m512i next0 = _mm512_setr_epi32(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16);
        const __m512i next1 = _mm512_setr_epi32(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 17);
        d[0].v = _mm512_permutex2var_ps(a, even, b);
        d[1].v = _mm512_permutex2var_ps(a, odd, b);
        d[2].v = _mm512_permutex2var_ps(d[0].v, next0, c);
        d[3].v = _mm512_permutex2var_ps(d[1].v, next1, c);
    }
    static Lanes interleave_lo(const Lanes& a, const Lanes& b) {
        const __m512i idx = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
        return {_mm512_permutex2var_ps(a.v, idx, b.v)};
    }
    static Lanes interleave_hi(const Lanes& a, const Lanes& b) {
        const __m512i idx = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
        return {_mm512_permutex2var_ps(a.v, idx, b.v)};
    }
    friend Lanes operator+(const Lanes& a, const Lanes& b) { return {_mm512_add_ps(a.v, b.v)}; }
    friend Lanes operator-(const Lanes& a, const Lanes& b) { return {_mm512_sub_ps(a.v, b.v)}; }
    // Not _mm512_max_ps: GCC 12 warns about its internal undefined operand.
    Lanes relu() const { return keep_where_positive(*this); }
    Lanes keep_where_positive(const Lanes& m) const {
        return {_mm512_maskz_mov_ps(_mm512_cmp_ps_mask(m.v, _mm512_setzero_ps(), _CMP_GT_OQ), v)};
    }
#if defined(__AVX512BW__) && defined(__AVX512VL__)
    // Byte masks through the 128-bit forms, so that no byte past n is read or written.
    Lanes keep_where_set(const std::uint8_t* bytes, int n) const {
        const __m128i b = _mm_maskz_loadu_epi8(first(n), bytes);
        return {_mm512_maskz_mov_ps(_mm_test_epi8_mask(b, b), v)};
    }
    void store_positive(std::uint8_t* bytes, int n) const {
        const __mmask16 pos = _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_GT_OQ);
        _mm_mask_storeu_epi8(bytes, first(n), _mm_maskz_set1_epi8(pos, 1));
    }
#else
    Lanes keep_where_set(const std::uint8_t* bytes, int n) const {
        __mmask16 keep = 0;
        for (int l = 0; l < std::min(n, kLanes); ++l) keep |= __mmask16(bytes[l] ? 1u << l : 0u);
        return {_mm512_maskz_mov_ps(keep, v)};
    }
    void store_positive(std::uint8_t* bytes, int n) const {
        const unsigned pos = _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_GT_OQ);
        for (int l = 0; l < std::min(n, kLanes); ++l) bytes[l] = (pos >> l) & 1u;
    }
#endif
};
#endif

}  // namespace nst::cpu::detail
