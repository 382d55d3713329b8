// SPDX-License-Identifier: MIT
// The elementwise halves of WCT on the device (nn/wct.h; host code in cuda/wct_cuda.h), twins
// of cpu::wct_center and cpu::wct_shift. The covariance and the transform itself are cuBLAS
// SSYRK / SGEMM, the C x C algebra is host double. All pointers are device memory; launchers
// follow kernels/launch.h.
#pragma once
#include <cstddef>

#include <cuda_runtime.h>

namespace nst::kernels {

// One block per plane: mean in double (fixed-order block sum), centred = float(x - mean).
// centred may alias x.
void wct_center(float* centred,  // (planes, plane)
                double* mean,    // (planes)
                const float* x,  // (planes, plane)
                int planes, std::size_t plane, cudaStream_t stream);

// y[p, i] += shift[p] in float.
void wct_shift(float* y,            // (planes, plane)
               const float* shift,  // (planes)
               int planes, std::size_t plane, cudaStream_t stream);

}  // namespace nst::kernels
