// SPDX-License-Identifier: MIT
// The spatial and scale control options of `nst run` and `nst eval` (Gatys et al., CVPR 2017,
// §4-5; docs/perceptual_controls_spatial.md): region masks, their propagation to the layers, the
// frozen-pixel mask and per-style layer sets. Registered and resolved by ProblemOptions.
#pragma once
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "engine/engine.h"

namespace nst::cli {

struct ControlOptions {
    std::string content_masks;     // comma list, one grey mask per style image
    std::string style_masks;       // comma list, one per style image; '-' = the whole image
    std::string mask_propagation = "simple";
    int mask_grow = 0;             // pixels: > 0 dilates, < 0 erodes
    std::string edit_mask;         // grey mask: the gradient is multiplied by it (0 = frozen)
    std::string style_layer_sets;  // ';'-separated sets, one per style image; '*' = all style layers

    void add_to(CLI::App& app);
};

// Option values (usage errors, exit 2), before any file is read: the guide options and the
// layer sets into `loss` (whose style layers are already resolved), the mask counts against
// the number of style images.
void resolve_control_values(const ControlOptions& o, std::size_t num_styles, LossSpec& loss);

// Mask files (input errors, exit 3), after the images: each mask must be grey and have the pixel
// size of its image file (the content image for --content-masks and --edit-mask, its style image
// for --style-masks); it is resized with the image to that image's working size (spec.content's
// or spec.styles[k]'s) and stored in spec as (1, 1, h, w) values in [0, 1]. Reads spec.loss (the
// guide options and layer sets of resolve_control_values).
void load_control_masks(const ControlOptions& o, const std::string& content_path,
                        const std::vector<std::string>& style_paths, ProblemSpec& spec);

}  // namespace nst::cli
