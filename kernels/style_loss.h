// SPDX-License-Identifier: MIT
// The style loss of one layer on the GPU, the twin of cpu::style_loss (loss/losses.h), given
// G = gram_scale * F F^T from kernels/gram.h:
//   value    = loss_scale * sum (G - A)^2      (raw sums written as double partials; the
//                                              scale is applied by kernels/terms.h)
//   gradient df += 4 * loss_scale * gram_scale * (G - A) F   (one fused GEMM, no G - A buffer)
// and the two steps of the style targets (objective.cpp): blending the position-normalised
// Grams of the style images in double, and scaling the blend to a layer's fp32 target.
#pragma once
#include <cstddef>

#include <cuda_runtime.h>

namespace nst::kernels {

// Number of partials style_value() writes for C channels (<= kMaxPartials).
int style_value_partials(int channels);

// partials[b] = sum over block b's slice of (g - a)^2 in double; fixed order.
void style_value(const float* g,    // (1, 1, C, C), device
                 const float* a,    // (1, 1, C, C) target, device
                 int channels,
                 double* partials,  // style_value_partials(C) doubles, device
                 cudaStream_t stream);

// As style_value, each partial times `weight` (a region's blend weight b_k when content masks
// split the style term of a layer into sum_k b_k * style_loss_k; cuda/objective_cuda.cpp).
void style_value_weighted(const float* g, const float* a, int channels, double weight,
                          double* partials,  // style_value_partials(C) doubles, device
                          cudaStream_t stream);

// df += coef * (g - a) F with F = f viewed as (C, M); coef = 4 * loss_scale * gram_scale.
// g and a must be symmetric (Gram matrices and their blends are, bit for bit): the kernel
// reads (g - a)^T, which is contiguous along the rows it needs.
// Guided (g the Gram of F o T, kernels/gram.h): df += coef * T o ((g - a)(F o T)), the chain
// rule through F o T, with F o T formed in the loads and column m's factor float(coef * T_m).
// A null guide is the plain gradient; an all-ones guide gives its bits.
void style_gradient(const float* g,   // (1, 1, C, C), device
                    const float* a,   // (1, 1, C, C), device
                    const float* f,   // (1, C, H, W), M = H*W, device
                    const float* guide,  // (1, 1, H, W) device, or null
                    int channels, long long positions, double coef,
                    float* df,        // (1, C, H, W), device; accumulated into
                    cudaStream_t stream);

// As above for the column range [0, columns) of row-major (C, ld) maps f and df, ld >= columns
// (f, df and guide point at the range's first column): the positions one strip owns in tiled
// evaluation (loss/tiling.h); df's other columns are left as they are.
void style_gradient(const float* g, const float* a,
                    const float* f,      // (C, ld) row-major, device
                    const float* guide,  // (columns) device, or null
                    int channels, long long columns, long long ld, double coef,
                    float* df,           // (C, ld) row-major, device; columns [0, columns) accumulated into
                    cudaStream_t stream);

// norm += weight * g (double accumulation of one style image's normalised Gram).
void style_target_accumulate(double* norm,     // (1, 1, C, C), device
                             const float* g,   // (1, 1, C, C), device
                             int channels, double weight, cudaStream_t stream);

// target = float(factor * norm) (objective.cpp's refresh_style_target).
void style_target_scale(float* target,       // (1, 1, C, C), device
                        const double* norm,  // (1, 1, C, C), device
                        int channels, double factor, cudaStream_t stream);

}  // namespace nst::kernels
