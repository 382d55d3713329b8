// SPDX-License-Identifier: MIT
// Luminance-only transfer (Gatys et al. 2016, arXiv 1606.05897 §5.1): the network sees grey
// 3-channel images (Y in every channel, luma.h), the style's luminance first matched to the
// content's, and the result is recombined with the content's chroma (luminance_swap).
//
// The match of the style luminance L_S to the content's L_C:
//   meanstd: L_S' = (σ_C / σ_S)(L_S − μ_S) + μ_C   the paper's formula (mean and std)
//   mean:    L_S' = L_S − μ_S + μ_C                 the authors' code (NIS cp_mode='lum')
//   none:    L_S' = L_S
// μ and σ are the mean and population standard deviation (÷N, like the colour covariance of
// match_color.h) over all pixels. A style with σ_S = 0 (constant luminance; in practice σ_S below
// kConstantStd, since the mean of equal values carries rounding) has no spread to
// rescale: meanstd then falls back to the mean shift, which is its limit in the sense that
// matters (the result is the constant μ_C, the only constant image with the content's mean).
// The result is clipped to [0, 1], as NIS clips; the clip may move μ and σ slightly when the
// rescaled luminance leaves the range.
#pragma once
#include <string>

#include "core/tensor.h"

namespace nst::color {

enum class LuminanceMatch { MeanStd, Mean, None };
constexpr double kConstantStd = 1e-12;

LuminanceMatch parse_luminance_match(const std::string& name, const std::string& option);  // usage error
const char* luminance_match_name(LuminanceMatch mode);

struct LuminanceStats {
    double mean = 0, std = 0;  // population std (÷N)
};

LuminanceStats luminance_stats(ConstView<float> rgb);  // of Y(rgb); rgb: (1, 3, H, W)

// style := grey image of the matched luminance L_S' (Y of `style` matched to Y of `content`),
// clipped to [0, 1]. style (1, 3, h, w), content (1, 3, H, W); either may be colour or grey.
void match_luminance(TensorView<float> style, ConstView<float> content, LuminanceMatch mode);

}  // namespace nst::color
