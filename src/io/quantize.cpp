// SPDX-License-Identifier: MIT
// Float RGB in [0, 1] to integer samples for the encoders.
#include <cmath>

#include "core/error.h"
#include "io/image.h"
#include "io/image_encode.h"

namespace nst {

namespace {

// Clamp, then round half up. NaN fails both comparisons and would reach the integer cast
// (undefined behaviour), so it is mapped to 0 explicitly.
inline double clamp01(float x) {
    if (!(x > 0.f)) return 0.0;
    if (x >= 1.f) return 1.0;
    return double(x);
}

template <typename Sample>
std::vector<Sample> quantize(ConstView<float> rgb, double max_value) {
    NST_REQUIRE(rgb.device == Device::Host, "image encoding needs a host tensor");
    NST_REQUIRE(rgb.shape.n == 1 && rgb.shape.c == 3 && rgb.shape.h > 0 && rgb.shape.w > 0,
                "image encoding needs (1, 3, H, W), got " + rgb.shape.str());
    const std::size_t plane = rgb.shape.plane();
    std::vector<Sample> out(plane * 3);
    for (int c = 0; c < 3; ++c) {
        const float* src = rgb.data + std::size_t(c) * plane;
        for (std::size_t i = 0; i < plane; ++i) out[3 * i + c] = Sample(std::floor(clamp01(src[i]) * max_value + 0.5));
    }
    return out;
}

}  // namespace

std::vector<std::uint8_t> quantize_rgb8(ConstView<float> rgb) { return quantize<std::uint8_t>(rgb, 255.0); }
std::vector<std::uint16_t> quantize_rgb16(ConstView<float> rgb) { return quantize<std::uint16_t>(rgb, 65535.0); }

void truncate_to_8bit_levels(TensorView<float> rgb) {
    NST_REQUIRE(rgb.device == Device::Host, "truncate_to_8bit_levels needs a host tensor");
    for (float& v : rgb) {
        const float c = v > 0.f ? (v < 1.f ? v : 1.f) : 0.f;  // NaN -> 0, as the encoder maps it
        v = std::floor(c * 255.f) / 255.f;  // float product, as torch's pic.mul(255).byte()
    }
}

}  // namespace nst
