// SPDX-License-Identifier: MIT
// float <-> bf16 kernels (see cast.h). The epilogues use the same selects as bias_relu.cu so
// that the bf16 path differs from the float one only by the bf16 roundings.
#include "kernels/cast.h"

#include <algorithm>

#include "cuda/check.h"
#include "kernels/common.cuh"

namespace nst::kernels {

namespace {

constexpr int kBiasTargetBlocks = 4096;  // as in bias_relu.cu: grid size of the per-channel kernel

__global__ void float_to_bf16_kernel(__nv_bfloat16* y, const float* x, std::size_t n) {
    const std::size_t stride = std::size_t(gridDim.x) * blockDim.x;
    for (std::size_t i = std::size_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride)
        y[i] = __float2bfloat16_rn(x[i]);
}

__global__ void bf16_to_float_kernel(float* y, const __nv_bfloat16* x, std::size_t n) {
    const std::size_t stride = std::size_t(gridDim.x) * blockDim.x;
    for (std::size_t i = std::size_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride)
        y[i] = __bfloat162float(x[i]);
}

// grid.y = channel.
__global__ void bf16_bias_act_kernel(float* y, const __nv_bfloat16* x, const float* bias, std::size_t plane,
                                     bool relu) {
    const std::size_t base = std::size_t(blockIdx.y) * plane;
    const float b = bias[blockIdx.y];
    const std::size_t stride = std::size_t(gridDim.x) * blockDim.x;
    for (std::size_t i = std::size_t(blockIdx.x) * blockDim.x + threadIdx.x; i < plane; i += stride) {
        const float v = __bfloat162float(x[base + i]) + b;
        y[base + i] = relu ? (v > 0.f ? v : 0.f) : v;
    }
}

__global__ void bf16_masked_kernel(float* y, const __nv_bfloat16* x, const float* mask, std::size_t n) {
    const std::size_t stride = std::size_t(gridDim.x) * blockDim.x;
    for (std::size_t i = std::size_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride)
        y[i] = mask[i] > 0.f ? __bfloat162float(x[i]) : 0.f;
}

}  // namespace

void float_to_bf16(__nv_bfloat16* y, const float* x, std::size_t n, cudaStream_t stream) {
    if (n == 0) return;
    float_to_bf16_kernel<<<elementwise_blocks(n), kThreads, 0, stream>>>(y, x, n);
    NST_CUDA_CHECK(cudaGetLastError());
}

void bf16_to_float(float* y, const __nv_bfloat16* x, std::size_t n, cudaStream_t stream) {
    if (n == 0) return;
    bf16_to_float_kernel<<<elementwise_blocks(n), kThreads, 0, stream>>>(y, x, n);
    NST_CUDA_CHECK(cudaGetLastError());
}

void bf16_to_float_bias_act(float* y, const __nv_bfloat16* x, const float* bias, int channels, std::size_t plane,
                            bool relu, cudaStream_t stream) {
    if (channels <= 0 || plane == 0) return;
    const int per_channel = std::max(1, std::min(elementwise_blocks(plane), kBiasTargetBlocks / channels));
    bf16_bias_act_kernel<<<dim3(per_channel, channels), kThreads, 0, stream>>>(y, x, bias, plane, relu);
    NST_CUDA_CHECK(cudaGetLastError());
}

void bf16_to_float_masked(float* y, const __nv_bfloat16* x, const float* mask, std::size_t n, cudaStream_t stream) {
    if (n == 0) return;
    bf16_masked_kernel<<<elementwise_blocks(n), kThreads, 0, stream>>>(y, x, mask, n);
    NST_CUDA_CHECK(cudaGetLastError());
}

}  // namespace nst::kernels
