// SPDX-License-Identifier: MIT
// Batched bias add and bias gradient (see conv_bias.h).
#include "kernels/conv_bias.h"

#include "cuda/check.h"
#include "kernels/common.cuh"

namespace nst::kernels {

namespace {

__global__ void bias_add_batched_kernel(float* y, const float* x, const float* bias, int channels,
                                        std::size_t plane, std::size_t total) {
    const std::size_t stride = std::size_t(gridDim.x) * blockDim.x;
    for (std::size_t i = std::size_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += stride)
        y[i] = x[i] + bias[(i / plane) % std::size_t(channels)];
}

// One block per channel: the samples in order, each plane a block-strided sum.
__global__ void __launch_bounds__(kThreads)
bias_grad_kernel(float* db, const float* dy, int n, int channels, long long plane) {
    __shared__ double scratch[kThreads];
    const int c = blockIdx.x;
    double acc = 0;
    for (int s = 0; s < n; ++s) {
        const float* p = dy + ((long long)s * channels + c) * plane;
        for (long long i = threadIdx.x; i < plane; i += kThreads) acc += double(p[i]);
    }
    const double total = block_sum(acc, scratch);
    if (threadIdx.x == 0) db[c] = float(double(db[c]) + total);
}

}  // namespace

void bias_add_batched(float* y, const float* x, const float* bias, int n, int channels, std::size_t plane,
                      cudaStream_t stream) {
    const std::size_t total = std::size_t(n) * std::size_t(channels) * plane;
    if (total == 0) return;
    bias_add_batched_kernel<<<elementwise_blocks(total), kThreads, 0, stream>>>(y, x, bias, channels, plane, total);
    NST_CUDA_CHECK(cudaGetLastError());
}

void bias_grad(float* db, const float* dy, int n, int channels, std::size_t plane, cudaStream_t stream) {
    if (n <= 0 || channels <= 0 || plane == 0) return;
    bias_grad_kernel<<<channels, kThreads, 0, stream>>>(db, dy, n, channels, (long long)plane);
    NST_CUDA_CHECK(cudaGetLastError());
}

}  // namespace nst::kernels
