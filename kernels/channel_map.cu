// SPDX-License-Identifier: MIT
// Channel affine kernels (channel_map.h): one thread per pixel, all three channels. The _rn
// intrinsics keep nvcc from contracting a * x + b into an FMA.
#include "kernels/channel_map.h"

#include "core/error.h"
#include "cuda/check.h"
#include "kernels/common.cuh"

namespace nst::kernels {

namespace {

__global__ void channel_affine_kernel(float* out, const float* in, std::size_t plane, std::size_t pixels,
                                      ChannelAffine map) {
    const std::size_t stride = std::size_t(gridDim.x) * blockDim.x;
    for (std::size_t p = std::size_t(blockIdx.x) * blockDim.x + threadIdx.x; p < pixels; p += stride) {
        const std::size_t base = (p / plane) * 3 * plane + p % plane;
        for (int c = 0; c < 3; ++c)
            out[base + c * plane] = __fadd_rn(__fmul_rn(map.a[c], in[base + map.src[c] * plane]), map.b[c]);
    }
}

__global__ void channel_affine_backward_kernel(float* din, const float* g, std::size_t plane, std::size_t pixels,
                                               ChannelAffine map) {
    const std::size_t stride = std::size_t(gridDim.x) * blockDim.x;
    for (std::size_t p = std::size_t(blockIdx.x) * blockDim.x + threadIdx.x; p < pixels; p += stride) {
        const std::size_t base = (p / plane) * 3 * plane + p % plane;
        for (int c = 0; c < 3; ++c) din[base + map.src[c] * plane] = __fmul_rn(map.a[c], g[base + c * plane]);
    }
}

void check_map(const ChannelAffine& map) {
    bool seen[3] = {false, false, false};
    for (int c = 0; c < 3; ++c) {
        NST_REQUIRE(map.src[c] >= 0 && map.src[c] < 3 && !seen[map.src[c]], "channel map: src must permute 0, 1, 2");
        seen[map.src[c]] = true;
    }
}

}  // namespace

void channel_affine(float* out, const float* in, int n, std::size_t plane, const ChannelAffine& map,
                    cudaStream_t stream) {
    check_map(map);
    const std::size_t pixels = std::size_t(n > 0 ? n : 0) * plane;
    if (pixels == 0) return;
    channel_affine_kernel<<<elementwise_blocks(pixels), kThreads, 0, stream>>>(out, in, plane, pixels, map);
    NST_CUDA_CHECK(cudaGetLastError());
}

void channel_affine_backward(float* din, const float* g, int n, std::size_t plane, const ChannelAffine& map,
                             cudaStream_t stream) {
    check_map(map);
    const std::size_t pixels = std::size_t(n > 0 ? n : 0) * plane;
    if (pixels == 0) return;
    channel_affine_backward_kernel<<<elementwise_blocks(pixels), kThreads, 0, stream>>>(din, g, plane, pixels, map);
    NST_CUDA_CHECK(cudaGetLastError());
}

}  // namespace nst::kernels
