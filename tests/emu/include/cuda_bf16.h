// SPDX-License-Identifier: MIT
// bf16 for the emulator: the storage type and the two conversions kernels/cast.cu uses, with the
// device's semantics. float -> bf16 rounds to nearest, ties to even, by bit manipulation; a NaN
// stays a (quiet) NaN; bf16 -> float is exact (the bits shifted into the upper half).
#pragma once

#include <cstdint>
#include <cstring>

struct alignas(2) __nv_bfloat16 {
    unsigned short __x;
};

inline __nv_bfloat16 __float2bfloat16_rn(float f) {
    std::uint32_t u;
    std::memcpy(&u, &f, sizeof u);
    __nv_bfloat16 r;
    if ((u & 0x7fffffffu) > 0x7f800000u) {  // NaN: keep the sign, force a quiet NaN
        r.__x = static_cast<unsigned short>((u >> 16) | 0x0040u);
        return r;
    }
    const std::uint32_t lsb = (u >> 16) & 1u;
    u += 0x7fffu + lsb;  // carries into the exponent as the rounding requires (up to infinity)
    r.__x = static_cast<unsigned short>(u >> 16);
    return r;
}

inline float __bfloat162float(__nv_bfloat16 b) {
    const std::uint32_t u = std::uint32_t(b.__x) << 16;
    float f;
    std::memcpy(&f, &u, sizeof f);
    return f;
}
