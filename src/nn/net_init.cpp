// SPDX-License-Identifier: MIT
// init_params (nn/net_model.h): torch's default initialisation, regenerable element by element.
#include <cmath>

#include "core/rng.h"
#include "nn/net_model.h"

namespace nst {

std::vector<float> init_params(const NetDesc& desc, std::uint64_t seed) {
    const std::vector<ParamInfo> layout = param_layout(desc);
    std::vector<float> params(param_count(desc));
    std::size_t fan_in = 0;  // of the last conv weight seen: its bias (next in layout) shares it
    for (std::size_t t = 0; t < layout.size(); ++t) {
        const ParamInfo& p = layout[t];
        const Op op = desc.layers[std::size_t(p.layer)].op;
        float* out = params.data() + p.offset;
        const std::size_t n = p.shape.numel();
        const bool is_weight = p.name.size() > 7 && p.name.compare(p.name.size() - 7, 7, ".weight") == 0;
        if (op == Op::InstanceNorm) {
            for (std::size_t j = 0; j < n; ++j) out[j] = is_weight ? 1.0f : 0.0f;
            continue;
        }
        NST_REQUIRE(op == Op::Conv || op == Op::ConvTranspose, "init_params: parameters of an unexpected layer");
        // torch's fan_in is weight.shape[1] * k * k: I for Conv (O, I, k, k), O for
        // ConvTranspose (I, O, k, k).
        if (is_weight) fan_in = std::size_t(p.shape.c) * p.shape.h * p.shape.w;
        NST_REQUIRE(fan_in > 0, "init_params: a bias before its weight");
        const double bound = 1.0 / std::sqrt(double(fan_in));
        const std::uint64_t stream = rng::kStreamNetParams + t;
        for (std::size_t j = 0; j < n; ++j) out[j] = float(bound * (2.0 * rng::uniform(seed, stream, j) - 1.0));
    }
    return params;
}

}  // namespace nst
