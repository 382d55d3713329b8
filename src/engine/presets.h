// SPDX-License-Identifier: MIT
// Preset defaults (spec §5): the loss convention plus the defaults that go with it. Explicit
// command-line options override any of these.
#pragma once
#include <string>

#include "loss/conventions.h"
#include "nn/vgg19_layers.h"

namespace nst {

enum class RandomInit {
    Gaussian,  // x = 0.001 * N(0, 1) in network space (jcjohnson)
    Uniform,   // white noise uniform [0, 1) in image space, then preprocessed (Gatys)
};

struct PresetDefaults {
    Preset preset;
    double content_weight, style_weight, tv_weight;
    Pooling pooling;
    RandomInit random_init;
    float caffe_scale;  // S of caffe preprocessing
    const char* content_layers;
    const char* style_layers;
};

const PresetDefaults& preset_defaults(Preset preset);

}  // namespace nst
