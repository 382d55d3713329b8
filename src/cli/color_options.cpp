// SPDX-License-Identifier: MIT
#include "cli/color_options.h"

#include "color/luma.h"
#include "core/error.h"

namespace nst::cli {

namespace {

Tensor<float> network_to_rgb(const Tensor<float>& x, const Preprocessor& pre) {
    Tensor<float> rgb(x.shape());
    pre.to_image(rgb.view(), x.cview());
    return rgb;
}

}  // namespace

void ColorOptions::add_to(CLI::App& app) {
    app.add_option("--match-color", match_color,
                   "recolour each style image to the content's colour mean and covariance: none, chol, pca or sym")
        ->capture_default_str();
    app.add_option("--color-control", color_control,
                   "none, or luminance: transfer on grey images, then take the content's colours")
        ->capture_default_str();
    o_luminance_match = app.add_option("--luminance-match", luminance_match,
                                       "with --color-control luminance: style luminance matched to the content's "
                                       "by meanstd (paper), mean (authors' code) or none")
                            ->capture_default_str();
}

void ColorOptions::add_run_options(CLI::App& app) {
    app.add_flag("--original-colors", original_colors,
                 "keep the content's colours: output luminance with the content's chroma (also for --save-iter "
                 "images; not for .npy output)");
}

ColorPlan parse_color_options(const ColorOptions& o) {
    ColorPlan plan;
    if (o.match_color != "none") plan.match = color::parse_match_mode(o.match_color, "--match-color");
    if (o.color_control == "luminance")
        plan.luminance = true;
    else if (o.color_control != "none")
        throw_usage("--color-control: unknown mode '" + o.color_control + "' (choose none or luminance)");
    plan.luminance_match = color::parse_luminance_match(o.luminance_match, "--luminance-match");
    if (o.o_luminance_match && o.o_luminance_match->count() && !plan.luminance)
        throw_usage("--luminance-match: applies only with --color-control luminance");
    plan.original_colors = o.original_colors;
    return plan;
}

void apply_color_controls(ColorPlan& plan, ProblemSpec& spec, const Preprocessor& pre, const std::string& content_path,
                          const std::vector<std::string>& style_paths) {
    if (!plan.match && !plan.luminance && !plan.original_colors) return;
    Tensor<float> content = network_to_rgb(spec.content, pre);
    if (plan.match) color::require_color_variation(content.cview(), "--match-color: --content '" + content_path + "'");
    for (std::size_t k = 0; k < spec.styles.size(); ++k) {
        if (!plan.match && !plan.luminance) break;
        Tensor<float> style = network_to_rgb(spec.styles[k], pre);
        if (plan.match) {
            color::require_color_variation(style.cview(), "--match-color: --style '" + style_paths[k] + "'");
            style = color::match_color(style.cview(), content.cview(), *plan.match);
        }
        if (plan.luminance) color::match_luminance(style.view(), content.cview(), plan.luminance_match);
        pre.to_network(spec.styles[k].view(), style.cview());
    }
    if (plan.luminance) {
        Tensor<float> grey = color::grey_image(content.cview());
        pre.to_network(spec.content.view(), grey.cview());
    }
    if (plan.recombines()) plan.content_rgb = std::move(content);
}

void color_init_image(const ColorPlan& plan, const Preprocessor& pre, Tensor<float>& x) {
    if (!plan.luminance) return;
    Tensor<float> rgb = network_to_rgb(x, pre);
    color::to_grey(rgb.view(), rgb.cview());
    pre.to_network(x.view(), rgb.cview());
}

void color_output_image(const ColorPlan& plan, TensorView<float> rgb) {
    if (!plan.recombines()) return;
    color::luminance_swap(rgb, plan.content_rgb.cview(), rgb);
}

}  // namespace nst::cli
