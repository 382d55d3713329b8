// SPDX-License-Identifier: MIT
// Loss conventions of the presets (spec §5). Each loss term is a scale times a sum of squares;
// the presets differ only in the scales, so one implementation serves both.
//
//   content:  w_c * content_scale * sum (F - P)^2
//   Gram:     G = gram_scale * F F^T                    (F: (C, M), M = H*W)
//   style:    w_s * w_l * style_scale * sum (G - A)^2
//
//   preset      content_scale   gram_scale    style_scale         w_l
//   jcjohnson   1/(C*M)         1/(C*M)       1/C^2               user weight (default 1)
//   gatys       1/2             1            1/(4 C^2 M^2)       user weight / (number of style layers)
#pragma once
#include <string>

namespace nst {

enum class Preset { JcJohnson, Gatys };

Preset parse_preset(const std::string& name);  // throws a usage error for an unknown name
const char* preset_name(Preset p);

struct LossScales {
    double content;  // multiplies sum (F - P)^2
    double gram;     // G = gram * F F^T
    double style;    // multiplies sum (G - A)^2
};

// Scales for a layer with C channels and M = H*W positions.
LossScales loss_scales(Preset preset, int channels, long long positions);

// Per-layer style weight w_l given the user's weight for that layer.
double style_layer_weight(Preset preset, double user_weight, int num_style_layers);

}  // namespace nst
