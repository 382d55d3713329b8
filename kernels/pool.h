// SPDX-License-Identifier: MIT
// 2x2 stride-2 pooling (max or average) on the device, the twin of cpu::pool2x2_* (nn/pool.h):
// odd sizes round down (floor mode), and max pooling's backward routes each window's gradient
// to its first maximum in row-major order, as the CPU and PyTorch do.
//
// The backward is a gather over input elements (each one lies in at most one window), so it
// needs no atomics and assigns every element of dx, 0 outside all windows.
// All pointers are device memory; launchers follow kernels/launch.h.
#pragma once
#include <cuda_runtime.h>

#include "nn/vgg19_layers.h"

namespace nst::kernels {

void pool2x2_forward(float* y,          // (1, C, H/2, W/2)
                     const float* x,    // (1, C, H, W)
                     int channels, int h, int w, Pooling kind, cudaStream_t stream);

void pool2x2_backward(float* dx,        // (1, C, H, W), assigned
                      const float* dy,  // (1, C, H/2, W/2)
                      const float* x,   // (1, C, H, W)   forward input (max pooling only)
                      int channels, int h, int w, Pooling kind, cudaStream_t stream);

}  // namespace nst::kernels
