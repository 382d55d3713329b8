// SPDX-License-Identifier: MIT
// Views of a ProblemSpec's style targets for the engines (engine.h style_views).
#include "engine/engine.h"

namespace nst {

void style_views(const ProblemSpec& spec, std::vector<Tensor<float>>& mapped, std::vector<ConstView<float>>& images,
                 std::vector<ConstView<float>>& masks) {
    mapped.clear();
    mapped.resize(spec.styles.size());
    images.clear();
    masks.clear();
    for (std::size_t k = 0; k < spec.styles.size(); ++k)
        images.push_back(as_network_input(spec.iterate, spec.styles[k], mapped[k]));
    for (const auto& m : spec.style_masks) masks.push_back(m.cview());
}

}  // namespace nst
