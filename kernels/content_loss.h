// SPDX-License-Identifier: MIT
// The content loss of one layer on the GPU, the twin of cpu::content_loss (loss/losses.h):
// value = scale * sum (f - p)^2 and df += 2 * scale * (f - p), in one pass. The kernel writes
// the raw sum as double partials; the scale is applied by kernels/terms.h.
#pragma once
#include <cstddef>

#include <cuda_runtime.h>

namespace nst::kernels {

// Number of partials content_loss() writes for n elements (<= kMaxPartials).
int content_loss_partials(std::size_t n);

// partials[b] = sum over block b's slice of (f - p)^2 in double; unless df is null,
// df += float(two_scale * (f - p)) (two_scale = 2 * scale, as the CPU computes it).
void content_loss(const float* f,     // (1, C, H, W), device
                  const float* p,     // (1, C, H, W) target, device
                  std::size_t n, double two_scale,
                  float* df,          // (1, C, H, W), device, or null
                  double* partials,   // content_loss_partials(n) doubles, device
                  cudaStream_t stream);

}  // namespace nst::kernels
