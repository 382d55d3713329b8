// SPDX-License-Identifier: MIT
#include "engine/iterate_space.h"

#include "core/error.h"

namespace nst {

void clamp_to_box(const ChannelBox& box, TensorView<float> x) {
    NST_REQUIRE(x.shape.c == 3, "clamp_to_box: expected 3 channels, got " + x.shape.str());
    const std::size_t plane = x.shape.plane();
    for (int n = 0; n < x.shape.n; ++n)
        for (int c = 0; c < 3; ++c) {
            float* p = x.data + (std::size_t(n) * 3 + std::size_t(c)) * plane;
            const float lo = box.lo[c], hi = box.hi[c];
            // Comparisons that a NaN fails leave it in place.
            for (std::size_t i = 0; i < plane; ++i) p[i] = p[i] < lo ? lo : (p[i] > hi ? hi : p[i]);
        }
}

ConstView<float> as_network_input(const IterateSpace& space, const Tensor<float>& t, Tensor<float>& mapped) {
    if (!space.image) return t.cview();
    mapped = Tensor<float>(t.shape());
    apply_channel_map(space.map, mapped.view(), t.cview());
    return mapped.cview();
}

}  // namespace nst
