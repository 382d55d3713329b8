// SPDX-License-Identifier: MIT
// core/bf16.h against a reference written from the definition of rounding rather than from bit
// tricks: the two bf16 neighbours of a float, compared in double, ties to the even mantissa, and
// IEEE overflow (round as if the exponent were unbounded, then infinity beyond the largest).
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "core/bf16.h"
#include "core/rng.h"

using namespace nst;

namespace {

// The bf16 bits nearest to finite f by the definition. lo: f truncated toward zero to bf16;
// hi: the next bf16 away from zero (2^128 in magnitude where that is infinity).
std::uint16_t reference_bits(float f) {
    const std::uint32_t u = float_bits(f);
    const std::uint16_t lo = std::uint16_t(u >> 16);
    const std::uint16_t hi = std::uint16_t(lo + 1);
    const double lo_v = double(bf16_to_float(Bf16{lo}));
    double hi_v = double(bf16_to_float(Bf16{hi}));
    if (std::isinf(hi_v)) hi_v = std::copysign(std::ldexp(1.0, 128), double(f));
    const double dl = std::fabs(double(f) - lo_v), dh = std::fabs(hi_v - double(f));
    if (dl < dh) return lo;
    if (dh < dl) return hi;
    return (lo & 1) ? hi : lo;  // tie: the even mantissa
}

bool is_nan_bits(std::uint16_t b) { return (b & 0x7fff) > 0x7f80; }

}  // namespace

TEST_CASE("bf16: float to bf16 rounds to nearest even like the reference") {
    std::vector<std::uint32_t> cases = {
        0x00000000u, 0x80000000u,              // +-0
        0x00000001u, 0x00008000u, 0x00018000u, // subnormals: smallest, ties down and up
        0x007fffffu, 0x00800000u,              // largest subnormal, smallest normal
        0x3f800000u, 0x3f808000u, 0x3f818000u, // 1, 1 + half ulp (tie to even: 1), odd + tie (up)
        0x3f807fffu, 0x3f808001u,              // just below and above the tie
        0xbf808000u, 0xbf818000u,              // the same ties, negative
        0x7f7f7fffu, 0x7f7f8000u, 0x7f7fffffu, // largest bf16 + less than, exactly, more than half ulp
        0xff7f8000u,                           // the same tie, negative
    };
    for (std::uint64_t i = 0; i < 200000; ++i)
        cases.push_back(std::uint32_t(rng::uniform(91, 0, i) * 4294967296.0));
    int checked = 0;
    for (std::uint32_t u : cases) {
        const float f = float_from_bits(u);
        if (std::isnan(f)) continue;
        CAPTURE(u);
        REQUIRE(bf16_from_float(f).bits == reference_bits(f));
        ++checked;
    }
    MESSAGE(checked << " floats rounded as the reference");
    // Named outcomes the reference decides: ties go to the even neighbour, overflow to infinity.
    CHECK(bf16_from_float(float_from_bits(0x3f808000u)).bits == 0x3f80);
    CHECK(bf16_from_float(float_from_bits(0x3f818000u)).bits == 0x3f82);
    CHECK(bf16_from_float(float_from_bits(0x7f7f8000u)).bits == 0x7f80);
    CHECK(bf16_from_float(float_from_bits(0x7f7f7fffu)).bits == 0x7f7f);
}

TEST_CASE("bf16: infinities stay and NaNs stay NaN with their sign") {
    CHECK(bf16_from_float(std::numeric_limits<float>::infinity()).bits == 0x7f80);
    CHECK(bf16_from_float(-std::numeric_limits<float>::infinity()).bits == 0xff80);
    CHECK(std::isinf(bf16_round(std::numeric_limits<float>::infinity())));
    // Payloads only in the dropped bits must not become infinity; the sign is kept.
    for (std::uint32_t u : {0x7f800001u, 0x7f80ffffu, 0x7fc00000u, 0x7fffffffu, 0xff800001u, 0xffc00000u}) {
        CAPTURE(u);
        const std::uint16_t b = bf16_from_float(float_from_bits(u)).bits;
        CHECK(is_nan_bits(b));
        CHECK((b >> 15) == (u >> 31));
        CHECK(std::isnan(bf16_to_float(Bf16{b})));
    }
}

TEST_CASE("bf16: every bf16 value converts to float and back unchanged") {
    for (std::uint32_t b = 0; b <= 0xffff; ++b) {
        if (is_nan_bits(std::uint16_t(b))) continue;
        const float f = bf16_to_float(Bf16{std::uint16_t(b)});
        REQUIRE(float_bits(f) == b << 16);
        REQUIRE(bf16_from_float(f).bits == b);
    }
}
