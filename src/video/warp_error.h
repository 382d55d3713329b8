// SPDX-License-Identifier: MIT
// Temporal-consistency metric: the warping error of Lai et al. 2018 ("Learning Blind Video
// Temporal Consistency", their evaluate_WarpError.py; docs/research/video.md §5.1).
//
// For consecutive frames V_t, V_{t+1} (values in [0, 1]), forward flow f = t→t+1 on t's grid and
// backward flow b = t+1→t on t+1's grid:
//     W = warp(V_{t+1}, f)                (video/warp.h: V_{t+1} brought onto t's grid)
//     M = 1 - flow_occlusion(f, b)        (video/consistency.h: Lai's binary test)
//     E = Σ_{c,x} M(x)·(V_t(c,x) - W(c,x))² / (C·Σ_x M(x))
// i.e. M repeated over the channels and the mean taken over the unmasked elements. Lai et al.
// compute the flow (FlowNet2) on the *input* video and apply the same M and flow to the output
// frames; a video's error is the mean over its pairs. The flow's origin (ground truth, DIS, a
// supplied .flo) must be stated with the number.
#pragma once
#include <cstddef>

#include "core/tensor.h"

namespace nst {

struct WarpError {
    double lai = 0;    // E above (0 when no element is unmasked)
    double ruder = 0;  // same sum divided by all C·H·W elements (Ruder et al.'s 1/D normalisation)
    std::size_t unmasked_pixels = 0;  // Σ_x M(x)
};

// frame_t, frame_t1 (1, C, H, W); flow_fwd, flow_bwd (1, 2, H, W).
WarpError warping_error(ConstView<float> frame_t, ConstView<float> frame_t1, ConstView<float> flow_fwd,
                        ConstView<float> flow_bwd);

// The same with a given mask M (1, 1, H, W) in [0, 1] instead of Lai's occlusion test (e.g.
// ground-truth occlusions, or consistency_weights).
WarpError warping_error_masked(ConstView<float> frame_t, ConstView<float> frame_t1, ConstView<float> flow_fwd,
                               ConstView<float> mask);

}  // namespace nst
