// SPDX-License-Identifier: MIT
// 2x2 pooling, stride 2, odd sizes round down (PyTorch's floor mode).
#pragma once
#include "core/tensor.h"
#include "nn/vgg19_layers.h"

namespace nst::cpu {

template <typename T>
void pool2x2_forward(TensorView<T> y,   // (1, C, H/2, W/2)
                     ConstView<T> x,    // (1, C, H, W)
                     Pooling kind);

// Assigns dx (positions outside any window get 0). Max pooling routes each window's gradient
// to its first maximum in row-major order, as PyTorch does.
template <typename T>
void pool2x2_backward(TensorView<T> dx,  // (1, C, H, W)
                      ConstView<T> dy,   // (1, C, H/2, W/2)
                      ConstView<T> x,    // (1, C, H, W)   forward input
                      Pooling kind);

}  // namespace nst::cpu
