// SPDX-License-Identifier: MIT
// Total variation kernel (see tv_loss.h). One thread per element of x in a fixed-order
// reduction (kernels/common.cuh): the element's own differences a = x_{i,j} - x_{i,j+1},
// b = x_{i,j} - x_{i+1,j} enter the value where both exist (i < H-1 and j < W-1), and its
// gradient gathers a + b minus the left neighbour's a and the upper neighbour's b, each where
// that neighbour counts:
//   dL/dx_{i,j} = scale * [a_{i,j} + b_{i,j} - a_{i,j-1} - b_{i-1,j}]
// All in double, as the CPU twin.
#include "kernels/tv_loss.h"

#include "cuda/check.h"
#include "kernels/common.cuh"

namespace nst::kernels {

namespace {

__global__ void __launch_bounds__(kThreads)
tv_loss_kernel(const float* __restrict__ x, long long n, int h, int w, double scale, float* __restrict__ dx,
               double* __restrict__ partials) {
    __shared__ double scratch[kThreads];
    long long begin, end;
    block_slice(n, int(blockIdx.x), int(gridDim.x), begin, end);
    double acc = 0;
    for (long long e = begin + threadIdx.x; e < end; e += kThreads) {
        const long long r = e / w;          // row over all planes
        const int j = int(e - r * w);
        const int i = int(r % h);           // row within the plane
        const double v = double(x[e]);
        const bool down = i + 1 < h, right = j + 1 < w;
        double g = 0;
        if (down && right) {
            const double a = v - double(x[e + 1]);
            const double b = v - double(x[e + w]);
            acc += a * a + b * b;
            g += a + b;
        }
        if (dx) {
            if (down && j > 0) g -= double(x[e - 1]) - v;   // left neighbour's a
            if (i > 0 && right) g -= double(x[e - w]) - v;  // upper neighbour's b
            dx[e] += float(scale * g);
        }
    }
    const double s = block_sum(acc, scratch);
    if (threadIdx.x == 0) partials[blockIdx.x] = s;
}

__device__ double sign_of(double d) { return d > 0 ? 1.0 : (d < 0 ? -1.0 : 0.0); }

// One thread per element: its right and lower differences enter the value, and its gradient
// gathers -sign of those plus +sign of the left and upper neighbours' (cpu::tv_l1_loss's order).
__global__ void __launch_bounds__(kThreads)
tv_l1_loss_kernel(const float* __restrict__ x, long long n, int h, int w, double scale, float* __restrict__ dx,
                  double* __restrict__ partials) {
    __shared__ double scratch[kThreads];
    long long begin, end;
    block_slice(n, int(blockIdx.x), int(gridDim.x), begin, end);
    double acc = 0;
    for (long long e = begin + threadIdx.x; e < end; e += kThreads) {
        const long long r = e / w;
        const int j = int(e - r * w);
        const int i = int(r % h);
        const double v = double(x[e]);
        double g = 0;
        if (j + 1 < w) {
            const double d = double(x[e + 1]) - v;
            acc += fabs(d);
            g -= sign_of(d);
        }
        if (i + 1 < h) {
            const double d = double(x[e + w]) - v;
            acc += fabs(d);
            g -= sign_of(d);
        }
        if (dx) {
            if (j > 0) g += sign_of(v - double(x[e - 1]));
            if (i > 0) g += sign_of(v - double(x[e - w]));
            dx[e] += float(scale * g);
        }
    }
    const double s = block_sum(acc, scratch);
    if (threadIdx.x == 0) partials[blockIdx.x] = s;
}

std::size_t elements(int planes, int h, int w) { return std::size_t(planes) * std::size_t(h) * std::size_t(w); }

}  // namespace

int tv_l1_loss_partials(int planes, int h, int w) {
    if (planes <= 0 || h <= 0 || w <= 0 || (h < 2 && w < 2)) return 0;
    return reduce_blocks(elements(planes, h, w));
}

void tv_l1_loss(const float* x, int planes, int h, int w, double scale, float* dx, double* partials,
                cudaStream_t stream) {
    const int blocks = tv_l1_loss_partials(planes, h, w);
    if (blocks == 0) return;
    tv_l1_loss_kernel<<<blocks, kThreads, 0, stream>>>(x, (long long)elements(planes, h, w), h, w, scale, dx, partials);
    NST_CUDA_CHECK(cudaGetLastError());
}

int tv_loss_partials(int planes, int h, int w) {
    if (h < 2 || w < 2 || planes <= 0) return 0;
    return reduce_blocks(elements(planes, h, w));
}

void tv_loss(const float* x, int planes, int h, int w, double scale, float* dx, double* partials,
             cudaStream_t stream) {
    const int blocks = tv_loss_partials(planes, h, w);
    if (blocks == 0) return;
    tv_loss_kernel<<<blocks, kThreads, 0, stream>>>(x, (long long)elements(planes, h, w), h, w, scale, dx, partials);
    NST_CUDA_CHECK(cudaGetLastError());
}

}  // namespace nst::kernels
