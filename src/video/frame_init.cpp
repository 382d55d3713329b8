// SPDX-License-Identifier: MIT
#include "video/frame_init.h"

#include <algorithm>

#include "io/image.h"
#include "video/warp.h"

namespace nst {

Tensor<float> resize_flow(ConstView<float> flow, int h, int w) {
    const Shape s = flow.shape;
    NST_REQUIRE(s.n == 1 && s.c == 2 && s.h > 0 && s.w > 0, "resize_flow needs (1, 2, H, W), got " + s.str());
    Tensor<float> out = resize_image(flow, h, w);  // any channel count, no clamping
    const float su = float(w) / float(s.w), sv = float(h) / float(s.h);
    const std::size_t plane = out.shape().plane();
    for (std::size_t i = 0; i < plane; ++i) {
        out[i] *= su;
        out[plane + i] *= sv;
    }
    return out;
}

Tensor<float> warp_previous_result(ConstView<float> x_prev, ConstView<float> flow_back) {
    Tensor<float> valid;
    Tensor<float> out = warp(x_prev, flow_back, &valid);
    const std::size_t plane = x_prev.shape.plane();
    for (int c = 0; c < x_prev.shape.c; ++c)
        for (std::size_t i = 0; i < plane; ++i)
            if (valid[i] == 0) out[c * plane + i] = 0;
    return out;
}

Tensor<float> blend_multipass_init(ConstView<float> own, const std::vector<BlendNeighbour>& neighbours) {
    const Shape s = own.shape;
    for (const BlendNeighbour& n : neighbours) {
        NST_REQUIRE(n.warped.shape == s, "blend: neighbour " + n.warped.shape.str() + " vs own " + s.str());
        NST_REQUIRE(n.weight.shape == (Shape{1, 1, s.h, s.w}), "blend: weight must be (1, 1, H, W)");
    }
    Tensor<float> out(s);
    const std::size_t plane = s.plane();
    for (int c = 0; c < s.c; ++c)
        for (std::size_t i = 0; i < plane; ++i) {
            const std::size_t k = c * plane + i;
            double num = own[k], den = 1;
            for (const BlendNeighbour& n : neighbours) {
                const double bc = n.blend * n.weight[i];
                num += bc * n.warped[k];
                den += bc;
            }
            out[k] = float(num / den);
        }
    return out;
}

}  // namespace nst
