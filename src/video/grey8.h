// SPDX-License-Identifier: MIT
// The 8-bit grey image that DIS optical flow runs on (OpenCV's DIS takes CV_8UC1 only).
#pragma once
#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace nst {

// BT.601 luma of an RGB frame (1, 3, H, W) in [0, 1], the weights of OpenCV's RGB2GRAY:
//     g = (299 R + 587 G + 114 B) / 1000, clamped to [0, 1], then q = floor(255 g + 0.5)
// (round half up), computed in double (so grey input gives exactly its own level). Returns H·W bytes, row-major.
std::vector<std::uint8_t> grey8(ConstView<float> rgb);

}  // namespace nst
