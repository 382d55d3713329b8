// SPDX-License-Identifier: MIT
// 3x3 convolution, stride 1, zero padding 1 (every VGG19 conv), on the CPU.
// Forward may fuse the following ReLU. Backward computes the data gradient only: VGG weights
// are constants in style transfer, so weight gradients are never formed.
#pragma once
#include "core/tensor.h"

namespace nst::cpu {

// Direct: im2col + GEMM, the exact reference. Winograd: F(2x2, 3x3) transform, 2.25x fewer
// multiplications, slightly different rounding. Auto: Winograd in float (faster for every
// VGG19 layer), Direct in double (the finite-difference reference).
enum class ConvAlgo { Auto, Direct, Winograd };

// y = conv(x, w) + b, then max(y, 0) when fuse_relu. Assigns y.
template <typename T>
void conv3x3_forward(TensorView<T> y,        // (1, O, H, W)
                     ConstView<T> x,         // (1, I, H, W)
                     ConstView<T> w,         // (O, I, 3, 3)
                     ConstView<T> b,         // (1, O, 1, 1)
                     bool fuse_relu, ConvAlgo algo = ConvAlgo::Auto);

// dx = d(sum(dy * conv(x, w)))/dx. Assigns dx.
template <typename T>
void conv3x3_backward_data(TensorView<T> dx,  // (1, I, H, W)
                           ConstView<T> dy,   // (1, O, H, W)
                           ConstView<T> w,    // (O, I, 3, 3)
                           ConvAlgo algo = ConvAlgo::Auto);

}  // namespace nst::cpu
