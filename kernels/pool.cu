// SPDX-License-Identifier: MIT
// 2x2 pooling kernels: one thread per output element forward, one per input element backward.
#include "kernels/pool.h"

#include <cstddef>

#include "cuda/check.h"
#include "kernels/common.cuh"

namespace nst::kernels {

namespace {

// std::max(a, b) of the CPU: b only when a < b, so a NaN in `a` survives and ties keep a.
__device__ __forceinline__ float std_max(float a, float b) { return a < b ? b : a; }

template <bool kMax>
__global__ void pool_forward_kernel(float* y, const float* x, int h, int w, int oh, int ow, std::size_t total) {
    const std::size_t stride = std::size_t(gridDim.x) * blockDim.x;
    for (std::size_t i = std::size_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += stride) {
        const auto [c, oy, ox] = plane_pos(i, oh, ow);
        const float* r0 = x + (c * h + 2 * oy) * w + 2 * ox;
        const float* r1 = r0 + w;
        if (kMax)
            y[i] = std_max(std_max(r0[0], r0[1]), std_max(r1[0], r1[1]));
        else
            y[i] = 0.25f * ((r0[0] + r0[1]) + (r1[0] + r1[1]));
    }
}

template <bool kMax>
__global__ void pool_backward_kernel(float* dx, const float* dy, const float* x, int h, int w, int oh, int ow,
                                     std::size_t total) {
    const std::size_t stride = std::size_t(gridDim.x) * blockDim.x;
    for (std::size_t i = std::size_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += stride) {
        const auto [c, yy, xx] = plane_pos(i, h, w);
        const int oy = yy / 2, ox = xx / 2;
        if (oy >= oh || ox >= ow) {  // the last row or column of an odd size
            dx[i] = 0.f;
            continue;
        }
        const float g = dy[(c * oh + oy) * ow + ox];
        if (!kMax) {
            dx[i] = 0.25f * g;
            continue;
        }
        // The window's first maximum in row-major order (a, b / c, d) takes the gradient, with
        // the CPU's rule: a wins ties with everything, b beats a strictly, c beats a and b
        // strictly, d beats all three strictly.
        const float* r0 = x + (c * h + 2 * oy) * w + 2 * ox;
        const float* r1 = r0 + w;
        const float a = r0[0], b = r0[1], cc = r1[0], d = r1[1];
        const bool take_d = d > a && d > b && d > cc;
        const bool take_c = !take_d && cc > a && cc > b;
        const bool take_b = !take_d && !take_c && b > a;
        const bool take_a = !take_d && !take_c && !take_b;
        const int pos = (yy & 1) * 2 + (xx & 1);  // 0 a, 1 b, 2 c, 3 d
        const bool mine = pos == 0 ? take_a : pos == 1 ? take_b : pos == 2 ? take_c : take_d;
        dx[i] = mine ? g : 0.f;
    }
}

}  // namespace

void pool2x2_forward(float* y, const float* x, int channels, int h, int w, Pooling kind, cudaStream_t stream) {
    const int oh = h / 2, ow = w / 2;
    const std::size_t total = std::size_t(channels) * oh * ow;
    if (total == 0) return;
    if (kind == Pooling::Max)
        pool_forward_kernel<true><<<elementwise_blocks(total), kThreads, 0, stream>>>(y, x, h, w, oh, ow, total);
    else
        pool_forward_kernel<false><<<elementwise_blocks(total), kThreads, 0, stream>>>(y, x, h, w, oh, ow, total);
    NST_CUDA_CHECK(cudaGetLastError());
}

void pool2x2_backward(float* dx, const float* dy, const float* x, int channels, int h, int w, Pooling kind,
                      cudaStream_t stream) {
    const int oh = h / 2, ow = w / 2;
    const std::size_t total = std::size_t(channels) * h * w;
    if (total == 0) return;
    if (kind == Pooling::Max)
        pool_backward_kernel<true><<<elementwise_blocks(total), kThreads, 0, stream>>>(dx, dy, x, h, w, oh, ow, total);
    else
        pool_backward_kernel<false><<<elementwise_blocks(total), kThreads, 0, stream>>>(dx, dy, x, h, w, oh, ow, total);
    NST_CUDA_CHECK(cudaGetLastError());
}

}  // namespace nst::kernels
