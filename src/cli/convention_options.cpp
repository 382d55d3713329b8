// SPDX-License-Identifier: MIT
#include "cli/convention_options.h"

#include <cmath>

#include "core/error.h"

namespace nst::cli {

void ConventionOptions::add_to(CLI::App& app) {
    o_caffe_scale = app.add_option("--caffe-scale", caffe_scale,
                                   "caffe preprocessing scale S on input and output: 255 or 256 (preset default)");
    app.add_option("--resize", resize,
                   "image resizing: stb (float, sides rounded) or pil-bilinear (PIL's 8-bit bilinear, sides truncated; "
                   "preset default)");
    app.add_option("--jpeg-decoder", jpeg_decoder,
                   "JPEG decoding: stb or libjpeg (as PIL decodes; preset default)");
    app.add_option("--tv-form", tv_form, "total variation: squared-l2 (jcjohnson) or l1 (neural-style-pt, TensorFlow)");
    app.add_option("--normalize-gradients", normalize_gradients,
                   "per-term gradient normalisation: none, jcjohnson (L1 per layer) or neural-style-pt");
    o_normalize_weights = app.add_flag("--normalize-weights", normalize_weights,
                                       "neural-style-pt's -normalize_weights: each content weight / max(C, H, W) of its "
                                       "layer, each style weight / C");
    app.add_option("--iterate-space", iterate_space,
                   "what L-BFGS/Adam optimise: network (the preprocessed image) or image (RGB in [0, 1], the "
                   "preprocessing applied inside the objective, as the PyTorch tutorial; preset default)");
}

void ConventionOptions::add_run_options(CLI::App& app) {
    app.add_option("--output-iterate", output_iterate,
                   "image written after N iterations: last (x_N) or previous (x_{N-1}, neural-style-pt)");
    app.add_option("--output-rounding", output_rounding, "8-bit output: round or truncate (ToPILImage)");
    o_tol_grad = app.add_option("--tol-grad", tol_grad,
                                "L-BFGS: stop when max|g| <= X (torch's tolerance_grad; -1 = never; preset default)");
    o_tol_change = app.add_option("--tol-change", tol_change,
                                  "L-BFGS: stop when a step or the loss change is <= X (torch's tolerance_change; "
                                  "-1 = never; preset default)");
    app.add_option("--clamp-iterate", clamp_iterate,
                   "on: clamp x to the image range [0, 1] in place before every evaluation (the PyTorch tutorial); "
                   "off (preset default)");
}

PresetDefaults resolve_conventions(const ConventionOptions& o, PresetDefaults p) {
    if (o.o_caffe_scale && o.o_caffe_scale->count()) {
        if (o.caffe_scale != 255 && o.caffe_scale != 256)
            throw_usage("--caffe-scale: expected 255 or 256, got " + std::to_string(o.caffe_scale));
        p.caffe_scale = float(o.caffe_scale);
    }
    if (!o.resize.empty()) p.resize = parse_resize_filter(o.resize);
    if (!o.jpeg_decoder.empty()) p.jpeg = parse_jpeg_decoder(o.jpeg_decoder);
    if (!o.tv_form.empty()) p.tv_form = parse_tv_form(o.tv_form);
    if (!o.normalize_gradients.empty()) p.grad_norm = parse_grad_norm(o.normalize_gradients);
    if (o.o_normalize_weights && o.o_normalize_weights->count()) p.normalize_weights = true;
    if (!o.iterate_space.empty()) {
        if (o.iterate_space != "network" && o.iterate_space != "image")
            throw_usage("--iterate-space: expected network or image, got '" + o.iterate_space + "'");
        p.image_space = o.iterate_space == "image";
    }
    if (!o.clamp_iterate.empty()) {
        if (o.clamp_iterate != "on" && o.clamp_iterate != "off")
            throw_usage("--clamp-iterate: expected on or off, got '" + o.clamp_iterate + "'");
        p.clamp_iterate = o.clamp_iterate == "on";
    }
    if (!o.output_iterate.empty()) p.output_iterate = parse_output_iterate(o.output_iterate);
    if (!o.output_rounding.empty()) p.output_rounding = parse_output_rounding(o.output_rounding);
    const auto tolerance = [](double v, const char* option) {
        if (!std::isfinite(v)) throw_usage(std::string(option) + ": expected a finite number (-1 = off)");
        return v;
    };
    if (o.o_tol_grad && o.o_tol_grad->count()) p.tol_grad = tolerance(o.tol_grad, "--tol-grad");
    if (o.o_tol_change && o.o_tol_change->count()) p.tol_change = tolerance(o.tol_change, "--tol-change");
    return p;
}

}  // namespace nst::cli
