// SPDX-License-Identifier: MIT
// Max and average pooling of any square window and stride, floor or ceil mode, no padding: the
// twin of cpu::pool2d_* (nn/pooling.h); kernels/pool.h is VGG's fast 2x2 path. A ceil-mode
// window may hang over the bottom or right edge: max takes the part inside, average divides by
// that part's size. Max routes each window's gradient to its first maximum in row-major order.
// The backward gathers over the windows that contain each input element (no atomics).
// All pointers are device memory; launchers follow kernels/launch.h.
#pragma once
#include <cuda_runtime.h>

#include "nn/vgg19_layers.h"

namespace nst::kernels {

// y (planes, oh, ow) from x (planes, h, w); oh, ow as cpu::pooled_size. Assigns y.
void pool2d_forward(float* y, const float* x, int planes, int h, int w, int oh, int ow, int kernel, int stride,
                    Pooling kind, cudaStream_t stream);
// Assigns dx (planes, h, w) from dy (planes, oh, ow); x is the forward input (max only).
void pool2d_backward(float* dx, const float* dy, const float* x, int planes, int h, int w, int oh, int ow, int kernel,
                     int stride, Pooling kind, cudaStream_t stream);

}  // namespace nst::kernels
