// SPDX-License-Identifier: MIT
// warping_error: sums in double in a fixed order, so the metric does not depend on threads.
#include "video/warp_error.h"

#include "video/consistency.h"
#include "video/warp.h"

namespace nst {

WarpError warping_error_masked(ConstView<float> frame_t, ConstView<float> frame_t1, ConstView<float> flow_fwd,
                               ConstView<float> mask) {
    const Shape s = frame_t.shape;
    NST_REQUIRE(frame_t1.shape == s, "frames differ in shape: " + s.str() + " vs " + frame_t1.shape.str());
    NST_REQUIRE(mask.shape == (Shape{1, 1, s.h, s.w}) && mask.device == Device::Host, "mask must be (1, 1, H, W) on the host");
    const Tensor<float> warped = warp(frame_t1, flow_fwd);
    const std::size_t plane = s.plane();
    double sum = 0, msum = 0;
    for (std::size_t i = 0; i < plane; ++i) msum += mask.data[i];
    for (int c = 0; c < s.c; ++c)
        for (std::size_t i = 0; i < plane; ++i) {
            const double d = double(frame_t.data[c * plane + i]) - double(warped[c * plane + i]);
            sum += double(mask.data[i]) * d * d;
        }
    WarpError e;
    e.unmasked_pixels = std::size_t(msum + 0.5);
    e.lai = msum > 0 ? sum / (double(s.c) * msum) : 0.0;
    e.ruder = sum / double(s.numel());
    return e;
}

WarpError warping_error(ConstView<float> frame_t, ConstView<float> frame_t1, ConstView<float> flow_fwd,
                        ConstView<float> flow_bwd) {
    Tensor<float> mask = flow_occlusion(flow_fwd, flow_bwd);
    for (auto& m : mask) m = 1.0f - m;
    return warping_error_masked(frame_t, frame_t1, flow_fwd, mask.view());
}

}  // namespace nst
