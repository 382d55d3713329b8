// SPDX-License-Identifier: MIT
// The Gram matrix through cuBLAS (--gram-impl cublas-syrk | cublas-gemm): the baseline that
// profilers compare our kernel (kernels/gram.h) against, with the same contract:
//   g = scale * (F o T)(F o T)^T   (T = 1 without a guide), all of g assigned, bit-symmetric.
//
// F (C rows of M positions, row-major) is, to column-major cuBLAS, the M x C matrix X = F^T, so
// G = X^T X:
//   cublas-syrk  cublasSsyrk(lower, T): the lower triangle of column-major G, which is the upper
//                triangle of row-major G; kernels::gram_mirror_upper fills in the rest (half the
//                FLOPs of a GEMM);
//   cublas-gemm  cublasSgemm(T, N): all of G; the lower triangle is then replaced by the mirror
//                of the upper one, since cuBLAS does not promise that its two triangles agree
//                bit for bit and the style gradient kernel needs a symmetric G.
// A guided Gram first writes F o T into caller scratch (kernels::guided_copy; our kernel needs
// no such copy). Sums are cuBLAS's (fp32, its own order, not reproducible across GPUs or
// library versions); pedantic FP32 math unless the run asked for TF32 (cublas_math_mode).
// Like every launcher: no allocation, no synchronisation, capturable into a CUDA graph.
#pragma once
#include <cstddef>

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "cuda/context.h"
#include "engine/engine.h"

namespace nst::cuda {

// The cuBLAS math mode of a run's precision: CUBLAS_TF32_TENSOR_OP_MATH for --precision tf32,
// CUBLAS_PEDANTIC_MATH (plain fp32, no tensor-core conversions) otherwise: bf16 concerns the
// convolutions only, the Gram stays fp32.
cublasMath_t cublas_math_mode(Precision precision);

// Floats of scratch gram_cublas needs for a (C, M) feature map: C * M when guided, else 0.
std::size_t gram_cublas_scratch_floats(int channels, long long positions, bool guided);

// g = scale * (F o T)(F o T)^T by cuBLAS on ctx's cuBLAS handle and stream (impl: CublasSyrk or
// CublasGemm; Own is a usage error here). The caller has set the handle's math mode.
void gram_cublas(Context& ctx, GramImpl impl,
                 const float* f,       // (1, C, H, W), M = H*W, device
                 const float* guide,   // (1, 1, H, W) device, or null
                 int channels, long long positions, double scale,
                 float* scratch,       // gram_cublas_scratch_floats(C, M, guide != null) floats, device
                 float* g);            // (1, 1, C, C), device
// As above for the column range [0, positions) of a row-major (C, ld) f, ld >= positions (f and
// guide at the range's first column): a strip's owned positions in tiled evaluation. Scratch as
// above for (C, positions).
void gram_cublas(Context& ctx, GramImpl impl, const float* f, const float* guide, int channels, long long positions,
                 long long ld, double scale, float* scratch, float* g);
}  // namespace nst::cuda
