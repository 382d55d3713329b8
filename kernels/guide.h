// SPDX-License-Identifier: MIT
// Per-position masks applied to channel planes (spatial control, issue #10), the twins of the
// host loops of cpu::Objective:
//   mask_multiply  x[c][m] *= mask[m]            the edit mask on the image gradient (1, C, H, W)
//   guided_copy    out[c][m] = f[c][m] * t[m]    F o T written out, for the cuBLAS Gram path
//                                                (our Gram kernel forms F o T in its loads)
// Each product is one float rounding, as the host's float(a * b). Elementwise, grid from the
// shape only; launchers follow kernels/launch.h.
#pragma once
#include <cuda_runtime.h>

namespace nst::kernels {

void mask_multiply(float* x,            // (1, C, H, W) device, multiplied in place
                   const float* mask,   // (1, 1, H, W) device
                   int channels, long long positions, cudaStream_t stream);

void guided_copy(const float* f,        // (1, C, H, W) device
                 const float* guide,    // (1, 1, H, W) device
                 int channels, long long positions,
                 float* out,            // (1, C, H, W) device, assigned; must not alias f
                 cudaStream_t stream);

// As above for the column range [0, columns) of a row-major (C, ld) f (f and guide at the
// range's first column; tiled evaluation, loss/tiling.h); out is a contiguous (C, columns).
void guided_copy(const float* f,        // (C, ld) row-major, device
                 long long ld,
                 const float* guide,    // (columns) device
                 int channels, long long columns,
                 float* out,            // (C, columns) device, assigned; must not alias f
                 cudaStream_t stream);

}  // namespace nst::kernels
