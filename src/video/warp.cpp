// SPDX-License-Identifier: MIT
// warp_bilinear: out(x) = img(x + flow(x)); one sample point per pixel shared by all channels.
#include "video/warp.h"

#include <algorithm>
#include <cmath>

namespace nst {

float sample_bilinear(const float* p, int h, int w, float sx, float sy) {
    // Written so that a NaN coordinate becomes 0 rather than reaching the int conversion (UB).
    sx = sx > 0 ? std::min(sx, float(w - 1)) : 0.0f;
    sy = sy > 0 ? std::min(sy, float(h - 1)) : 0.0f;
    const int x0 = std::min(int(sx), w - 1), y0 = std::min(int(sy), h - 1);  // floor: sx, sy >= 0
    const int x1 = std::min(x0 + 1, w - 1), y1 = std::min(y0 + 1, h - 1);
    const float ax = sx - float(x0), ay = sy - float(y0);
    const float top = p[std::size_t(y0) * w + x0] * (1 - ax) + p[std::size_t(y0) * w + x1] * ax;
    const float bottom = p[std::size_t(y1) * w + x0] * (1 - ax) + p[std::size_t(y1) * w + x1] * ax;
    return top * (1 - ay) + bottom * ay;
}

void warp_bilinear(ConstView<float> img, ConstView<float> flow, TensorView<float> out, TensorView<float> valid) {
    const Shape s = img.shape;
    NST_REQUIRE(img.device == Device::Host && flow.device == Device::Host && out.device == Device::Host,
                "warp_bilinear runs on the host");
    NST_REQUIRE(s.n == 1 && s.h > 0 && s.w > 0, "warp_bilinear needs one image, got " + s.str());
    NST_REQUIRE(flow.shape == (Shape{1, 2, s.h, s.w}), "flow " + flow.shape.str() + " does not match image " + s.str());
    NST_REQUIRE(out.shape == s, "warp output must match the image");
    NST_REQUIRE(valid.data == nullptr || valid.shape == (Shape{1, 1, s.h, s.w}), "valid mask must be (1, 1, H, W)");
    const std::size_t plane = s.plane();
    const float* u = flow.data;
    const float* v = flow.data + plane;
#pragma omp parallel for schedule(static)
    for (int y = 0; y < s.h; ++y) {
        for (int x = 0; x < s.w; ++x) {
            const std::size_t i = std::size_t(y) * s.w + x;
            const float sx = float(x) + u[i], sy = float(y) + v[i];
            for (int c = 0; c < s.c; ++c)
                out.data[c * plane + i] = sample_bilinear(img.data + c * plane, s.h, s.w, sx, sy);
            if (valid.data)
                valid.data[i] = (sx >= 0 && sx <= float(s.w - 1) && sy >= 0 && sy <= float(s.h - 1)) ? 1.0f : 0.0f;
        }
    }
}

Tensor<float> warp(ConstView<float> img, ConstView<float> flow, Tensor<float>* valid) {
    Tensor<float> out(img.shape);
    if (valid) {
        *valid = Tensor<float>(Shape{1, 1, img.shape.h, img.shape.w});
        warp_bilinear(img, flow, out.view(), valid->view());
    } else {
        warp_bilinear(img, flow, out.view());
    }
    return out;
}

}  // namespace nst
