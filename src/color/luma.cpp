// SPDX-License-Identifier: MIT
#include "color/luma.h"

#include <algorithm>

#include "core/error.h"

namespace nst::color {

namespace {

void check_image(ConstView<float> rgb, const char* what) {
    NST_REQUIRE(rgb.device == Device::Host, std::string(what) + ": colour transforms run on host tensors");
    NST_REQUIRE(rgb.shape.n == 1 && rgb.shape.c == 3, std::string(what) + ": expected (1, 3, H, W), got " +
                                                          rgb.shape.str());
}

}  // namespace

void to_grey(TensorView<float> out, ConstView<float> rgb) {
    check_image(rgb, "to_grey");
    NST_REQUIRE(out.shape == rgb.shape && out.device == Device::Host, "to_grey: shapes differ");
    const std::size_t n = rgb.shape.plane();
    for (std::size_t i = 0; i < n; ++i) {
        const float y = float(luma(rgb.data[i], rgb.data[n + i], rgb.data[2 * n + i]));
        out.data[i] = out.data[n + i] = out.data[2 * n + i] = y;
    }
}

Tensor<float> grey_image(ConstView<float> rgb) {
    Tensor<float> out(rgb.shape);
    to_grey(out.view(), rgb);
    return out;
}

void luminance_swap(TensorView<float> out, ConstView<float> content, ConstView<float> generated) {
    check_image(content, "luminance_swap");
    NST_REQUIRE(generated.shape == content.shape && out.shape == content.shape && out.device == Device::Host &&
                    generated.device == Device::Host,
                "luminance_swap: content " + content.shape.str() + ", generated " + generated.shape.str() +
                    " and output " + out.shape.str() + " must have one shape");
    const std::size_t n = content.shape.plane();
    for (std::size_t i = 0; i < n; ++i) {
        const double c[3] = {content.data[i], content.data[n + i], content.data[2 * n + i]};
        const double dy = luma(generated.data[i], generated.data[n + i], generated.data[2 * n + i]) -
                          luma(c[0], c[1], c[2]);
        for (int k = 0; k < 3; ++k) out.data[k * n + i] = float(std::clamp(c[k] + dy, 0.0, 1.0));
    }
}

}  // namespace nst::color
