// SPDX-License-Identifier: MIT
// Max and average pooling of any square window and stride, floor or ceil mode as torch's
// MaxPool2d / AvgPool2d (no padding; in ceil mode the last window must start inside the input,
// and average pooling divides by the window's part inside the input), on a batch. nn/pool.h is
// VGG's fast 2x2 path.
#pragma once
#include "core/tensor.h"
#include "nn/vgg19_layers.h"

namespace nst::cpu {

// Output size along one axis.
int pooled_size(int in, int kernel, int stride, bool ceil_mode);

template <typename T>
void pool2d_forward(TensorView<T> y, ConstView<T> x, int kernel, int stride, bool ceil_mode, Pooling kind);
// Assigns dx. Max routes each window's gradient to its first maximum in row-major order.
template <typename T>
void pool2d_backward(TensorView<T> dx, ConstView<T> dy, ConstView<T> x, int kernel, int stride, bool ceil_mode,
                     Pooling kind);

}  // namespace nst::cpu
