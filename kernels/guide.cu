// SPDX-License-Identifier: MIT
// Per-position mask kernels (see guide.h): grid-stride loops over C * M elements, position
// m = i % M.
#include "kernels/guide.h"

#include <cstddef>

#include "cuda/check.h"
#include "kernels/launch.h"

namespace nst::kernels {

namespace {

__global__ void mask_multiply_kernel(float* __restrict__ x, const float* __restrict__ mask, long long positions,
                                     long long n) {
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x)
        x[i] = __fmul_rn(x[i], __ldg(mask + i % positions));
}

// f's rows are ld floats apart (ld == positions: contiguous); out is contiguous.
__global__ void guided_copy_kernel(const float* __restrict__ f, long long ld, const float* __restrict__ guide,
                                   long long positions, long long n, float* __restrict__ out) {
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x) {
        const long long c = i / positions, m = i - c * positions;
        out[i] = __fmul_rn(__ldg(f + c * ld + m), __ldg(guide + m));
    }
}

}  // namespace

void mask_multiply(float* x, const float* mask, int channels, long long positions, cudaStream_t stream) {
    const long long n = (long long)channels * positions;
    if (n <= 0) return;
    mask_multiply_kernel<<<elementwise_blocks(std::size_t(n)), kThreads, 0, stream>>>(x, mask, positions, n);
    NST_CUDA_CHECK(cudaGetLastError());
}

void guided_copy(const float* f, const float* guide, int channels, long long positions, float* out,
                 cudaStream_t stream) {
    guided_copy(f, positions, guide, channels, positions, out, stream);
}

void guided_copy(const float* f, long long ld, const float* guide, int channels, long long columns, float* out,
                 cudaStream_t stream) {
    const long long n = (long long)channels * columns;
    if (n <= 0) return;
    guided_copy_kernel<<<elementwise_blocks(std::size_t(n)), kThreads, 0, stream>>>(f, ld, guide, columns, n, out);
    NST_CUDA_CHECK(cudaGetLastError());
}

}  // namespace nst::kernels
