// SPDX-License-Identifier: MIT
// The host-side half of the spatial and scale controls that cpu::Objective and cuda::Objective
// share (objective.h defines the semantics): which style image gives targets at which style
// layer and with what weight, the validated style and content masks and their guides, and the
// input errors for empty regions. One piece of code, so that both backends check, weigh and
// word their errors alike; the Grams themselves stay with each backend.
#pragma once
#include <cstddef>
#include <vector>

#include "core/tensor.h"
#include "loss/objective.h"

namespace nst {

// What set_styles() needs before it runs the network on the style images.
struct StyleUsePlan {
    std::vector<double> blend;               // b, normalised to sum 1 over all K
    std::vector<std::vector<char>> uses;     // [k][j]: style k gives targets at style layer j
                                             // (empty when the spec has no style layers)
    std::vector<std::vector<double>> weight; // [k][j]: b~_k in the blended N_j, i.e. b_k renormalised
                                             // over the styles that use j; 0 where unused or b_k = 0
    std::vector<char> layer_active;          // [j]: some style with b_k > 0 uses layer j
    std::vector<std::vector<Tensor<double>>> style_guides;  // [k][j] (1, 1, h_j, w_j): S^j_k,
                                             // normalised; empty without a mask, where unused or b_k = 0
};

// Checks the counts (layer sets and masks vs style images: usage errors), each style mask
// against its image (shape; empty region at pixel level or at a used layer: input errors) and
// plans the targets. style_shapes: (1, 3, H_k, W_k) of each style image; blend: as for
// normalized_blend; style_masks: none, or one per style image, each (1, 1, H_k, W_k) or empty
// (the whole image). spec: a checked_loss_spec. Without style layers only the counts and the
// blend are checked (nothing else is used).
StyleUsePlan plan_styles(const LossSpec& spec, const std::vector<Shape>& style_shapes,
                         const std::vector<double>& blend, const std::vector<ConstView<float>>& style_masks);

// Host copies of the content masks, each (1, 1, H, W); an empty region is an input error.
std::vector<Tensor<float>> checked_content_masks(const std::vector<ConstView<float>>& masks,
                                                 const GuideOptions& guides);

// Usage error unless there are no content masks or one per style image.
void check_region_count(std::size_t num_content_masks, std::size_t num_styles);

// The normalised content guides C^j_k (1, 1, h_j, w_j) of masks (1, 1, H, W) for an H x W
// image: [k][j], empty where style k does not use layer j or the region vanished there (such
// a region takes no part at that layer, as NIS skips zero-sum guides).
std::vector<std::vector<Tensor<double>>> content_guides(const std::vector<Tensor<float>>& masks,
                                                        const std::vector<std::vector<char>>& uses,
                                                        const LossSpec& spec);

// A host copy of the edit mask (1, 1, H, W); empty for none.
Tensor<float> checked_edit_mask(ConstView<float> mask);

}  // namespace nst
