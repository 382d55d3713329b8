// SPDX-License-Identifier: MIT
// Adaptive instance normalisation (Huang & Belongie 2017; research/feedforward.md §5.1):
// AdaIN(x, s) = sigma_s (x - mu_x) / sigma_x + mu_s per sample and channel, mu and sigma over
// H x W, no learnable parameters. Two conventions for sigma, which differ only there:
//  - Port (naoto0804/pytorch-AdaIN, §5.3; the default): sigma = sqrt(var_unbiased + 1e-5), the
//    unbiased variance dividing by HW - 1, for content and style alike.
//  - Official (xunhuang1995/AdaIN-style, §5.2): the content is normalised by
//    sqrt(var_biased + 1e-5) (SpatialBatchNormalization in training mode), the target sigma is
//    the style's biased std with no eps.
// Constant planes: every sigma of the content has its eps, so the output is always finite; a
// constant style channel under Official gives sigma_s = 0 and so the output channel mu_s. Port
// needs HW >= 2 (the unbiased variance of one value is undefined). has_constant_channel() lets
// the CLI reject constant images with a clear message before it gets there.
// Statistics are accumulated in double (two passes: mean, then centred squares).
#pragma once
#include <vector>

#include "core/tensor.h"

namespace nst::cpu {

enum class AdainStats { Port, Official };
enum class AdainRole { Content, Style };

inline constexpr double kAdainEps = 1e-5;

// Assigns mean and std (sigma as above for `stats` and `role`) per (n, c) plane.
void adain_channel_stats(TensorView<float> mean,  // (N, C, 1, 1)
                         TensorView<float> std,   // (N, C, 1, 1)
                         ConstView<float> x,      // (N, C, H, W)
                         AdainStats stats, AdainRole role);

// y = (x - mu_x) / sigma_x * style_std + style_mean per plane, content statistics taken here
// (role Content). The style statistics have batch N or 1 (one style for every sample). y may
// alias content.
void adain_forward(TensorView<float> y,             // (N, C, H, W)
                   ConstView<float> content,        // (N, C, H, W)
                   ConstView<float> style_mean,     // (N or 1, C, 1, 1)
                   ConstView<float> style_std,      // (N or 1, C, 1, 1)
                   AdainStats stats);

// One style's statistics, as adain_channel_stats gives them with role Style.
struct AdainStyleStats {
    ConstView<float> mean;  // (N or 1, C, 1, 1)
    ConstView<float> std;   // (N or 1, C, 1, 1)
};

// The interpolation weights w_k / sum(w): throws a usage error on an empty list, a negative or
// non-finite weight, or weights that are all zero.
std::vector<double> adain_normalised_weights(const std::vector<double>& weights);

// y = (1 - alpha) content + alpha sum_k w_k AdaIN(content, style_k), w normalised as above
// (§5.1's interpolation and content-style trade-off). alpha in [0, 1] (usage error otherwise);
// alpha 0 returns the content exactly. y may alias content.
void adain_blend(TensorView<float> y,                          // (N, C, H, W)
                 ConstView<float> content,                     // (N, C, H, W)
                 const std::vector<AdainStyleStats>& styles,  // K entries
                 const std::vector<double>& weights,          // K entries
                 double alpha, AdainStats stats);

// Whether some (n, c) plane of x has all its values equal (zero variance).
bool has_constant_channel(ConstView<float> x);  // (N, C, H, W)

}  // namespace nst::cpu
