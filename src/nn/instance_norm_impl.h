// SPDX-License-Identifier: MIT
// Fused forms of instance normalisation for cpu::Network: IN followed by ReLU in one pass over
// the output, and the backward of that pair (the ReLU's mask applied to dy as it is read).
#pragma once
#include "nn/instance_norm.h"

namespace nst::cpu::detail {

// instance_norm_forward, then max(., 0) when relu. y may alias x.
template <typename T>
void instance_norm_forward_fused(TensorView<T> y, TensorView<T> mean, TensorView<T> inv_std, ConstView<T> x,
                                 ConstView<T> gamma, ConstView<T> beta, double eps, bool relu);

// instance_norm_backward of dy * (relu_out > 0) when relu_out is given (the ReLU that followed
// the norm; its output). dx may alias dy.
template <typename T>
void instance_norm_backward_fused(TensorView<T> dx, TensorView<T> dgamma, TensorView<T> dbeta, ConstView<T> dy,
                                  ConstView<T> relu_out, ConstView<T> x, ConstView<T> mean, ConstView<T> inv_std,
                                  ConstView<T> gamma);

}  // namespace nst::cpu::detail
