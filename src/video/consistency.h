// SPDX-License-Identifier: MIT
// Reliability of optical flow from the forward–backward check and motion boundaries (Ruder,
// Dosovitskiy & Brox 2016, §1.2 of docs/research/video.md), in two flavours:
//  * consistency_weights: the artistic-videos checker's map in [0, 1] (the c of the temporal loss);
//  * flow_occlusion: Lai et al. 2018's binary occlusion map (the M of the warping error).
//
// Both take flow_ab, the flow from frame a to frame b on a's grid (whose reliability is wanted),
// and flow_ba, the opposite flow on b's grid; both return (1, 1, H, W) on a's grid. For the
// temporal loss of frame i against the warped frame i-1, a = i, b = i-1: flow_ab is the backward
// flow i→i-1 (the one video/warp.h warps with) and flow_ba the forward flow i-1→i.
#pragma once
#include "core/tensor.h"

namespace nst {

// The checker's constants (Ruder et al. 2016; artistic-videos consistencyChecker).
constexpr float kDisoccRelative = 0.01f;  // |w̃ + ŵ|² vs 0.01·(|w̃|² + |ŵ|²) ...
constexpr float kDisoccAbsolute = 0.5f;   // ... + 0.5 px²
constexpr float kBoundaryRelative = 0.01f;  // |∇u|² + |∇v|² vs 0.01·|ŵ|² ...
constexpr float kBoundaryAbsolute = 0.002f; // ... + 0.002
constexpr float kConsistencyBlurSigma = 0.8f;  // Gaussian σ of the post-blur, radius ⌈2σ⌉ = 2

// The checker's map before its blur, per pixel of a (in the checker's 0..255 scale divided by 255):
//   0  when the 2×2 bilinear footprint of x + flow_ab(x) is not wholly inside the image
//      (floor(x + u) < 0 or floor(x + u) + 1 > W - 1, same for y — so a sample point exactly on
//      the last column or row counts as outside, as in the reference checker);
//  -1  when the round trip fails: |flow_ab + s|² >= 0.01·(|flow_ab|² + |s|²) + 0.5, with
//      s = flow_ba sampled bilinearly at x + flow_ab(x) (negative so that the blur widens holes);
//   0  else when at a motion boundary: Σ of the squared central differences (kernel
//      [-0.5, 0, 0.5], border pixels replicated) of u_ab and v_ab along x and y
//      > 0.01·|flow_ab|² + 0.002;
//   1  otherwise.
Tensor<float> consistency_raw(ConstView<float> flow_ab, ConstView<float> flow_ba);

// consistency_raw, then a separable Gaussian blur (σ 0.8, 5 taps normalised to sum 1, border
// pixels replicated), then clipped to [0, 1]. The reference writes this as an 8-bit PGM and
// reads it back /255; we keep the float (the quantisation step, at most 1/255, is not applied).
Tensor<float> consistency_weights(ConstView<float> flow_ab, ConstView<float> flow_ba);

// Lai et al.'s occlusion map: 1 (occluded) when
//   |flow_ab + s|² > 0.01·(|flow_ab|² + |s|²) + 0.5, s = flow_ba sampled at x + flow_ab(x)
//   (bilinear, border-clamped: no footprint rule), or
//   Σ of the squared forward differences (u(x+1) - u(x), zero on the last column/row) of u_ab
//   and v_ab along x and y > 0.01·|flow_ab|² + 0.002;
// 0 otherwise. Binary, no blur.
Tensor<float> flow_occlusion(ConstView<float> flow_ab, ConstView<float> flow_ba);

}  // namespace nst
