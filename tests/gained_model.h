// SPDX-License-Identifier: MIT
// Random networks for the WCT tests: init_params with the conv weights (not the biases)
// multiplied by a gain in float, as tools/make_wct_reference.py makes them. torch's default init
// shrinks the features layer by layer; a He-like gain (2.5) keeps relu5_1 away from zero, so the
// covariances the tests check are well conditioned (test_wct_net.cpp).
#pragma once
#include <cstdint>

#include "nn/net_desc.h"
#include "nn/net_model.h"

namespace nst::test {

inline NetModel gained_model(const NetDesc& desc, std::uint64_t seed, float gain) {
    NetModel m;
    m.desc = desc;
    m.params = init_params(desc, seed);
    for (const ParamInfo& p : param_layout(desc))
        if (p.name.size() > 7 && p.name.compare(p.name.size() - 7, 7, ".weight") == 0)
            for (std::size_t j = 0; j < p.shape.numel(); ++j) m.params[p.offset + j] *= gain;
    return m;
}

}  // namespace nst::test
