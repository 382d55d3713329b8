// SPDX-License-Identifier: MIT
// Helpers of the kernel emulation suite: guarded buffers standing in for device memory,
// deterministic test data, and bitwise comparisons.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "core/rng.h"

namespace nst::emu_test {

// n elements of T with guard zones on both sides, standing in for a device allocation. The
// emulator has no bounds checking, so a kernel that writes outside its output shows up as a
// damaged guard (intact() == false). data() is 64-byte aligned plus `offset` elements, so that
// offset 1 reaches the kernels' unaligned (scalar) paths. Elements start as `fill`.
template <typename T>
class Guarded {
public:
    explicit Guarded(std::size_t n, std::size_t offset = 0, T fill = T())
        : m_n(n), m_bytes(kGuardBytes + 64 + (offset + n) * sizeof(T) + kGuardBytes),
          m_storage(static_cast<unsigned char*>(::operator new(m_bytes))) {
        std::memset(m_storage.get(), kPattern, m_bytes);
        unsigned char* base = m_storage.get() + kGuardBytes;
        base += (64 - reinterpret_cast<std::uintptr_t>(base) % 64) % 64;
        m_data = reinterpret_cast<T*>(base + offset * sizeof(T));
        for (std::size_t i = 0; i < n; ++i) m_data[i] = fill;
    }
    Guarded(const Guarded&) = delete;
    Guarded& operator=(const Guarded&) = delete;

    T* data() { return m_data; }
    const T* data() const { return m_data; }
    std::size_t size() const { return m_n; }
    T& operator[](std::size_t i) { return m_data[i]; }
    const T& operator[](std::size_t i) const { return m_data[i]; }
    T* begin() { return m_data; }
    T* end() { return m_data + m_n; }
    std::vector<T> to_vector() const { return std::vector<T>(m_data, m_data + m_n); }

    // Both guard zones still hold their pattern.
    bool intact() const {
        const auto* first = reinterpret_cast<const unsigned char*>(m_data);
        const auto* last = reinterpret_cast<const unsigned char*>(m_data + m_n);
        for (const unsigned char* p = m_storage.get(); p < first; ++p)
            if (*p != kPattern) return false;
        for (const unsigned char* p = last; p < m_storage.get() + m_bytes; ++p)
            if (*p != kPattern) return false;
        return true;
    }

private:
    static constexpr std::size_t kGuardBytes = 256;
    static constexpr unsigned char kPattern = 0xA5;
    struct Delete {
        void operator()(unsigned char* p) const { ::operator delete(p); }
    };
    std::size_t m_n, m_bytes;
    std::unique_ptr<unsigned char, Delete> m_storage;
    T* m_data = nullptr;
};

// Deterministic data from nst's counter-based RNG (the same on every platform).
template <typename T>
void fill_uniform(T* p, std::size_t n, std::uint64_t stream, double lo, double hi) {
    for (std::size_t i = 0; i < n; ++i) p[i] = T(lo + (hi - lo) * rng::uniform(2024, stream, i));
}
template <typename T>
void fill_normal(T* p, std::size_t n, std::uint64_t stream, double scale = 1.0) {
    for (std::size_t i = 0; i < n; ++i) p[i] = T(scale * rng::normal(2024, stream, i));
}

// Index of the first element whose bits differ, or -1 (NaNs compare by their bits too).
template <typename T>
long long first_bit_difference(const T* a, const T* b, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i)
        if (std::memcmp(a + i, b + i, sizeof(T)) != 0) return (long long)i;
    return -1;
}

// "i: a vs b" for the first differing element, for test messages.
template <typename T>
std::string describe_difference(const T* a, const T* b, std::size_t n) {
    const long long i = first_bit_difference(a, b, n);
    if (i < 0) return "bit-identical";
    char buf[160];
    std::snprintf(buf, sizeof buf, "first difference at %lld: %.9g vs %.9g", i, double(a[i]), double(b[i]));
    return buf;
}

// |a - b| / |b|, 0 when both are 0.
inline double rel_diff(double a, double b) {
    if (a == b) return 0;
    return std::fabs(a - b) / std::fabs(b);
}

// max |a - ref| / max |ref| over n values (the absolute error when ref is all zeros; infinity
// when a holds a NaN): the emulator suites' measure of a kernel against its CPU twin.
template <typename T>
double rel_max_err(const T* a, const T* ref, std::size_t n) {
    double err = 0, scale = 0;
    for (std::size_t i = 0; i < n; ++i) {
        err = std::max(err, std::fabs(double(a[i]) - double(ref[i])));
        scale = std::max(scale, std::fabs(double(ref[i])));
    }
    if (!(err == err)) return INFINITY;
    return scale > 0 ? err / scale : err;
}

}  // namespace nst::emu_test
