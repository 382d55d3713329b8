// SPDX-License-Identifier: MIT
// Content loss kernel (see content_loss.h): a fixed-order reduction (kernels/common.cuh) whose
// threads also add their elements' gradient, so the features are read once. The difference
// and the gradient are formed in double, as the CPU twin does.
#include "kernels/content_loss.h"

#include "cuda/check.h"
#include "kernels/common.cuh"

namespace nst::kernels {

namespace {

__global__ void __launch_bounds__(kThreads)
content_loss_kernel(const float* __restrict__ f, const float* __restrict__ p, long long n, double two_scale,
                    float* __restrict__ df, double* __restrict__ partials) {
    __shared__ double scratch[kThreads];
    long long begin, end;
    block_slice(n, int(blockIdx.x), int(gridDim.x), begin, end);
    double acc = 0;
    for (long long i = begin + threadIdx.x; i < end; i += kThreads) {
        const double e = double(f[i]) - double(p[i]);
        if (df) df[i] += float(two_scale * e);  // += : several losses may share one tap
        acc += e * e;
    }
    const double s = block_sum(acc, scratch);
    if (threadIdx.x == 0) partials[blockIdx.x] = s;
}

}  // namespace

int content_loss_partials(std::size_t n) { return reduce_blocks(n); }

void content_loss(const float* f, const float* p, std::size_t n, double two_scale, float* df, double* partials,
                  cudaStream_t stream) {
    content_loss_kernel<<<reduce_blocks(n), kThreads, 0, stream>>>(f, p, (long long)n, two_scale, df, partials);
    NST_CUDA_CHECK(cudaGetLastError());
}

}  // namespace nst::kernels
