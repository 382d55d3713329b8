// SPDX-License-Identifier: MIT
// The bias of a batched convolution: added after cuDNN's forward, and its gradient (the sum of
// dy over samples and pixels per output channel), a fixed-order reduction in double with one
// block per channel, so the result is the same every run (no atomics).
// All pointers are device memory; launchers follow kernels/launch.h.
#pragma once
#include <cstddef>

#include <cuda_runtime.h>

namespace nst::kernels {

// y = x + bias[c] over a batch; y may alias x.
void bias_add_batched(float* y,           // (N, C, H, W)
                      const float* x,     // (N, C, H, W)
                      const float* bias,  // (C)
                      int n, int channels, std::size_t plane, cudaStream_t stream);

// db[c] += sum over (n, y, x) of dy[n][c][y][x].
void bias_grad(float* db,          // (C)
               const float* dy,    // (N, C, H, W)
               int n, int channels, std::size_t plane, cudaStream_t stream);

}  // namespace nst::kernels
