// SPDX-License-Identifier: MIT
#include "loss/style_plan.h"

#include <algorithm>
#include <string>

#include "core/error.h"
#include "nn/vgg19_layers.h"

namespace nst {

namespace {

// What "empty" meant for the guide options (mask_is_empty), for the error message.
std::string mask_threshold_note(const GuideOptions& o) {
    return o.mode != GuidePropagation::Simple || o.grow != 0 ? " (no pixel >= 0.5)" : " (all zero)";
}

// rows x cols empty tensors (Tensor is move-only, so not by vector::assign).
std::vector<std::vector<Tensor<double>>> guide_grid(std::size_t rows, std::size_t cols) {
    std::vector<std::vector<Tensor<double>>> grid(rows);
    for (auto& row : grid) row.resize(cols);
    return grid;
}

}  // namespace

StyleUsePlan plan_styles(const LossSpec& spec, const std::vector<Shape>& style_shapes,
                         const std::vector<double>& blend, const std::vector<ConstView<float>>& style_masks) {
    const std::size_t n_k = style_shapes.size();
    StyleUsePlan p;
    p.blend = normalized_blend(blend, n_k);
    const std::vector<double>& b = p.blend;
    if (!spec.style_layer_sets.empty() && spec.style_layer_sets.size() != n_k)
        throw_usage("--style-layer-sets: " + std::to_string(spec.style_layer_sets.size()) + " sets given for " +
                    std::to_string(n_k) + " style images (one per image)");
    if (!style_masks.empty() && style_masks.size() != n_k)
        throw_usage("--style-masks: " + std::to_string(style_masks.size()) + " masks given for " +
                    std::to_string(n_k) + " style images (one per image; '-' for a whole image)");
    if (spec.style_layers.empty()) return p;

    const std::size_t n_style = spec.style_layers.size();
    p.uses.assign(n_k, std::vector<char>(n_style, 1));
    for (std::size_t k = 0; k < spec.style_layer_sets.size(); ++k)
        for (std::size_t j = 0; j < n_style; ++j) {
            const auto& set = spec.style_layer_sets[k];
            p.uses[k][j] = std::find(set.begin(), set.end(), spec.style_layers[j]) != set.end();
        }
    // The weights of the styles that use a layer, renormalised over them. b is already
    // normalised: without layer sets the weights (and so the targets) are exactly b.
    p.weight.assign(n_k, std::vector<double>(n_style, 0.0));
    p.layer_active.assign(n_style, 0);
    for (std::size_t j = 0; j < n_style; ++j) {
        double b_sum = 0;
        bool all_use = true;
        for (std::size_t k = 0; k < n_k; ++k) {
            if (p.uses[k][j]) b_sum += b[k];
            all_use = all_use && p.uses[k][j];
        }
        p.layer_active[j] = b_sum > 0;
        for (std::size_t k = 0; k < n_k; ++k)
            if (p.uses[k][j] && b[k] != 0) p.weight[k][j] = all_use ? b[k] : b[k] / b_sum;
    }

    // The style masks, in the order the objectives used to meet them: style by style, the
    // pixel mask, then each layer it is used at.
    p.style_guides = guide_grid(n_k, n_style);
    for (std::size_t k = 0; k < n_k; ++k) {
        const ConstView<float> mask = style_masks.empty() ? ConstView<float>{} : style_masks[k];
        const std::string mask_name = "style mask " + std::to_string(k + 1);
        const Shape& image = style_shapes[k];
        if (!mask.empty()) {
            const Shape ms{1, 1, image.h, image.w};
            NST_REQUIRE(mask.shape == ms, mask_name + " " + mask.shape.str() + " vs its image " + image.str());
            if (mask_is_empty(mask, spec.guides))
                throw_input(mask_name + " is empty" + mask_threshold_note(spec.guides) +
                            ": a style region needs at least one pixel");
        }
        if (b[k] == 0) continue;  // contributes to no target
        for (std::size_t j = 0; j < n_style; ++j) {
            if (!p.uses[k][j]) continue;
            const int l = spec.style_layers[j];
            int lh = 0, lw = 0;
            layer_output_size(l, image.h, image.w, lh, lw);
            NST_REQUIRE(lh > 0 && lw > 0, "style image too small for layer " + vgg19_layers()[l].name);
            if (mask.empty()) continue;
            Tensor<double> guide = propagate_guide(mask, l, spec.guides);
            if (!normalize_guide(guide))
                throw_input(mask_name + " is empty at " + vgg19_layers()[l].name + " after '" +
                            guide_propagation_name(spec.guides.mode) +
                            "' propagation: use a larger region, --mask-propagation simple or a smaller "
                            "--mask-grow");
            p.style_guides[k][j] = std::move(guide);
        }
    }
    return p;
}

std::vector<Tensor<float>> checked_content_masks(const std::vector<ConstView<float>>& masks,
                                                 const GuideOptions& guides) {
    std::vector<Tensor<float>> copies;
    for (std::size_t k = 0; k < masks.size(); ++k) {
        const ConstView<float> m = masks[k];
        NST_REQUIRE(m.device == Device::Host && m.shape.n == 1 && m.shape.c == 1 && m.numel() > 0,
                    "content mask " + std::to_string(k + 1) + " must be a host (1, 1, H, W) mask, got " + m.shape.str());
        if (mask_is_empty(m, guides))
            throw_input("content mask " + std::to_string(k + 1) + " is empty" + mask_threshold_note(guides) +
                        ": a content region needs at least one pixel");
        Tensor<float> c(m.shape);
        std::copy(m.begin(), m.end(), c.begin());
        copies.push_back(std::move(c));
    }
    return copies;
}

void check_region_count(std::size_t num_content_masks, std::size_t num_styles) {
    if (num_content_masks != 0 && num_content_masks != num_styles)
        throw_usage("--content-masks: " + std::to_string(num_content_masks) + " masks given for " +
                    std::to_string(num_styles) + " style images (one region per style image)");
}

std::vector<std::vector<Tensor<double>>> content_guides(const std::vector<Tensor<float>>& masks,
                                                        const std::vector<std::vector<char>>& uses,
                                                        const LossSpec& spec) {
    const std::size_t n_style = spec.style_layers.size();
    std::vector<std::vector<Tensor<double>>> guides = guide_grid(masks.size(), n_style);
    for (std::size_t k = 0; k < masks.size(); ++k)
        for (std::size_t j = 0; j < n_style; ++j) {
            if (!uses[k][j]) continue;
            Tensor<double> guide = propagate_guide(masks[k].cview(), spec.style_layers[j], spec.guides);
            if (normalize_guide(guide)) guides[k][j] = std::move(guide);
        }
    return guides;
}

Tensor<float> checked_edit_mask(ConstView<float> mask) {
    if (mask.empty()) return Tensor<float>();
    NST_REQUIRE(mask.device == Device::Host && mask.shape.n == 1 && mask.shape.c == 1,
                "edit mask must be a host (1, 1, H, W) mask, got " + mask.shape.str());
    Tensor<float> copy(mask.shape);
    std::copy(mask.begin(), mask.end(), copy.begin());
    return copy;
}

}  // namespace nst
