// SPDX-License-Identifier: MIT
#pragma once
#include "core/tensor.h"

namespace nst::cpu {

// y = max(x, 0). y may alias x.
template <typename T>
void relu_forward(TensorView<T> y, ConstView<T> x);

// dx = dy where y > 0, else 0 (y is the ReLU output). dx may alias dy.
template <typename T>
void relu_backward(TensorView<T> dx, ConstView<T> dy, ConstView<T> y);

}  // namespace nst::cpu
