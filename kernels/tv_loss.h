// SPDX-License-Identifier: MIT
// Total variation on the GPU, the twin of cpu::tv_loss (loss/losses.h), jcjohnson's form:
//   value = scale * 1/2 * sum_{c, i<H-1, j<W-1} [(x_{i,j} - x_{i,j+1})^2 + (x_{i,j} - x_{i+1,j})^2]
// The kernel writes the raw sum of squares as double partials (kernels/terms.h applies
// scale / 2) and adds the gradient into dx in the same pass, each element gathering the
// differences it takes part in (no atomics).
#pragma once
#include <cstddef>

#include <cuda_runtime.h>

namespace nst::kernels {

// Number of partials tv_loss() writes for `planes` (N * C) planes of h x w: 0 when no position
// has both neighbours (h < 2 or w < 2; then tv_loss() queues nothing, as the CPU returns 0).
int tv_loss_partials(int planes, int h, int w);

// partials[b] = block b's part of the sum of squares above; unless dx is null,
// dx += float(scale * dL'/dx) with L' = 1/2 sum of squares (the CPU's gather formula).
void tv_loss(const float* x,      // (N, C, H, W), device
             int planes, int h, int w, double scale,
             float* dx,           // (N, C, H, W), device, or null
             double* partials,    // tv_loss_partials(planes, h, w) doubles, device
             cudaStream_t stream);

// The L1 form (--tv-form l1), the twin of cpu::tv_l1_loss: partials[b] = block b's part of
// sum |x_{i+1,j} - x_{i,j}| + sum |x_{i,j+1} - x_{i,j}| over every neighbour pair (terms.h applies
// scale itself); unless dx is null, dx += float(scale * g) with g the signs each element gathers
// (sign(0) = 0). Writes tv_l1_loss_partials(planes, h, w) partials (0: nothing queued).
int tv_l1_loss_partials(int planes, int h, int w);
void tv_l1_loss(const float* x, int planes, int h, int w, double scale, float* dx, double* partials,
                cudaStream_t stream);

}  // namespace nst::kernels
