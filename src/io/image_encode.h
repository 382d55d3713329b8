// SPDX-License-Identifier: MIT
// In-memory encoders behind save_image, so that the file is written in one atomic step and so
// that tests can inspect the bytes. Input: RGB float (1, 3, H, W); values are clamped to [0, 1]
// (NaN as 0) and quantised by rounding to nearest: floor(x * max + 0.5).
#pragma once
#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace nst {

std::vector<unsigned char> encode_png8(ConstView<float> rgb);              // rgb: (1, 3, H, W)
std::vector<unsigned char> encode_png16(ConstView<float> rgb);             // rgb: (1, 3, H, W)
std::vector<unsigned char> encode_jpeg(ConstView<float> rgb, int quality);  // rgb: (1, 3, H, W)

// Interleaved, quantised samples (H*W*3), row-major, in the range [0, max_value].
std::vector<std::uint8_t> quantize_rgb8(ConstView<float> rgb);    // rgb: (1, 3, H, W)
std::vector<std::uint16_t> quantize_rgb16(ConstView<float> rgb);  // rgb: (1, 3, H, W)

}  // namespace nst
