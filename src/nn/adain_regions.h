// SPDX-License-Identifier: MIT
// AdaIN with spatial control (Huang & Belongie 2017 §7.3; the official test.lua `-mask`,
// research/feedforward.md §5.2): the content feature map is split into regions by a label per
// pixel, and the pixels of region k are AdaIN-normalised with *that region's own* content
// statistics and style k's target statistics, exactly as test.lua gathers the masked columns,
// runs AdaIN on the C x n_k x 1 gather and scatters the result back. Then the content-style
// trade-off: y = (1 - alpha) x + alpha t. The statistics conventions are nn/adain.h's (Port:
// unbiased + eps; Official: content biased + eps), over the region's pixels.
// An empty region is allowed (its style appears nowhere); under Port a region of one pixel has
// no unbiased variance and is an input error, as is a label outside [0, K).
#pragma once
#include <cstdint>
#include <vector>

#include "core/tensor.h"
#include "nn/adain.h"

namespace nst::cpu {

// Pixels per region: counts[k] = #{i : labels[i] == k}, k < regions; throws an input error for a
// label outside [0, regions).
std::vector<std::size_t> region_pixel_counts(const std::vector<std::int32_t>& labels, int regions);

// Throws an input error naming the mask (1-based) when its region cannot be normalised under
// `stats` (Port: exactly one pixel).
void check_region_counts(const std::vector<std::size_t>& counts, AdainStats stats);

// y = (1 - alpha) x + alpha ((x - mu_r,c) / sigma_r,c * style_std[r]_c + style_mean[r]_c) with r
// the pixel's label. y may alias content. alpha in [0, 1] (usage error otherwise).
void adain_regions(TensorView<float> y,                           // (1, C, H, W)
                   ConstView<float> content,                      // (1, C, H, W)
                   const std::vector<std::int32_t>& labels,       // H W, row-major
                   const std::vector<AdainStyleStats>& styles,    // one per region: (1, C, 1, 1)
                   double alpha, AdainStats stats);

}  // namespace nst::cpu
