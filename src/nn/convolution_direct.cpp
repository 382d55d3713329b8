// SPDX-License-Identifier: MIT
// Direct stride-1 convolution for large kernels (the 9x9 first and last layers of
// TransformerNet) in float. im2col + GEMM is a poor fit there: the last layer (32 -> 3, 9x9)
// has K = 2592 and M = 3, so the column matrix is 864 times the output and writing it costs
// far more than the 4 GFLOP of the convolution at 512 px (0.96 s of a 1.8 s forward, measured).
// Here each output row is computed in registers: a block of OB output channels by NV x 16
// columns, accumulated over (i, ky, kx) from rows of the explicitly padded input, which stay in
// L1/L2 across the kernel's rows. Weights are packed [o / OB][i][ky][kx][OB] so that each step
// broadcasts OB consecutive values.
#include <algorithm>
#include <vector>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "nn/convolution_impl.h"

namespace nst::cpu::detail {

namespace {

constexpr int kOB = 4;  // output channels per register block
constexpr int kNV = 4;  // 16-float vectors per register block (64 columns)

// One output row segment [c0, c0 + n) of channels o0 .. o0 + OB, n <= 64.
template <int OB>
void row_block(float* y, std::size_t y_plane, const float* xp, std::size_t x_plane, int wp, const float* wpk,
               const float* bias, int in, int k, int c0, int n, bool relu) {
#if defined(__AVX512F__)
    __m512 acc[OB][kNV];
    for (int o = 0; o < OB; ++o)
        for (int v = 0; v < kNV; ++v) acc[o][v] = _mm512_set1_ps(bias ? bias[o] : 0.0f);
    // Columns past n are masked: no load leaves the padded row, no store the output row.
    __mmask16 mask[kNV];
    for (int v = 0; v < kNV; ++v) mask[v] = __mmask16((1u << std::clamp(n - 16 * v, 0, 16)) - 1u);
    for (int i = 0; i < in; ++i) {
        for (int ky = 0; ky < k; ++ky) {
            const float* src = xp + std::size_t(i) * x_plane + std::size_t(ky) * wp + c0;
            const float* wk = wpk + (std::size_t(i) * k + ky) * k * kOB;
            for (int kx = 0; kx < k; ++kx) {
                __m512 s[kNV];
#pragma GCC unroll 4
                for (int v = 0; v < kNV; ++v) s[v] = _mm512_maskz_loadu_ps(mask[v], src + kx + 16 * v);
#pragma GCC unroll 4
                for (int o = 0; o < OB; ++o) {
                    const __m512 wv = _mm512_set1_ps(wk[kx * kOB + o]);
#pragma GCC unroll 4
                    for (int v = 0; v < kNV; ++v) acc[o][v] = _mm512_fmadd_ps(wv, s[v], acc[o][v]);
                }
            }
        }
    }
    for (int o = 0; o < OB; ++o)
        for (int v = 0; v < kNV; ++v) {
            __m512 r = acc[o][v];
            if (relu) r = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(r, _mm512_setzero_ps(), _CMP_GT_OQ), r);
            _mm512_mask_storeu_ps(y + std::size_t(o) * y_plane + c0 + 16 * v, mask[v], r);
        }
#else
    float acc[OB][kNV * 16];
    for (int o = 0; o < OB; ++o)
        for (int j = 0; j < kNV * 16; ++j) acc[o][j] = bias ? bias[o] : 0.0f;
    for (int i = 0; i < in; ++i)
        for (int ky = 0; ky < k; ++ky) {
            const float* src = xp + std::size_t(i) * x_plane + std::size_t(ky) * wp + c0;
            const float* wk = wpk + (std::size_t(i) * k + ky) * k * kOB;
            for (int kx = 0; kx < k; ++kx)
                for (int o = 0; o < OB; ++o) {
                    const float wv = wk[kx * kOB + o];
#pragma omp simd
                    for (int j = 0; j < n; ++j) acc[o][j] += wv * src[kx + j];
                }
        }
    for (int o = 0; o < OB; ++o)
        for (int j = 0; j < n; ++j) y[std::size_t(o) * y_plane + c0 + j] = relu ? std::max(acc[o][j], 0.0f) : acc[o][j];
#endif
}

using RowBlockFn = void (*)(float*, std::size_t, const float*, std::size_t, int, const float*, const float*, int, int,
                            int, int, bool);

}  // namespace

void direct_conv_valid(float* y, const float* xp, const float* w, const float* b, int in, int out, int k, int hp,
                       int wp, bool relu) {
    const int ho = hp - k + 1, wo = wp - k + 1;
    const int blocks = (out + kOB - 1) / kOB;
    // [block][i][ky][kx][kOB], channels past `out` zero.
    std::vector<float> packed(std::size_t(blocks) * in * k * k * kOB, 0.0f);
    for (int o = 0; o < out; ++o)
        for (int i = 0; i < in; ++i)
            for (int q = 0; q < k * k; ++q)
                packed[((std::size_t(o / kOB) * in + i) * k * k + q) * kOB + o % kOB] =
                    w[(std::size_t(o) * in + i) * k * k + q];
    const std::size_t x_plane = std::size_t(hp) * wp, y_plane = std::size_t(ho) * wo;
    const int col_blocks = (wo + 16 * kNV - 1) / (16 * kNV);
#pragma omp parallel for schedule(static) collapse(2)
    for (int bl = 0; bl < blocks; ++bl)
        for (int r = 0; r < ho; ++r) {
            const int o0 = bl * kOB, ob = std::min(kOB, out - o0);
            static constexpr RowBlockFn fns[kOB] = {row_block<1>, row_block<2>, row_block<3>, row_block<4>};
            // Every block is packed kOB wide; a narrower tail block reads its first ob values.
            const float* wpk = packed.data() + std::size_t(bl) * in * k * k * kOB;
            for (int cb = 0; cb < col_blocks; ++cb) {
                const int c0 = cb * 16 * kNV, n = std::min(16 * kNV, wo - c0);
                float* yr = y + std::size_t(o0) * y_plane + std::size_t(r) * wo;
                const float* xr = xp + std::size_t(r) * wp;
                if (ob == kOB)
                    row_block<kOB>(yr, y_plane, xr, x_plane, wp, wpk, b ? b + o0 : nullptr, in, k, c0, n, relu);
                else
                    fns[ob - 1](yr, y_plane, xr, x_plane, wp, wpk, b ? b + o0 : nullptr, in, k, c0, n, relu);
            }
        }
}

namespace {

constexpr int kWOB = 3;   // output channels per weight-gradient task
constexpr int kMaxK = 9;  // kernels up to 9 keep kWOB x k accumulators in registers
constexpr int kBand = 8;  // rows per band: the band's dy and input rows stay in L1/L2 for all ky

// dw[o0 + o][i][ky][kx] += sum over rows and columns of dy[o0 + o][r][c] xp[i][r + ky][c + kx]
// for o < OB and every ky, kx, one image. Rows go in bands; within a band each ky sweeps the
// band with OB x k accumulators in registers, parked in `park` between bands.
template <int OB>
void weight_grad_task(float* dw_i,  // &dw[o0][i][0][0]; output-channel stride dw_stride
                      std::size_t dw_stride, const float* dy, std::size_t y_plane, const float* xpi, int wp, int ho,
                      int wo, int k) {
#if defined(__AVX512F__)
    __m512 park[kMaxK][OB][kMaxK];
    for (int ky = 0; ky < k; ++ky)
        for (int o = 0; o < OB; ++o)
            for (int kx = 0; kx < k; ++kx) park[ky][o][kx] = _mm512_setzero_ps();
    for (int r0 = 0; r0 < ho; r0 += kBand) {
        const int r1 = std::min(ho, r0 + kBand);
        for (int ky = 0; ky < k; ++ky) {
            __m512 acc[OB][kMaxK];
            for (int o = 0; o < OB; ++o)
                for (int kx = 0; kx < kMaxK; ++kx) acc[o][kx] = kx < k ? park[ky][o][kx] : _mm512_setzero_ps();
            for (int r = r0; r < r1; ++r) {
                const float* src = xpi + std::size_t(r + ky) * wp;
                for (int c0 = 0; c0 < wo; c0 += 16) {
                    const __mmask16 m = __mmask16((1u << std::min(16, wo - c0)) - 1u);
                    __m512 g[OB];
                    for (int o = 0; o < OB; ++o)
                        g[o] = _mm512_maskz_loadu_ps(m, dy + std::size_t(o) * y_plane + std::size_t(r) * wo + c0);
                    for (int kx = 0; kx < k; ++kx) {
                        const __m512 sv = _mm512_maskz_loadu_ps(m, src + c0 + kx);
                        for (int o = 0; o < OB; ++o) acc[o][kx] = _mm512_fmadd_ps(g[o], sv, acc[o][kx]);
                    }
                }
            }
            for (int o = 0; o < OB; ++o)
                for (int kx = 0; kx < k; ++kx) park[ky][o][kx] = acc[o][kx];
        }
    }
    alignas(64) float lanes[16];
    for (int ky = 0; ky < k; ++ky)
        for (int o = 0; o < OB; ++o)
            for (int kx = 0; kx < k; ++kx) {
                _mm512_store_ps(lanes, park[ky][o][kx]);
                float t = 0;
                for (float v : lanes) t += v;
                dw_i[std::size_t(o) * dw_stride + std::size_t(ky) * k + kx] += t;
            }
#else
    for (int o = 0; o < OB; ++o)
        for (int ky = 0; ky < k; ++ky)
            for (int kx = 0; kx < k; ++kx) {
                double s = 0;
                for (int r = 0; r < ho; ++r) {
                    const float* src = xpi + std::size_t(r + ky) * wp + kx;
                    const float* g = dy + std::size_t(o) * y_plane + std::size_t(r) * wo;
                    float t = 0;
#pragma omp simd reduction(+ : t)
                    for (int c = 0; c < wo; ++c) t += g[c] * src[c];
                    s += t;
                }
                dw_i[std::size_t(o) * dw_stride + std::size_t(ky) * k + kx] += float(s);
            }
#endif
}

}  // namespace

void direct_weight_grad(float* dw, const float* dy, const float* xp, int batch, int in, int out, int k, int hp, int wp) {
    NST_REQUIRE(k <= kMaxK, "direct_weight_grad: kernels up to 9");
    const int ho = hp - k + 1, wo = wp - k + 1;
    const int blocks = (out + kWOB - 1) / kWOB;
    const std::size_t x_plane = std::size_t(hp) * wp, y_plane = std::size_t(ho) * wo;
    const std::size_t dw_stride = std::size_t(in) * k * k;
    // Tasks (output block, i) own disjoint weights: no reduction across threads.
#pragma omp parallel for schedule(dynamic) collapse(2)
    for (int bl = 0; bl < blocks; ++bl)
        for (int i = 0; i < in; ++i) {
            const int o0 = bl * kWOB, ob = std::min(kWOB, out - o0);
            float* dw_i = dw + std::size_t(o0) * dw_stride + std::size_t(i) * k * k;
            for (int n = 0; n < batch; ++n) {
                const float* dyn = dy + (std::size_t(n) * out + o0) * y_plane;
                const float* xpi = xp + (std::size_t(n) * in + i) * x_plane;
                if (ob == 3)
                    weight_grad_task<3>(dw_i, dw_stride, dyn, y_plane, xpi, wp, ho, wo, k);
                else if (ob == 2)
                    weight_grad_task<2>(dw_i, dw_stride, dyn, y_plane, xpi, wp, ho, wo, k);
                else
                    weight_grad_task<1>(dw_i, dw_stride, dyn, y_plane, xpi, wp, ho, wo, k);
            }
        }
}

}  // namespace nst::cpu::detail
