// SPDX-License-Identifier: MIT
// Box clamp kernel (box.h): one thread per value, grid-stride.
#include "kernels/box.h"

#include "cuda/check.h"
#include "kernels/common.cuh"

namespace nst::kernels {

namespace {

__global__ void clamp_to_box_kernel(float* x, std::size_t plane, std::size_t count, ChannelBox box) {
    const std::size_t stride = std::size_t(gridDim.x) * blockDim.x;
    for (std::size_t i = std::size_t(blockIdx.x) * blockDim.x + threadIdx.x; i < count; i += stride) {
        const int c = int((i / plane) % 3);
        const float v = x[i];
        // Comparisons that a NaN fails leave it in place (torch.clamp_ keeps NaN).
        x[i] = v < box.lo[c] ? box.lo[c] : (v > box.hi[c] ? box.hi[c] : v);
    }
}

}  // namespace

void clamp_to_box(float* x, int n, std::size_t plane, const ChannelBox& box, cudaStream_t stream) {
    const std::size_t count = std::size_t(n > 0 ? n : 0) * 3 * plane;
    if (count == 0) return;
    clamp_to_box_kernel<<<elementwise_blocks(count), kThreads, 0, stream>>>(x, plane, count, box);
    NST_CUDA_CHECK(cudaGetLastError());
}

}  // namespace nst::kernels
