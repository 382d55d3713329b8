// SPDX-License-Identifier: MIT
#include "engine/iterate_space.h"

#include "core/error.h"

namespace nst {

ConstView<float> as_network_input(const IterateSpace& space, const Tensor<float>& t, Tensor<float>& mapped) {
    if (!space.image) return t.cview();
    mapped = Tensor<float>(t.shape());
    apply_channel_map(space.map, mapped.view(), t.cview());
    return mapped.cview();
}

}  // namespace nst
