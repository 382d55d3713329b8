// SPDX-License-Identifier: MIT
// Gradient L1 normalisation kernels (see grad_norm.h).
#include "kernels/grad_norm.h"

#include "cuda/check.h"
#include "kernels/common.cuh"
#include "kernels/launch.h"

namespace nst::kernels {

namespace {

__global__ void __launch_bounds__(kThreads)
grad_l1_partials_kernel(const float* __restrict__ g, long long n, double* __restrict__ partials) {
    __shared__ double scratch[kThreads];
    long long begin, end;
    block_slice(n, int(blockIdx.x), int(gridDim.x), begin, end);
    double acc = 0;
    for (long long e = begin + threadIdx.x; e < end; e += kThreads) acc += fabs(double(g[e]));
    const double s = block_sum(acc, scratch);
    if (threadIdx.x == 0) partials[blockIdx.x] = s;
}

__global__ void __launch_bounds__(kThreads)
grad_l1_scale_add_kernel(const float* __restrict__ g, long long n, const double* __restrict__ partials, int count,
                         double weight, float* __restrict__ df) {
    __shared__ double scratch[kThreads];
    const double l1 = sum_partials(partials, count, scratch);
    // loss/conventions.cpp grad_norm_l1_factor, the same expression.
    const double factor = 1.0 / (l1 / fabs(weight) + 1e-8);
    for (long long e = blockIdx.x * (long long)kThreads + threadIdx.x; e < n; e += (long long)gridDim.x * kThreads)
        df[e] += float(double(g[e]) * factor);
}

}  // namespace

int grad_l1_partials_count(std::size_t n) { return reduce_blocks(n); }

void grad_l1_partials(const float* g, std::size_t n, double* partials, cudaStream_t stream) {
    if (n == 0) return;
    grad_l1_partials_kernel<<<reduce_blocks(n), kThreads, 0, stream>>>(g, (long long)n, partials);
    NST_CUDA_CHECK(cudaGetLastError());
}

void grad_l1_scale_add(const float* g, std::size_t n, const double* partials, double weight, float* df,
                       cudaStream_t stream) {
    if (n == 0) return;
    grad_l1_scale_add_kernel<<<elementwise_blocks(n), kThreads, 0, stream>>>(g, (long long)n, partials,
                                                                              reduce_blocks(n), weight, df);
    NST_CUDA_CHECK(cudaGetLastError());
}

}  // namespace nst::kernels
