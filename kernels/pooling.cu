// SPDX-License-Identifier: MIT
// Generic pooling kernels (see pooling.h): one thread per output element forward, one per input
// element backward.
#include "kernels/pooling.h"

#include <cstddef>

#include "cuda/check.h"
#include "kernels/common.cuh"

namespace nst::kernels {

namespace {

// The part of window (oy, ox) inside the input: rows [y0, y1), columns [x0, x1).
struct Window {
    int y0, y1, x0, x1;
};

__device__ __forceinline__ Window window(int oy, int ox, int h, int w, int k, int s) {
    const int y0 = oy * s, x0 = ox * s;
    return Window{y0, min(y0 + k, h), x0, min(x0 + k, w)};
}

// Index (in the plane) of the window's first maximum in row-major order: a later element
// replaces it only when strictly greater (the CPU's std::max rule; a NaN first stays).
__device__ __forceinline__ int first_max(const float* plane, int w, const Window& win) {
    int best = win.y0 * w + win.x0;
    float m = plane[best];
    for (int y = win.y0; y < win.y1; ++y)
        for (int x = win.x0; x < win.x1; ++x) {
            const float v = plane[y * w + x];
            if (m < v) {
                m = v;
                best = y * w + x;
            }
        }
    return best;
}

template <bool kMax>
__global__ void pool2d_forward_kernel(float* y, const float* x, int h, int w, int oh, int ow, int k, int s,
                                      std::size_t total) {
    const std::size_t stride = std::size_t(gridDim.x) * blockDim.x;
    for (std::size_t i = std::size_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += stride) {
        const auto [p, oy, ox] = plane_pos(i, oh, ow);
        const float* plane = x + p * h * w;
        const Window win = window(oy, ox, h, w, k, s);
        if (kMax) {
            y[i] = plane[first_max(plane, w, win)];
        } else {
            float acc = 0.f;
            for (int yy = win.y0; yy < win.y1; ++yy)
                for (int xx = win.x0; xx < win.x1; ++xx) acc += plane[yy * w + xx];
            y[i] = acc / float((win.y1 - win.y0) * (win.x1 - win.x0));
        }
    }
}

template <bool kMax>
__global__ void pool2d_backward_kernel(float* dx, const float* dy, const float* x, int h, int w, int oh, int ow,
                                       int k, int s, std::size_t total) {
    const std::size_t stride = std::size_t(gridDim.x) * blockDim.x;
    for (std::size_t i = std::size_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += stride) {
        const auto [p, yy, xx] = plane_pos(i, h, w);
        const float* plane = x + p * h * w;
        const float* g = dy + p * oh * ow;
        // Windows oy with oy s <= yy < oy s + k, likewise ox; ascending.
        const int oy0 = yy >= k ? (yy - k) / s + 1 : 0, oy1 = min(oh - 1, yy / s);
        const int ox0 = xx >= k ? (xx - k) / s + 1 : 0, ox1 = min(ow - 1, xx / s);
        float acc = 0.f;
        for (int oy = oy0; oy <= oy1; ++oy)
            for (int ox = ox0; ox <= ox1; ++ox) {
                const Window win = window(oy, ox, h, w, k, s);
                const float go = g[oy * ow + ox];
                if (kMax) {
                    if (first_max(plane, w, win) == yy * w + xx) acc += go;
                } else {
                    acc += go / float((win.y1 - win.y0) * (win.x1 - win.x0));
                }
            }
        dx[i] = acc;
    }
}

}  // namespace

void pool2d_forward(float* y, const float* x, int planes, int h, int w, int oh, int ow, int kernel, int stride,
                    Pooling kind, cudaStream_t stream) {
    const std::size_t total = std::size_t(planes) * oh * ow;
    if (total == 0) return;
    if (kind == Pooling::Max)
        pool2d_forward_kernel<true><<<elementwise_blocks(total), kThreads, 0, stream>>>(y, x, h, w, oh, ow, kernel,
                                                                                      stride, total);
    else
        pool2d_forward_kernel<false><<<elementwise_blocks(total), kThreads, 0, stream>>>(y, x, h, w, oh, ow, kernel,
                                                                                       stride, total);
    NST_CUDA_CHECK(cudaGetLastError());
}

void pool2d_backward(float* dx, const float* dy, const float* x, int planes, int h, int w, int oh, int ow, int kernel,
                     int stride, Pooling kind, cudaStream_t stream) {
    const std::size_t total = std::size_t(planes) * h * w;
    if (total == 0) return;
    if (kind == Pooling::Max)
        pool2d_backward_kernel<true><<<elementwise_blocks(total), kThreads, 0, stream>>>(dx, dy, x, h, w, oh, ow,
                                                                                       kernel, stride, total);
    else
        pool2d_backward_kernel<false><<<elementwise_blocks(total), kThreads, 0, stream>>>(dx, dy, x, h, w, oh, ow,
                                                                                        kernel, stride, total);
    NST_CUDA_CHECK(cudaGetLastError());
}

}  // namespace nst::kernels
