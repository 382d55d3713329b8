// SPDX-License-Identifier: MIT
#include "convert/elements.h"

#include <cfloat>
#include <cmath>
#include <cstring>

#include "core/error.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "checkpoint readers assume a little-endian host");

namespace nst::convert {

namespace {

// IEEE binary16 to binary32 (exact: every half is a float), keeping inf and NaN.
float half_to_float(std::uint16_t h) {
    const std::uint32_t sign = std::uint32_t(h & 0x8000u) << 16;
    const std::uint32_t exp = (h >> 10) & 0x1fu;
    const std::uint32_t mant = h & 0x3ffu;
    if (exp == 0) {
        const float mag = std::ldexp(float(mant), -24);  // zero or subnormal
        return sign ? -mag : mag;
    }
    const std::uint32_t bits = exp == 31 ? (sign | 0x7f800000u | (mant << 13))
                                         : (sign | ((exp + 112u) << 23) | (mant << 13));
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

float bf16_to_float(std::uint16_t h) {
    const std::uint32_t bits = std::uint32_t(h) << 16;  // bfloat16 is the top half of a float
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

// A plain cast of a double beyond the float range is undefined behaviour: saturate to inf.
float double_to_float(double d) {
    constexpr double kOverflow = 0x1.ffffffp127;  // from here on round-to-nearest gives inf
    if (std::isfinite(d) && std::fabs(d) >= kOverflow) return d > 0 ? HUGE_VALF : -HUGE_VALF;
    return static_cast<float>(d);
}

}  // namespace

std::size_t elem_size(ElemType t) {
    switch (t) {
        case ElemType::F16:
        case ElemType::BF16: return 2;
        case ElemType::F32: return 4;
        case ElemType::F64: return 8;
        case ElemType::Unsupported: return 0;
    }
    return 0;
}

float elem_at(ElemType t, const unsigned char* src, std::size_t k) {
    switch (t) {
        case ElemType::F16: {
            std::uint16_t h;
            std::memcpy(&h, src + 2 * k, 2);
            return half_to_float(h);
        }
        case ElemType::BF16: {
            std::uint16_t h;
            std::memcpy(&h, src + 2 * k, 2);
            return bf16_to_float(h);
        }
        case ElemType::F32: {
            float f;
            std::memcpy(&f, src + 4 * k, 4);
            return f;
        }
        case ElemType::F64: {
            double d;
            std::memcpy(&d, src + 8 * k, 8);
            return double_to_float(d);
        }
        case ElemType::Unsupported: break;
    }
    NST_REQUIRE(false, "elem_at: unsupported element type");
    return 0;
}

void to_float(ElemType t, const unsigned char* src, std::size_t n, float* dst) {
    if (t == ElemType::F32) {
        std::memcpy(dst, src, n * 4);
        return;
    }
    for (std::size_t k = 0; k < n; ++k) dst[k] = elem_at(t, src, k);
}

}  // namespace nst::convert
