// SPDX-License-Identifier: MIT
// Backward warping of an image by an optical-flow field, bilinear.
//
// Convention: warp(img_b, flow_ab) brings frame b onto frame a's grid, where flow_ab is the flow
// from a to b *defined on a's grid* (flow_ab(x) = where a's pixel x went in b, minus x):
//     out(c, y, x) = img_b(c, y + v_ab(y, x), x + u_ab(y, x)).
// So the previous frame warped onto the current one, ω_{i-1}^{i}(x_{i-1}) of Ruder et al., is
// warp(x_{i-1}, backward flow i→i-1); Lai et al.'s ω(V_{t+1}) on frame t is warp(V_{t+1}, forward
// flow t→t+1). Pixel centres are at integer coordinates (x = 0..W-1), as in the .flo files.
#pragma once
#include "core/tensor.h"

namespace nst {

// Bilinear sample of plane p (h rows of w) at (sx, sy), coordinates clamped to the image first
// (border replication, like OpenCV's BORDER_REPLICATE and grid_sample's padding_mode='border').
float sample_bilinear(const float* p, int h, int w, float sx, float sy);

// img (1, C, H, W), flow (1, 2, H, W) -> out (1, C, H, W); valid (1, 1, H, W) when not null:
// 1 where the sample point lies inside the image, 0 <= x + u <= W-1 and 0 <= y + v <= H-1, so
// that every bilinear tap with non-zero weight is a real pixel; 0 where it falls outside and the
// value is the border-clamped one (defined, but not a prediction of anything).
void warp_bilinear(ConstView<float> img, ConstView<float> flow, TensorView<float> out,
                   TensorView<float> valid = {});

// Convenience: allocates and returns out (and fills *valid when given).
Tensor<float> warp(ConstView<float> img, ConstView<float> flow, Tensor<float>* valid = nullptr);

}  // namespace nst
