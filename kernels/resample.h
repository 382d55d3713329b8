// SPDX-License-Identifier: MIT
// The shape-changing layers without parameters on the device, twins of nn/resample.h: padding
// (zero or reflection), nearest upsampling, the centre-cropped residual add, and y = scale tanh(x).
// Every backward is a gather (each output element sums its sources in a fixed order), so none
// needs atomics and the results are the same every run.
//
// Tensors are NCHW; `planes` = N * C. All pointers are device memory; launchers follow
// kernels/launch.h.
#pragma once
#include <cstddef>

#include <cuda_runtime.h>

namespace nst::kernels {

// y = pad(x) by `pad` on every side; reflect: mirror without repeating the edge (needs
// pad < h and pad < w), else zeros. Assigns y (planes, h + 2 pad, w + 2 pad).
void pad_forward(float* y, const float* x, int planes, int h, int w, int pad, bool reflect, cudaStream_t stream);
// dx (planes, h, w) = dy (planes, h + 2 pad, w + 2 pad) folded back through the padding. Assigns.
void pad_backward(float* dx, const float* dy, int planes, int h, int w, int pad, bool reflect, cudaStream_t stream);

// y (planes, f h, f w) = x (planes, h, w) repeated in f x f blocks. Assigns.
void upsample_nearest_forward(float* y, const float* x, int planes, int h, int w, int factor, cudaStream_t stream);
// dx (planes, h, w) = the sum of dy (planes, f h, f w) over each f x f block. Assigns.
void upsample_nearest_backward(float* dx, const float* dy, int planes, int h, int w, int factor, cudaStream_t stream);

// y (planes, h, w) = x + s (planes, sh, sw) cropped at its centre ((sh - h) / 2 rows and
// (sw - w) / 2 columns off the top and left). y may alias x.
void add_cropped_forward(float* y, const float* x, const float* s, int planes, int h, int w, int sh, int sw,
                         cudaStream_t stream);
// ds (planes, sh, sw) += dy (planes, h, w) at the crop's position; the rest of ds is unchanged.
void add_cropped_backward_source(float* ds, const float* dy, int planes, int h, int w, int sh, int sw,
                                 cudaStream_t stream);

// y = scale tanh(x) over n elements; y may alias x.
void tanh_forward(float* y, const float* x, std::size_t n, double scale, cudaStream_t stream);
// dx = dy (scale - y^2 / scale), from the forward's output y; dx may alias dy.
void tanh_backward(float* dx, const float* dy, const float* y, std::size_t n, double scale, cudaStream_t stream);

}  // namespace nst::kernels
