// SPDX-License-Identifier: MIT
// 2x2 pooling, stride 2, odd sizes round down (PyTorch's floor mode).
#pragma once
#include <cstdint>

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

// Window codes: the backward of the pool together with the backward of the ReLU that produced
// its input, in one byte per pooled output, so that backward needs neither the input nor a
// mask of it. Bit j of a window's code (inputs j = 0..3 in row-major order: a b / c d) is set
// when input j takes the window's gradient and is > 0: for max pooling at most the first
// maximum (as pool2x2_backward routes it), for average pooling every positive input.
//
// pool2x2_forward, and code[c][oy][ox] for each window. y is bit-identical to pool2x2_forward.
template <typename T>
void pool2x2_forward_coded(TensorView<T> y,              // (1, C, H/2, W/2)
                           TensorView<std::uint8_t> code,  // (1, C, H/2, W/2)
                           ConstView<T> x,               // (1, C, H, W)
                           Pooling kind);

// dx = relu_backward(pool2x2_backward(dy, x), x) from the codes: bit-identical to that pair of
// calls with the x the codes were made from. Assigns dx.
template <typename T>
void pool2x2_backward_coded(TensorView<T> dx,                  // (1, C, H, W)
                            ConstView<T> dy,                   // (1, C, H/2, W/2)
                            ConstView<std::uint8_t> code,      // (1, C, H/2, W/2)
                            Pooling kind);

}  // namespace nst::cpu
