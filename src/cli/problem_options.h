// SPDX-License-Identifier: MIT
// The problem options shared by `nst run` and `nst eval` (spec §1), their registration with
// CLI11, and their resolution (preset defaults, images loaded, resized and preprocessed).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/control_options.h"
#include "cli/color_options.h"
#include "cli/convention_options.h"
#include "engine/engine.h"
#include "engine/presets.h"
#include "io/image.h"
#include "io/preprocess.h"
#include "nn/weights.h"

namespace nst::cli {

struct ProblemOptions {
    std::string content;
    std::vector<std::string> styles;
    std::string style_blend;
    int image_size = 512;
    std::string size_rule = "max";
    double style_scale = 1.0;
    double content_weight = 5, style_weight = 100, tv_weight = 1e-3;
    std::string content_layers = "relu4_2";
    std::string style_layers = "relu1_1,relu2_1,relu3_1,relu4_1,relu5_1";
    std::string style_layer_weights;
    std::string pooling = "max";
    std::string weights = "weights/vgg19.safetensors";
    std::string preset = "jcjohnson";
    std::string backend = "auto";
    int gpu = 0;
    std::string precision = "fp32";
    std::string gram_impl = "own";
    bool plan_only = false;  // --dry-run: the backend may be a CUDA device this machine lacks
    ControlOptions controls;  // spatial and scale controls (control_options.h)
    ColorOptions color;  // --match-color, --color-control, --luminance-match (--original-colors: run)
    ConventionOptions conventions;  // peer conventions (--caffe-scale, --resize, ...; issue #16)

    // Options whose presence decides whether the preset's default applies.
    CLI::Option* o_content_weight = nullptr;
    CLI::Option* o_style_weight = nullptr;
    CLI::Option* o_tv_weight = nullptr;
    CLI::Option* o_content_layers = nullptr;
    CLI::Option* o_style_layers = nullptr;
    CLI::Option* o_pooling = nullptr;
    CLI::Option* o_size_rule = nullptr;

    void add_to(CLI::App& app);
};

// Everything a backend needs, resolved from the options.
struct Problem {
    Vgg19Weights weights;
    PresetDefaults preset;  // the named preset with the convention options applied
    Preprocessor pre;
    SizeRule size_rule = SizeRule::Max;
    Backend backend = Backend::Cpu;
    ProblemSpec spec;  // content, styles, blend, loss, pooling (init left empty)
    ColorPlan color;   // colour controls; spec's images already transformed
};

// Validates option values (usage errors, exit 2) before any file is touched, then loads weights
// and images (input errors, exit 3). `backend_note` receives what `auto` chose. `loaded`, when
// given, holds the weights already read from o.weights (a later --scales stage): they are moved
// in rather than read and checked again.
Problem resolve_problem(const ProblemOptions& o, std::string& backend_note, Vgg19Weights* loaded = nullptr);

// Loads an image file or a preprocessed .npy as network-space x. Images are resized to
// (h, w) when h > 0; a .npy must already be (1, 3, h, w) when h > 0.
// How image files are read and resized (--jpeg-decoder, --resize): the preset's, or nst's.
struct ImageReading {
    ResizeFilter resize = ResizeFilter::Stb;
    JpegDecoder jpeg = JpegDecoder::Stb;
};
inline ImageReading image_reading(const PresetDefaults& p) { return {p.resize, p.jpeg}; }

Tensor<float> load_network_image(const std::string& path, const Preprocessor& pre, int h, int w,
                                 const std::string& option, const ImageReading& reading = {});

// Resizes an RGB image to (h, w) when h > 0 (by `filter`, --resize) and maps it into network space.
Tensor<float> to_network(Tensor<float> rgb, const Preprocessor& pre, int h, int w,
                         ResizeFilter filter = ResizeFilter::Stb);

// The iterate's space and box of a preset (--iterate-space, --clamp-iterate) for weights
// preprocessed by pre (engine/iterate_space.h).
IterateSpace iterate_space(const PresetDefaults& preset, const Preprocessor& pre);
// One nst: warning: line when the preset expects the other preprocessing than the weights'
// (a Caffe-port preset given torchvision weights, or the reverse); silent for random weights.
void warn_preprocess_mismatch(const PresetDefaults& preset, const Vgg19Weights& weights);

// The preset's random starting point (1, 3, H, W) of the content's size, network space: 0.001 N(0, 1)
// in network space (jcjohnson) or uniform [0, 1) noise in image space, preprocessed (gatys); the
// same seed gives the same x0 (nst run --init random, and every frame of nst video).
Tensor<float> random_init(const Problem& p, std::uint64_t seed);

// Splits a comma list of numbers, each finite and >= 0 (usage error naming the option).
std::vector<double> parse_weight_list(const std::string& list, const std::string& option);

// Smallest input side that gives a non-empty output at `layer`.
int min_input_side(int layer, VggArch arch = VggArch::Vgg19);

}  // namespace nst::cli
