// SPDX-License-Identifier: MIT
// The scale table of conventions.h (spec §5).
#include "loss/conventions.h"

#include <cmath>

#include "core/error.h"

namespace nst {

Preset parse_preset(const std::string& name) {
    if (name == "jcjohnson") return Preset::JcJohnson;
    if (name == "gatys") return Preset::Gatys;
    if (name == "gatys-notebook") return Preset::GatysNotebook;
    throw_usage("--preset: unknown loss convention '" + name + "' (expected jcjohnson, gatys or gatys-notebook)");
}

const char* preset_name(Preset p) {
    return p == Preset::JcJohnson ? "jcjohnson" : p == Preset::Gatys ? "gatys" : "gatys-notebook";
}

LossScales loss_scales(Preset preset, int channels, long long positions) {
    NST_REQUIRE(channels > 0 && positions > 0, "loss scales need a non-empty layer");
    const double c = channels, m = double(positions);
    switch (preset) {
        case Preset::JcJohnson:
            // neural-style: nn.MSECriterion (a mean over the C*M entries of F), the Gram divided
            // by C*H*W, and a mean over the C^2 Gram entries.
            return {1.0 / (c * m), 1.0 / (c * m), 1.0 / (c * c)};
        case Preset::Gatys:
            // Eq. 1 (1/2 sum), Eq. 3 (plain F F^T) and Eq. 4 (1 / (4 N^2 M^2)).
            return {0.5, 1.0, 1.0 / (4.0 * c * c * m * m)};
        case Preset::GatysNotebook:
            // nn.MSELoss on F, GramMatrix's F F^T / (h w), nn.MSELoss on the Grams (1/C^2) times
            // the notebook's per-layer weight's 1/C^2 (its 1e3 is the style weight).
            return {1.0 / (c * m), 1.0 / m, 1.0 / (c * c * c * c)};
    }
    NST_REQUIRE(false, "unknown preset");
    return {};
}

double style_layer_weight(Preset preset, double user_weight, int num_style_layers) {
    if (preset == Preset::Gatys) {
        // Eq. 5 with w_l = 1 / (number of active layers), scaled by the user's per-layer weight.
        NST_REQUIRE(num_style_layers > 0, "style layer weight needs at least one style layer");
        return user_weight / num_style_layers;
    }
    return user_weight;
}

TvForm parse_tv_form(const std::string& name) {
    if (name == "squared-l2") return TvForm::SquaredL2;
    if (name == "l1") return TvForm::L1;
    throw_usage("--tv-form: unknown form '" + name + "' (expected squared-l2 or l1)");
}

const char* tv_form_name(TvForm f) { return f == TvForm::L1 ? "l1" : "squared-l2"; }

GradNorm parse_grad_norm(const std::string& name) {
    if (name == "none") return GradNorm::None;
    if (name == "jcjohnson") return GradNorm::JcJohnson;
    if (name == "neural-style-pt") return GradNorm::NeuralStylePt;
    throw_usage("--normalize-gradients: unknown variant '" + name + "' (expected none, jcjohnson or neural-style-pt)");
}

const char* grad_norm_name(GradNorm g) {
    return g == GradNorm::JcJohnson ? "jcjohnson" : g == GradNorm::NeuralStylePt ? "neural-style-pt" : "none";
}

double grad_norm_factor(GradNorm g, double weight) {
    if (g != GradNorm::NeuralStylePt) return 1.0;
    // grad_output of the scalar loss is w; it is divided by (|w| + 1e-8) and multiplied by w * w,
    // in place of the plain w: the term's gradient w * u becomes w * u * (w / (|w| + 1e-8)) * w / w.
    return weight / (std::fabs(weight) + 1e-8) * weight;
}

double grad_norm_l1_factor(double weight, double l1) {
    // u = g / w, so w * u / (|u|_1 + 1e-8) = g / (|g|_1 / |w| + 1e-8) (w > 0 for a term that runs).
    return 1.0 / (l1 / std::fabs(weight) + 1e-8);
}

}  // namespace nst
