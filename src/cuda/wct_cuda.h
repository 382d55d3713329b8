// SPDX-License-Identifier: MIT
// WCT (nn/wct.h) on the device. The split, and why:
//  - centring and the per-channel shift: our kernels (kernels/wct.h), twins of the CPU's;
//  - the covariance Fc Fc^T / (HW - 1): cuBLAS SSYRK on the centred features (fp32, pedantic
//    math; the CPU accumulates in double);
//  - the eigendecompositions and the C x C algebra (M, shift): on the host in double by LAPACK
//    dsyevd, the very code of the CPU path (nst::wct_transform). The matrices are at most
//    512 x 512 (relu5_1): dsyevd takes milliseconds, the download of C^2 floats microseconds, and
//    sharing the host code keeps one implementation of the truncation and the conventions.
//    cuSOLVER's syevd would add a library to link and to emulate (tests/emu) for no measurable
//    gain at these sizes: the decoder's convolutions dominate a stylisation by far;
//  - the application y = M Fc: cuBLAS SGEMM, then the shift kernel.
// The host step synchronises the stream (one download per sample), so WCT is not capturable
// into a CUDA graph; it runs once per stylised image and level, not per iteration.
#pragma once
#include <vector>

#include "core/tensor.h"
#include "cuda/context.h"
#include "nn/wct.h"

namespace nst::cuda {

// Moments of sample n of a device tensor x (N, C, H, W), HW >= 2 (input error otherwise): mean
// in double from the kernel, covariance from SSYRK converted to double.
WctMoments wct_moments(Context& ctx, ConstView<float> x, int n);

// y = alpha WCT(content, styles) + (1 - alpha) content per sample, as cpu::wct_forward; device
// views of equal shape, y may alias content; alpha 0 copies the content exactly.
void wct_forward(Context& ctx, TensorView<float> y, ConstView<float> content, const std::vector<WctMoments>& styles,
                 const std::vector<double>& weights, double alpha, const WctOptions& options);

}  // namespace nst::cuda
