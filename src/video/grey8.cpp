// SPDX-License-Identifier: MIT
#include "video/grey8.h"

#include <algorithm>
#include <cmath>

namespace nst {

std::vector<std::uint8_t> grey8(ConstView<float> rgb) {
    NST_REQUIRE(rgb.device == Device::Host && rgb.shape.n == 1 && rgb.shape.c == 3,
                "grey8 needs a host (1, 3, H, W) image, got " + rgb.shape.str());
    const std::size_t plane = rgb.shape.plane();
    const float* r = rgb.data;
    const float* g = r + plane;
    const float* b = g + plane;
    std::vector<std::uint8_t> out(plane);
    for (std::size_t i = 0; i < plane; ++i) {
        // Integer weights over 1000: exact for equal channels (0.299 + 0.587 + 0.114 is not 1 in binary).
        const double y = std::clamp((299.0 * r[i] + 587.0 * g[i] + 114.0 * b[i]) / 1000.0, 0.0, 1.0);
        out[i] = std::uint8_t(std::floor(255.0 * y + 0.5));
    }
    return out;
}

}  // namespace nst
