// SPDX-License-Identifier: MIT
// Bias, ReLU, ReLU backward and accumulation kernels (see bias_relu.h for the semantics).
#include "kernels/bias_relu.h"

#include <algorithm>

#include "cuda/check.h"
#include "kernels/common.cuh"

namespace nst::kernels {

namespace {

// Blocks per channel of bias_act are capped so that the whole grid stays around this size;
// each block then strides over its channel's plane.
constexpr int kBiasTargetBlocks = 4096;

__device__ __forceinline__ float relu(float v) { return v > 0.f ? v : 0.f; }

// grid.y = channel, so that the channel needs no division per element.
__global__ void bias_act_kernel(float* y, const float* x, const float* bias, std::size_t plane, bool relu_on) {
    const std::size_t base = std::size_t(blockIdx.y) * plane;
    const float b = bias[blockIdx.y];
    const std::size_t stride = std::size_t(gridDim.x) * blockDim.x;
    for (std::size_t i = std::size_t(blockIdx.x) * blockDim.x + threadIdx.x; i < plane; i += stride) {
        const float v = x[base + i] + b;
        y[base + i] = relu_on ? relu(v) : v;
    }
}

__global__ void relu_forward_kernel(float* y, const float* x, std::size_t n) {
    const std::size_t stride = std::size_t(gridDim.x) * blockDim.x;
    for (std::size_t i = std::size_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) y[i] = relu(x[i]);
}

__global__ void relu_backward_kernel(float* dx, const float* dy, const float* y, std::size_t n) {
    const std::size_t stride = std::size_t(gridDim.x) * blockDim.x;
    for (std::size_t i = std::size_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride)
        dx[i] = y[i] > 0.f ? dy[i] : 0.f;
}

__global__ void add_into_kernel(float* acc, const float* v, std::size_t n) {
    const std::size_t stride = std::size_t(gridDim.x) * blockDim.x;
    for (std::size_t i = std::size_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) acc[i] += v[i];
}

}  // namespace

void bias_act(float* y, const float* x, const float* bias, int channels, std::size_t plane, bool relu,
              cudaStream_t stream) {
    if (channels <= 0 || plane == 0) return;
    const int per_channel = std::max(1, std::min(elementwise_blocks(plane), kBiasTargetBlocks / channels));
    bias_act_kernel<<<dim3(per_channel, channels), kThreads, 0, stream>>>(y, x, bias, plane, relu);
    NST_CUDA_CHECK(cudaGetLastError());
}

void relu_forward(float* y, const float* x, std::size_t n, cudaStream_t stream) {
    if (n == 0) return;
    relu_forward_kernel<<<elementwise_blocks(n), kThreads, 0, stream>>>(y, x, n);
    NST_CUDA_CHECK(cudaGetLastError());
}

void relu_backward(float* dx, const float* dy, const float* y, std::size_t n, cudaStream_t stream) {
    if (n == 0) return;
    relu_backward_kernel<<<elementwise_blocks(n), kThreads, 0, stream>>>(dx, dy, y, n);
    NST_CUDA_CHECK(cudaGetLastError());
}

void relu_mask(float* g, const float* y, std::size_t n, cudaStream_t stream) {
    // The in-place ReLU backward: same select, so the fused and unfused paths agree bit for bit.
    relu_backward(g, g, y, n, stream);
}

void add_into(float* acc, const float* v, std::size_t n, cudaStream_t stream) {
    if (n == 0) return;
    add_into_kernel<<<elementwise_blocks(n), kThreads, 0, stream>>>(acc, v, n);
    NST_CUDA_CHECK(cudaGetLastError());
}

}  // namespace nst::kernels
