// SPDX-License-Identifier: MIT
// Middlebury .flo optical-flow files (the format of DeepFlow, RAFT exports, cv::writeOpticalFlow
// and the artistic-videos scripts): float32 tag 202021.25 ("PIEH"), int32 width, int32 height,
// then width·height interleaved (u, v) float32 pairs, row-major, little-endian.
#pragma once
#include <string>

#include "core/tensor.h"

namespace nst {

// A flow field is a host Tensor<float> of shape (1, 2, H, W): channel 0 is u (displacement along
// x, to the right, in pixels), channel 1 is v (along y, downwards). flow(y, x) = (u, v) says that
// the content at pixel (x, y) of the frame the flow is defined on is found at (x + u, y + v) in
// the other frame (see video/warp.h for which frame is which).

// Throws nst::Error(Input) "cannot read flow '<path>': ..." for a missing/unreadable file, a bad
// tag, a non-positive or absurd size (more than kMaxImagePixels pixels), a truncated or overlong
// payload, or a non-finite value.
Tensor<float> load_flo(const std::string& path);

// Writes flow (1, 2, H, W) atomically (a failed write leaves an existing file untouched).
void save_flo(const std::string& path, ConstView<float> flow);

// The tag every .flo file starts with.
constexpr float kFloTag = 202021.25f;

}  // namespace nst
