// SPDX-License-Identifier: MIT
// WCT's centring and shift (see wct.h).
#include "kernels/wct.h"

#include "core/error.h"
#include "cuda/check.h"
#include "kernels/common.cuh"

namespace nst::kernels {

namespace {

__global__ void __launch_bounds__(kThreads)
wct_center_kernel(float* centred, double* mean, const float* x, long long plane) {
    __shared__ double scratch[kThreads];
    const float* xp = x + (long long)blockIdx.x * plane;
    float* cp = centred + (long long)blockIdx.x * plane;
    double s = 0;
    for (long long i = threadIdx.x; i < plane; i += kThreads) s += double(xp[i]);
    // block_sum synchronises, so every read of the plane is done before a write when aliased.
    const double m = block_sum(s, scratch) / double(plane);
    if (threadIdx.x == 0) mean[blockIdx.x] = m;
    for (long long i = threadIdx.x; i < plane; i += kThreads) cp[i] = float(double(xp[i]) - m);
}

__global__ void __launch_bounds__(kThreads)
wct_shift_kernel(float* y, const float* shift, std::size_t n, std::size_t plane) {
    for (std::size_t i = std::size_t(blockIdx.x) * kThreads + threadIdx.x; i < n; i += std::size_t(gridDim.x) * kThreads)
        y[i] = y[i] + shift[i / plane];
}

}  // namespace

void wct_center(float* centred, double* mean, const float* x, int planes, std::size_t plane, cudaStream_t stream) {
    if (planes <= 0 || plane == 0) return;
    wct_center_kernel<<<planes, kThreads, 0, stream>>>(centred, mean, x, (long long)plane);
    NST_CUDA_CHECK(cudaGetLastError());
}

void wct_shift(float* y, const float* shift, int planes, std::size_t plane, cudaStream_t stream) {
    const std::size_t n = std::size_t(planes > 0 ? planes : 0) * plane;
    if (n == 0) return;
    wct_shift_kernel<<<elementwise_blocks(n), kThreads, 0, stream>>>(y, shift, n, plane);
    NST_CUDA_CHECK(cudaGetLastError());
}

}  // namespace nst::kernels
