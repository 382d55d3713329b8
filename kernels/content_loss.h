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

// The same over the column range [0, columns) of row-major (C, ld_f) f and df and (C, ld_p) p
// (each pointer at its range's first column): tiled evaluation (loss/tiling.h) sums a strip's
// owned rows of a layer, whose positions are such a range of the window's features, against
// the matching rows of the whole image's target. `blocks` partials (1..kMaxPartials) are
// written, so that the strips of one term can share its kMaxPartials slots side by side; the
// value depends on `blocks` only through the order of the double sums.
void content_loss_rows(const float* f,    // (C, ld_f) row-major, device
                       long long ld_f,
                       const float* p,    // (C, ld_p) row-major target, device
                       long long ld_p, int channels, long long columns, double two_scale,
                       float* df,         // (C, ld_f) row-major, device, or null
                       int blocks,
                       double* partials,  // `blocks` doubles, device
                       cudaStream_t stream);

}  // namespace nst::kernels
