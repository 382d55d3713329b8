// SPDX-License-Identifier: MIT
// Content loss kernel (see content_loss.h): a fixed-order reduction (kernels/common.cuh) whose
// threads also add their elements' gradient, so the features are read once. content_loss_rows
// is the same loop over a row range of strided maps (tiled evaluation, loss/tiling.h). The difference
// and the gradient are formed in double, as the CPU twin does.
#include "kernels/content_loss.h"

#include "core/error.h"
#include "cuda/check.h"
#include "kernels/common.cuh"

namespace nst::kernels {

namespace {

// Rows: element i of the C x columns range is (c, k) = (i / columns, i % columns), at c * ld_f + k
// in f and df and c * ld_p + k in p; otherwise all three are contiguous (the whole map).
template <bool Rows>
__global__ void __launch_bounds__(kThreads)
content_loss_kernel(const float* __restrict__ f, long long ld_f, const float* __restrict__ p, long long ld_p,
                    long long columns, long long n, double two_scale, float* __restrict__ df,
                    double* __restrict__ partials) {
    __shared__ double scratch[kThreads];
    long long begin, end;
    block_slice(n, int(blockIdx.x), int(gridDim.x), begin, end);
    double acc = 0;
    for (long long i = begin + threadIdx.x; i < end; i += kThreads) {
        long long fi = i, pi = i;
        if (Rows) {
            const long long c = i / columns, k = i - c * columns;
            fi = c * ld_f + k;
            pi = c * ld_p + k;
        }
        const double e = double(f[fi]) - double(p[pi]);
        if (df) df[fi] += float(two_scale * e);  // += : several losses may share one tap
        acc += e * e;
    }
    const double s = block_sum(acc, scratch);
    if (threadIdx.x == 0) partials[blockIdx.x] = s;
}

}  // namespace

int content_loss_partials(std::size_t n) { return reduce_blocks(n); }

void content_loss(const float* f, const float* p, std::size_t n, double two_scale, float* df, double* partials,
                  cudaStream_t stream) {
    content_loss_kernel<false><<<reduce_blocks(n), kThreads, 0, stream>>>(f, 0, p, 0, 0, (long long)n, two_scale, df,
                                                                          partials);
    NST_CUDA_CHECK(cudaGetLastError());
}

void content_loss_rows(const float* f, long long ld_f, const float* p, long long ld_p, int channels,
                       long long columns, double two_scale, float* df, int blocks, double* partials,
                       cudaStream_t stream) {
    NST_REQUIRE(channels > 0 && columns > 0 && ld_f >= columns && ld_p >= columns,
                "content_loss_rows: bad column range");
    NST_REQUIRE(blocks >= 1 && blocks <= kMaxPartials, "content_loss_rows: bad partial count");
    const long long n = (long long)channels * columns;
    content_loss_kernel<true>
        <<<blocks, kThreads, 0, stream>>>(f, ld_f, p, ld_p, columns, n, two_scale, df, partials);
    NST_CUDA_CHECK(cudaGetLastError());
}

}  // namespace nst::kernels
