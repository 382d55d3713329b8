// SPDX-License-Identifier: MIT
// The scale table of conventions.h (spec §5).
#include "loss/conventions.h"

#include "core/error.h"

namespace nst {

Preset parse_preset(const std::string& name) {
    if (name == "jcjohnson") return Preset::JcJohnson;
    if (name == "gatys") return Preset::Gatys;
    throw_usage("--preset: unknown preset '" + name + "' (expected jcjohnson or gatys)");
}

const char* preset_name(Preset p) { return p == Preset::JcJohnson ? "jcjohnson" : "gatys"; }

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

}  // namespace nst
