// SPDX-License-Identifier: MIT
// Luma (Rec. 601: Y = .299 R + .587 G + .114 B) and the luminance swap that every colour
// preserving method of nst ends with (--original-colors, --color-control luminance).
//
// The swap. jcjohnson/neural-style converts to YUV, replaces Y by the generated image's and
// converts back; neural-style-pt does the same in PIL's YCbCr, neural-style-tf in OpenCV's YUV
// or YCrCb, and the paper names YIQ. Every one of those spaces is linear, with the luma row
// (.299, .587, .114) and chroma rows that sum to zero (a grey pixel has no chroma). Write the
// transform as T = [y; C] (C the two chroma rows, C·(1,1,1) = 0). Then
//
//   rgb_out = rgb_c + (Y_g − Y_c)·(1,1,1)
//
// has luma y·rgb_out = Y_c + (Y_g − Y_c)·(.299+.587+.114) = Y_g and chroma C·rgb_out = C·rgb_c +
// (Y_g − Y_c)·C·(1,1,1) = C·rgb_c: it is exactly "generated luma, content chroma" in all of
// those spaces at once, with no matrix inverse. The peers' results differ from it only by their
// rounding (jcjohnson's inverse matrix is rounded to 5 digits, PIL and OpenCV quantise to uint8).
// The result is clipped to [0, 1], as the peers' conversions back to RGB are; a clipped pixel
// keeps neither property exactly (it cannot: the colour is outside the RGB cube).
#pragma once
#include "core/tensor.h"

namespace nst::color {

constexpr double kLumaR = 0.299, kLumaG = 0.587, kLumaB = 0.114;

inline double luma(double r, double g, double b) { return kLumaR * r + kLumaG * g + kLumaB * b; }

// out = Y in each of the three channels (a grey RGB image); out may alias rgb. (1, 3, H, W).
void to_grey(TensorView<float> out, ConstView<float> rgb);
Tensor<float> grey_image(ConstView<float> rgb);  // (1, 3, H, W)

// out = clip(content + (Y(generated) − Y(content))·(1,1,1), 0, 1): the generated image's luma
// with the content's chroma (see above). All (1, 3, H, W) of one size; out may alias either.
void luminance_swap(TensorView<float> out, ConstView<float> content, ConstView<float> generated);

}  // namespace nst::color
