// SPDX-License-Identifier: MIT
// bfloat16 storage for the L-BFGS history (--lbfgs-history-precision bf16): the upper 16 bits of
// an IEEE float (sign, 8 exponent bits, 7 mantissa bits). One header for the CPU optimiser
// (optim/lbfgs.cpp) and the CUDA kernels (kernels/lbfgs.cu), so that both round bit-identically
// without depending on cuda_bf16.h (which the kernel emulator does not model).
//
// float -> bf16 rounds to nearest, ties to even, on the bit pattern: adding 0x7fff plus the lowest
// kept bit carries into the kept bits exactly when the dropped 16 bits exceed half an ulp, or
// equal it with an odd kept mantissa. This is also correct for subnormals (bf16 keeps float's
// exponent range, so they round like any other value), rounds values above the largest bf16 to
// infinity as IEEE rounding does, and keeps +-inf. A NaN stays a NaN with its sign: its upper
// bits are kept and the quiet bit is set, so that a payload living only in the dropped bits cannot
// turn it into infinity. bf16 -> float is exact (shift back).
#pragma once
#include <cstdint>
#include <cstring>

#if defined(__CUDACC__)
#define NST_BF16_HD __host__ __device__
#else
#define NST_BF16_HD
#endif

namespace nst {

// A bf16 value's bits; a distinct type so that storage overloads cannot mistake it for an integer.
struct Bf16 {
    std::uint16_t bits;
};

NST_BF16_HD inline std::uint32_t float_bits(float f) {
#if defined(__CUDA_ARCH__)
    return __float_as_uint(f);
#else
    std::uint32_t u;
    std::memcpy(&u, &f, sizeof u);
    return u;
#endif
}

NST_BF16_HD inline float float_from_bits(std::uint32_t u) {
#if defined(__CUDA_ARCH__)
    return __uint_as_float(u);
#else
    float f;
    std::memcpy(&f, &u, sizeof f);
    return f;
#endif
}

NST_BF16_HD inline Bf16 bf16_from_float(float f) {
    const std::uint32_t u = float_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return Bf16{std::uint16_t((u >> 16) | 0x0040u)};  // NaN
    return Bf16{std::uint16_t((u + 0x7fffu + ((u >> 16) & 1u)) >> 16)};
}

NST_BF16_HD inline float bf16_to_float(Bf16 b) { return float_from_bits(std::uint32_t(b.bits) << 16); }

// The float that bf16 storage of f reads back.
NST_BF16_HD inline float bf16_round(float f) { return bf16_to_float(bf16_from_float(f)); }

}  // namespace nst
