// SPDX-License-Identifier: MIT
// Padding, upsampling, cropped add and tanh kernels (see resample.h): one thread per output
// element of each pass, grid-stride loops.
#include "kernels/resample.h"

#include "cuda/check.h"
#include "kernels/common.cuh"

namespace nst::kernels {

namespace {

// The source index along one axis of a padded coordinate t = o - pad (torch's
// ReflectionPad2d: -1 -> 1, n -> n - 2), or -1 in a zero padding.
__device__ __forceinline__ int source_index(int t, int n, bool reflect) {
    if (t >= 0 && t < n) return t;
    if (!reflect) return -1;
    return t < 0 ? -t : 2 * (n - 1) - t;
}

__global__ void pad_forward_kernel(float* y, const float* x, int h, int w, int pad, bool reflect,
                                   std::size_t total) {
    const int ph = h + 2 * pad, pw = w + 2 * pad;
    const std::size_t stride = std::size_t(gridDim.x) * blockDim.x;
    for (std::size_t i = std::size_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += stride) {
        const auto [p, oy, ox] = plane_pos(i, ph, pw);
        const int sy = source_index(oy - pad, h, reflect), sx = source_index(ox - pad, w, reflect);
        y[i] = (sy < 0 || sx < 0) ? 0.f : x[(p * h + sy) * w + sx];
    }
}

// The padded coordinates along one axis that read input index i, ascending (at most three:
// the left mirror, the copy itself, the right mirror); returns how many.
__device__ __forceinline__ int pad_sources(int i, int n, int pad, bool reflect, int* o) {
    int k = 0;
    if (reflect && i >= 1 && i <= pad) o[k++] = pad - i;
    o[k++] = i + pad;
    if (reflect && i >= n - 1 - pad && i <= n - 2) o[k++] = pad + 2 * (n - 1) - i;
    return k;
}

__global__ void pad_backward_kernel(float* dx, const float* dy, int h, int w, int pad, bool reflect,
                                    std::size_t total) {
    const int ph = h + 2 * pad, pw = w + 2 * pad;
    const std::size_t stride = std::size_t(gridDim.x) * blockDim.x;
    for (std::size_t i = std::size_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += stride) {
        const auto [p, yy, xx] = plane_pos(i, h, w);
        int oy[3], ox[3];
        const int ny = pad_sources(yy, h, pad, reflect, oy), nx = pad_sources(xx, w, pad, reflect, ox);
        const float* plane = dy + p * ph * pw;
        // Row-major order of the padded positions, as a scatter over dy would add them.
        float acc = 0.f;
        for (int a = 0; a < ny; ++a)
            for (int b = 0; b < nx; ++b) acc += plane[std::size_t(oy[a]) * pw + ox[b]];
        dx[i] = acc;
    }
}

__global__ void upsample_forward_kernel(float* y, const float* x, int h, int w, int f, std::size_t total) {
    const int oh = h * f, ow = w * f;
    const std::size_t stride = std::size_t(gridDim.x) * blockDim.x;
    for (std::size_t i = std::size_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += stride) {
        const auto [p, oy, ox] = plane_pos(i, oh, ow);
        y[i] = x[(p * h + oy / f) * w + ox / f];
    }
}

__global__ void upsample_backward_kernel(float* dx, const float* dy, int h, int w, int f, std::size_t total) {
    const int ow = w * f;
    const std::size_t stride = std::size_t(gridDim.x) * blockDim.x;
    for (std::size_t i = std::size_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += stride) {
        const auto [p, yy, xx] = plane_pos(i, h, w);
        const float* block = dy + (p * h * f + std::size_t(yy) * f) * ow + std::size_t(xx) * f;
        float acc = 0.f;
        for (int a = 0; a < f; ++a)
            for (int b = 0; b < f; ++b) acc += block[std::size_t(a) * ow + b];
        dx[i] = acc;
    }
}

__global__ void add_cropped_forward_kernel(float* y, const float* x, const float* s, int h, int w, int sh, int sw,
                                           std::size_t total) {
    const int top = (sh - h) / 2, left = (sw - w) / 2;
    const std::size_t stride = std::size_t(gridDim.x) * blockDim.x;
    for (std::size_t i = std::size_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += stride) {
        const auto [p, yy, xx] = plane_pos(i, h, w);
        y[i] = x[i] + s[(p * sh + yy + top) * sw + xx + left];
    }
}

__global__ void add_cropped_backward_kernel(float* ds, const float* dy, int h, int w, int sh, int sw,
                                            std::size_t total) {
    const int top = (sh - h) / 2, left = (sw - w) / 2;
    const std::size_t stride = std::size_t(gridDim.x) * blockDim.x;
    for (std::size_t i = std::size_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += stride) {
        const auto [p, yy, xx] = plane_pos(i, h, w);
        float& d = ds[(p * sh + yy + top) * sw + xx + left];
        d = d + dy[i];
    }
}

__global__ void tanh_forward_kernel(float* y, const float* x, std::size_t n, float scale) {
    const std::size_t stride = std::size_t(gridDim.x) * blockDim.x;
    for (std::size_t i = std::size_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride)
        y[i] = __fmul_rn(scale, tanhf(x[i]));
}

__global__ void tanh_backward_kernel(float* dx, const float* dy, const float* y, std::size_t n, float scale) {
    const std::size_t stride = std::size_t(gridDim.x) * blockDim.x;
    for (std::size_t i = std::size_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
        const float yi = y[i];
        dx[i] = __fmul_rn(dy[i], __fsub_rn(scale, __fdiv_rn(__fmul_rn(yi, yi), scale)));
    }
}

}  // namespace

void pad_forward(float* y, const float* x, int planes, int h, int w, int pad, bool reflect, cudaStream_t stream) {
    const std::size_t total = std::size_t(planes) * (h + 2 * pad) * (w + 2 * pad);
    if (total == 0) return;
    pad_forward_kernel<<<elementwise_blocks(total), kThreads, 0, stream>>>(y, x, h, w, pad, reflect, total);
    NST_CUDA_CHECK(cudaGetLastError());
}

void pad_backward(float* dx, const float* dy, int planes, int h, int w, int pad, bool reflect, cudaStream_t stream) {
    const std::size_t total = std::size_t(planes) * h * w;
    if (total == 0) return;
    pad_backward_kernel<<<elementwise_blocks(total), kThreads, 0, stream>>>(dx, dy, h, w, pad, reflect, total);
    NST_CUDA_CHECK(cudaGetLastError());
}

void upsample_nearest_forward(float* y, const float* x, int planes, int h, int w, int factor, cudaStream_t stream) {
    const std::size_t total = std::size_t(planes) * h * factor * w * factor;
    if (total == 0) return;
    upsample_forward_kernel<<<elementwise_blocks(total), kThreads, 0, stream>>>(y, x, h, w, factor, total);
    NST_CUDA_CHECK(cudaGetLastError());
}

void upsample_nearest_backward(float* dx, const float* dy, int planes, int h, int w, int factor,
                               cudaStream_t stream) {
    const std::size_t total = std::size_t(planes) * h * w;
    if (total == 0) return;
    upsample_backward_kernel<<<elementwise_blocks(total), kThreads, 0, stream>>>(dx, dy, h, w, factor, total);
    NST_CUDA_CHECK(cudaGetLastError());
}

void add_cropped_forward(float* y, const float* x, const float* s, int planes, int h, int w, int sh, int sw,
                         cudaStream_t stream) {
    const std::size_t total = std::size_t(planes) * h * w;
    if (total == 0) return;
    add_cropped_forward_kernel<<<elementwise_blocks(total), kThreads, 0, stream>>>(y, x, s, h, w, sh, sw, total);
    NST_CUDA_CHECK(cudaGetLastError());
}

void add_cropped_backward_source(float* ds, const float* dy, int planes, int h, int w, int sh, int sw,
                                 cudaStream_t stream) {
    const std::size_t total = std::size_t(planes) * h * w;
    if (total == 0) return;
    add_cropped_backward_kernel<<<elementwise_blocks(total), kThreads, 0, stream>>>(ds, dy, h, w, sh, sw, total);
    NST_CUDA_CHECK(cudaGetLastError());
}

void tanh_forward(float* y, const float* x, std::size_t n, double scale, cudaStream_t stream) {
    if (n == 0) return;
    tanh_forward_kernel<<<elementwise_blocks(n), kThreads, 0, stream>>>(y, x, n, float(scale));
    NST_CUDA_CHECK(cudaGetLastError());
}

void tanh_backward(float* dx, const float* dy, const float* y, std::size_t n, double scale, cudaStream_t stream) {
    if (n == 0) return;
    tanh_backward_kernel<<<elementwise_blocks(n), kThreads, 0, stream>>>(dx, dy, y, n, float(scale));
    NST_CUDA_CHECK(cudaGetLastError());
}

}  // namespace nst::kernels
