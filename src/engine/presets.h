// SPDX-License-Identifier: MIT
// Preset defaults (spec §5): the loss convention plus the defaults that go with it. Explicit
// command-line options override any of these.
//
// Besides nst's own presets (jcjohnson, gatys), the peer presets of issue #16 reproduce other
// implementations from the same image files (docs/conventions.md "Peer conventions", README
// "Reproducing another implementation"); each is a set of the conventions below, every one of
// which is also an option of its own.
#pragma once
#include <string>

#include "io/image.h"
#include "loss/conventions.h"
#include "nn/vgg19_layers.h"
#include "nn/weights.h"

namespace nst {

enum class RandomInit {
    Gaussian,  // x = 0.001 * N(0, 1) in network space (jcjohnson)
    Uniform,   // white noise uniform [0, 1) in image space, then preprocessed (Gatys)
};

// How an image file is brought to the working size (--resize).
enum class ResizeFilter {
    Stb,          // stb_image_resize on float (Mitchell down, Catmull-Rom up); sides rounded
    PilBilinear,  // PIL's antialiased bilinear on 8-bit levels; sides truncated (the peers')
};
ResizeFilter parse_resize_filter(const std::string& name);  // "stb" or "pil-bilinear"
const char* resize_filter_name(ResizeFilter f);

// Which iterate a run writes (--output-iterate): x_N after N iterations, or x_{N-1}, the point
// evaluated by the N-th iteration (neural-style-pt saves that one and drops its last step).
enum class OutputIterate { Last, Previous };
OutputIterate parse_output_iterate(const std::string& name);  // "last" or "previous"
// 8-bit output (--output-rounding): round half up, or truncate as ToPILImage does.
enum class OutputRounding { Round, Truncate };
OutputRounding parse_output_rounding(const std::string& name);  // "round" or "truncate"

struct PresetDefaults {
    Preset preset;  // the loss convention (loss/conventions.h)
    double content_weight, style_weight, tv_weight;
    Pooling pooling;
    RandomInit random_init;
    float caffe_scale;  // S of caffe preprocessing
    const char* content_layers;
    const char* style_layers;
    // Peer conventions; nst's own presets keep nst's behaviour in each.
    const char* name = "jcjohnson";
    SizeRule size_rule = SizeRule::Max;
    ResizeFilter resize = ResizeFilter::Stb;
    JpegDecoder jpeg = JpegDecoder::Stb;  // the peer presets: libjpeg when built with it (as PIL)
    TvForm tv_form = TvForm::SquaredL2;
    GradNorm grad_norm = GradNorm::None;
    bool normalize_weights = false;
    OutputIterate output_iterate = OutputIterate::Last;
    OutputRounding output_rounding = OutputRounding::Round;
    double tol_grad = -1, tol_change = -1;  // torch's L-BFGS tolerances; -1 = off
    bool image_space = false;    // --iterate-space image: x is the RGB image (engine/iterate_space.h)
    bool clamp_iterate = false;  // --clamp-iterate on: x clamped to the image range before each evaluation
    // The preprocessing the peer's own weights use; a run warns when the weights given say
    // otherwise (nst weights info explains the rule). Unset for nst's presets (any weights).
    bool expects_preprocess = false;
    PreprocessKind expected_preprocess = PreprocessKind::Caffe;
};

// nst's loss-level presets by their loss convention (jcjohnson, gatys).
const PresetDefaults& preset_defaults(Preset preset);
// Every preset by name: jcjohnson, gatys, neural-style-pt, gatys-notebook, pytorch-tutorial.
// Usage error (exit 2) listing the names for another.
const PresetDefaults& preset_named(const std::string& name);
// The names, comma separated (help texts and errors).
const char* preset_names();

}  // namespace nst
