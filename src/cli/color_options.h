// SPDX-License-Identifier: MIT
// The colour options of `nst run` and `nst eval` (issue #10; docs/perceptual_controls_color.md)
// and their application. All of it is host-side pre- and post-processing that runs once per
// run, on RGB images in [0, 1], so both backends receive the transformed images and no kernel
// is involved:
//   --match-color none|chol|pca|sym      each style image recoloured to the content's colour
//                                        statistics (at the working sizes), before preprocessing
//   --color-control none|luminance       the network sees grey content, styles and --init image;
//                                        the result takes the content's chroma (luminance swap)
//   --luminance-match meanstd|mean|none  how a style's luminance is matched to the content's
//   --original-colors (run only)         jcjohnson's post-hoc swap: output luma, content chroma
// Order: match-color (RGB) → grey → luminance match; at the end the luminance swap, applied to
// the final image and every --save-iter image, never to .npy outputs (the raw tensor x).
#pragma once
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "color/luminance_transfer.h"
#include "color/match_color.h"
#include "engine/engine.h"
#include "io/preprocess.h"

namespace nst::cli {

struct ColorOptions {
    std::string match_color = "none";
    std::string color_control = "none";
    std::string luminance_match = "meanstd";
    bool original_colors = false;
    CLI::Option* o_luminance_match = nullptr;

    void add_to(CLI::App& app);             // the problem options (run and eval)
    void add_run_options(CLI::App& app);    // --original-colors
};

// The options resolved, plus what the output needs from the content.
struct ColorPlan {
    std::optional<color::MatchMode> match;  // empty: --match-color none
    bool luminance = false;                 // --color-control luminance
    color::LuminanceMatch luminance_match = color::LuminanceMatch::MeanStd;
    bool original_colors = false;
    // The content as RGB at the working size, before any colour transform: the chroma that the
    // output is recombined with. Empty unless recombines().
    Tensor<float> content_rgb;  // (1, 3, H, W)

    bool recombines() const { return luminance || original_colors; }
};

// Option values only (usage errors, exit 2); touches no file.
ColorPlan parse_color_options(const ColorOptions& o);

// Transforms the loaded, preprocessed content and styles of `spec` in place (network space in,
// network space out; a .npy input is taken back to RGB with pre.to_image) and keeps the content
// RGB in the plan when the output needs it. Input errors (exit 3) name the file: a constant
// image with --match-color.
void apply_color_controls(ColorPlan& plan, ProblemSpec& spec, const Preprocessor& pre, const std::string& content_path,
                          const std::vector<std::string>& style_paths);

// An --init image (network space, (1, 3, H, W)) made grey under --color-control luminance.
void color_init_image(const ColorPlan& plan, const Preprocessor& pre, Tensor<float>& x);

// The output image (RGB, (1, 3, H, W)) recombined with the content's chroma when the plan says
// so; unchanged otherwise.
void color_output_image(const ColorPlan& plan, TensorView<float> rgb);

}  // namespace nst::cli
