// SPDX-License-Identifier: MIT
// `nst match-color`: colour histogram matching as a stand-alone step (color/match_color.h).
// The target image is recoloured to the source's colour mean and covariance and written at the
// target's size; researchers use it to prepare a style image before a run, as the authors'
// notebooks do. Usage errors (mode, eps, output kind) come before any file is read; the output
// is written atomically, so a failure leaves an existing file untouched.
#include <cmath>
#include <cstdio>

#include "cli/commands.h"
#include "cli/output_path.h"
#include "color/match_color.h"
#include "core/error.h"
#include "io/atomic_file.h"
#include "io/image.h"
#include "io/path.h"

namespace nst::cli {

namespace {

struct MatchColorOptions {
    std::string mode;
    std::string source, target, output;
    double eps = color::kDefaultMatchEps;
    int output_depth = 8;
};

Tensor<float> load_rgb(const std::string& path, const std::string& option) {
    if (lower_extension(path) == ".npy")
        throw_input(option + " '" + path + "': a .npy holds a network-space tensor; give an image file");
    return load_image(path);
}

void match_color_command(const MatchColorOptions& o) {
    const color::MatchMode mode = color::parse_match_mode(o.mode, "--mode");
    if (!std::isfinite(o.eps) || o.eps < 0) throw_usage("--eps: must be a finite number >= 0");
    validate_output_path(o.output, o.output_depth);
    if (output_kind(o.output) == OutputKind::Npy)
        throw_usage("--output '" + o.output + "': match-color writes an image (.png or .jpg)");
    check_writable(o.output);

    const Tensor<float> source = load_rgb(o.source, "--source");
    const Tensor<float> target = load_rgb(o.target, "--target");
    color::require_color_variation(source.cview(), "--source '" + o.source + "'");
    color::require_color_variation(target.cview(), "--target '" + o.target + "'");
    const Tensor<float> out = color::match_color(target.cview(), source.cview(), mode, o.eps);
    save_image(o.output, out.cview(), o.output_depth);
}

}  // namespace

Command add_match_color_command(CLI::App& app) {
    auto o = std::make_shared<MatchColorOptions>();
    CLI::App* sub = app.add_subcommand(
        "match-color", "recolour an image to another's colour mean and covariance (e.g. a style image to the content)");
    sub->add_option("--mode", o->mode, "chol, pca or sym: the linear map (Cholesky, eigen, symmetric)")->required();
    sub->add_option("--source", o->source, "image that supplies the colours (e.g. the content image)")->required();
    sub->add_option("--target", o->target, "image that is recoloured (e.g. a style image)")->required();
    sub->add_option("--output", o->output, "the recoloured target, .png or .jpg, at the target's size")->required();
    sub->add_option("--eps", o->eps, "added to the diagonal of both colour covariances (images in [0, 1])")
        ->capture_default_str();
    sub->add_option("--output-depth", o->output_depth, "bits per PNG sample: 8 or 16")->capture_default_str();
    return [o] { match_color_command(*o); };
}

}  // namespace nst::cli
