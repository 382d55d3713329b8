// SPDX-License-Identifier: MIT
// jcjohnson's per-term gradient normalisation on the GPU (--normalize-gradients jcjohnson), the
// twin of cpu::Objective's with_normalized_gradient: a term's weighted gradient g (written into a
// scratch buffer by its loss kernel) is added to the layer's gradient df as
//   df += g * 1 / (|g|_1 / |w| + 1e-8)      (loss/conventions.h: grad_norm_l1_factor)
// Two launches so that the norm is a fixed-order reduction (no atomics, graph-capturable):
// grad_l1_partials writes one partial |g|_1 per block; grad_l1_scale_add sums them in index order
// (every block, redundantly, as kernels/lbfgs.cu does) and adds the scaled g into df.
#pragma once
#include <cstddef>

#include <cuda_runtime.h>

namespace nst::kernels {

int grad_l1_partials_count(std::size_t n);  // partials grad_l1_partials writes: reduce_blocks(n)
void grad_l1_partials(const float* g, std::size_t n, double* partials, cudaStream_t stream);
void grad_l1_scale_add(const float* g, std::size_t n, const double* partials, double weight, float* df,
                       cudaStream_t stream);

}  // namespace nst::kernels
