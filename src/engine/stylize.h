// SPDX-License-Identifier: MIT
// Running a feed-forward model on an image of any size (issue #12, `nst stylize`): the image is
// reflection-padded at the bottom and right to a multiple of the network's downsampling factor
// (4 for TransformerNet: its output has the input's size only then), run, and cropped back, so
// the output has exactly the input's size. The model's io space (nst.io) is converted to and
// from RGB around the network.
#pragma once
#include <functional>

#include "core/tensor.h"
#include "loss/perceptual.h"
#include "nn/network.h"

namespace nst {

// The padding multiple of TransformerNet (two stride-2 convolutions).
constexpr int kTransformerMultiple = 4;

// x (N, C, H, W) reflection-padded at the bottom and right to (N, C, H', W'), H' and W' the next
// multiples of `multiple`. Reflection without repeating the edge (torch's ReflectionPad2d),
// folded back and forth for images narrower than the padding.
Tensor<float> reflect_pad_to_multiple(ConstView<float> x, int multiple);

// The top-left (h, w) window of x (N, C, H, W).
Tensor<float> crop_top_left(ConstView<float> x, int h, int w);

// The network as a function: x (1, 3, H', W') in io space -> its output on the host. Lets the
// CUDA backend (cli/cmd_stylize.cpp, above the cuda layer) share the padding and conversions.
using ForwardFn = std::function<Tensor<float>(ConstView<float> x)>;

// rgb (1, 3, H, W) in [0, 1] -> the stylised image (1, 3, H, W), RGB in [0, 1], clamped.
Tensor<float> stylize_image(const ForwardFn& forward, ModelIo io, ConstView<float> rgb);
Tensor<float> stylize_image(cpu::Network<float>& net, ModelIo io, ConstView<float> rgb);

}  // namespace nst
