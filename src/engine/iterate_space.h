// SPDX-License-Identifier: MIT
// Where the optimiser's x lives and which box holds it (issue #16, `--iterate-space`,
// `--clamp-iterate`; docs/conventions.md "Peer conventions").
//
// nst, jcjohnson, neural-style-pt and the authors' notebook optimise the network's input itself
// (the preprocessed image). The PyTorch tutorial optimises the RGB image in [0, 1], normalises it
// inside the model (its Normalization module) and clamps it to [0, 1] in place at the start of
// every closure. L-BFGS is not invariant to a per-channel rescaling (its first step, H0 = gamma I
// and the pairs all change), so reproducing the tutorial needs its space, not an equivalent box:
//   image space: the objective sees map(x), the weights' preprocessing applied as the network's
//                first layer, and its gradient comes back through the map's transpose;
//   clamp:       x <- min(max(x, lo_c), hi_c) in place before each evaluation, so that the
//                optimiser's own iterate is the clamped one, as torch's in-place clamp_ makes it
//                (its pairs still use s = t d, the step it took, as torch's do).
// Both engines apply these around the objective: CPU here, CUDA with kernels/channel_map.h and
// kernels/box.h.
#pragma once
#include "core/tensor.h"
#include "loss/channel_map.h"

namespace nst {

struct IterateSpace {
    bool image = false;  // x is the RGB image; the network input is map(x)
    ChannelMap map;      // RGB [0, 1] -> the network's input (the weights' preprocessing)
    bool clamp = false;  // clamp x into box before every evaluation
    ChannelBox box;      // clamp_to_box's bounds in the iterate's space: [0, 1] for the image, its image in network space
};

// Image t (n, 3, H, W) in the iterate's space as the network's input: t itself in network space
// (no copy: a print-size content stays one tensor), map(t) kept in `mapped` in image space.
ConstView<float> as_network_input(const IterateSpace& space, const Tensor<float>& t, Tensor<float>& mapped);

}  // namespace nst
