// SPDX-License-Identifier: MIT
#include "engine/presets.h"

namespace nst {

const PresetDefaults& preset_defaults(Preset preset) {
    // jcjohnson/neural-style's defaults, including its x256 caffe scaling quirk.
    static const PresetDefaults jcjohnson{Preset::JcJohnson, 5, 100, 1e-3, Pooling::Max, RandomInit::Gaussian, 256.f,
                                          "relu4_2", "relu1_1,relu2_1,relu3_1,relu4_1,relu5_1"};
    // CVPR 2016: alpha/beta = 1e-3, average pooling, white-noise init, no TV, x255.
    static const PresetDefaults gatys{Preset::Gatys, 1, 1e3, 0, Pooling::Avg, RandomInit::Uniform, 255.f,
                                      "relu4_2", "relu1_1,relu2_1,relu3_1,relu4_1,relu5_1"};
    return preset == Preset::Gatys ? gatys : jcjohnson;
}

}  // namespace nst
