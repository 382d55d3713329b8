// SPDX-License-Identifier: MIT
// Temporal loss kernel (see temporal_loss.h). One thread per element of x in a fixed-order
// reduction (kernels/common.cuh); for element k of channel c at pixel p it loops over the
// targets in order, in double as the CPU twin:
//   g = sum_j c_j[p] (x_k - w_j[k]),  sq = sum_j c_j[p] (x_k - w_j[k])^2
//   value += s_c sq,  dx_k += float(2 s_c g)
#include "kernels/temporal_loss.h"

#include "core/error.h"
#include "cuda/check.h"
#include "kernels/common.cuh"

namespace nst::kernels {

namespace {

__global__ void __launch_bounds__(kThreads)
temporal_loss_kernel(const float* __restrict__ x, long long n, long long plane, TemporalTargets t,
                     float* __restrict__ dx, double* __restrict__ partials) {
    __shared__ double scratch[kThreads];
    long long begin, end;
    block_slice(n, int(blockIdx.x), int(gridDim.x), begin, end);
    double acc = 0;
    for (long long e = begin + threadIdx.x; e < end; e += kThreads) {
        const int c = int(e / plane);
        const long long p = e - c * plane;  // pixel within the plane: index into the weight maps
        const double s = t.channel_scale[c];
        const double v = double(x[e]);
        double g = 0, sq = 0;
        for (int j = 0; j < t.count; ++j) {
            const double cw = double(t.weight[j][p]);
            const double d = v - double(t.warped[j][e]);
            g += cw * d;
            sq += cw * d * d;
        }
        acc += s * sq;
        if (dx) dx[e] += float(2 * s * g);
    }
    const double r = block_sum(acc, scratch);
    if (threadIdx.x == 0) partials[blockIdx.x] = r;
}

std::size_t elements(int channels, int h, int w) {
    return std::size_t(channels) * std::size_t(h) * std::size_t(w);
}

}  // namespace

int temporal_loss_partials(int channels, int h, int w, int targets) {
    if (channels <= 0 || h <= 0 || w <= 0 || targets <= 0) return 0;
    return reduce_blocks(elements(channels, h, w));
}

void temporal_loss(const float* x, int channels, int h, int w, const TemporalTargets& targets, float* dx,
                   double* partials, cudaStream_t stream) {
    NST_REQUIRE(targets.count >= 0 && targets.count <= kMaxTemporalTargets,
                "temporal_loss: at most 8 previous frames");
    NST_REQUIRE(channels <= kMaxTemporalChannels, "temporal_loss: at most 4 channels");
    const int blocks = temporal_loss_partials(channels, h, w, targets.count);
    if (blocks == 0) return;
    temporal_loss_kernel<<<blocks, kThreads, 0, stream>>>(x, (long long)elements(channels, h, w),
                                                          (long long)h * w, targets, dx, partials);
    NST_CUDA_CHECK(cudaGetLastError());
}

}  // namespace nst::kernels
