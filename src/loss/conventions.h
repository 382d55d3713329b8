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
//   gatys-nb    1/(C*M)         1/M           1/C^4               user weight
// (gatys-nb: the notebook's GramMatrix / (H W), MSE over the C^2 entries, and its layer weight
// 1e3 / C^2 as 1/C^2 here times the style weight 1e3.)
#pragma once
#include <string>

namespace nst {

// GatysNotebook: leongatys/PytorchNeuralStyleTransfer (engine/presets.h, gatys-notebook).
enum class Preset { JcJohnson, Gatys, GatysNotebook };

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

// Form of the total-variation term (--tv-form): jcjohnson's squared L2 (1/2 sum of squared
// differences, tv_loss) or neural-style-pt's / TensorFlow's L1 (sum of |differences|, tv_l1_loss).
enum class TvForm { SquaredL2, L1 };
TvForm parse_tv_form(const std::string& name);  // "squared-l2" or "l1"; usage error otherwise
const char* tv_form_name(TvForm f);

// Per-term gradient normalisation in the backward pass (--normalize-gradients). The loss VALUES
// are never changed, only what each content or style term injects at its layer:
//   JcJohnson:     g_term = w * u / (|u|_1 + 1e-8), u the unweighted term's gradient at its layer
//                  (neural-style's ContentLoss/StyleLoss:updateGradInput)
//   NeuralStylePt: g_term = w * u * k(w), k(w) = w / (|w| + 1e-8) * w: neural-style-pt's
//                  ScaleGradients normalises the gradient reaching the SCALAR loss (which is w)
//                  and multiplies by w^2, so the term's gradient is scaled by about |w|.
enum class GradNorm { None, JcJohnson, NeuralStylePt };
GradNorm parse_grad_norm(const std::string& name);  // none, jcjohnson, neural-style-pt
const char* grad_norm_name(GradNorm g);
// The extra factor k(w) of GradNorm::NeuralStylePt for a term of weight w (1 for the others).
double grad_norm_factor(GradNorm g, double weight);
// jcjohnson's normaliser for a term of weight w whose weighted gradient has L1 norm l1:
// the weighted gradient is multiplied by this (1 / (l1 / |w| + 1e-8)).
double grad_norm_l1_factor(double weight, double l1);

}  // namespace nst
