// SPDX-License-Identifier: MIT
// Region AdaIN kernel (see adain_regions.h): one block per channel. The per-region sums are
// taken one region at a time (a thread adds only the pixels with that label), so each is a
// fixed-order block sum like kernels/adain.cu's per-plane statistics; K <= 8 regions read the
// channel 2K times, which at relu4_1's sizes is small next to the decoder.
#include "kernels/adain_regions.h"

#include "core/error.h"
#include "cuda/check.h"
#include "kernels/common.cuh"

namespace nst::kernels {

namespace {

constexpr double kContentEps = 1e-5;

__global__ void __launch_bounds__(kThreads)
adain_regions_kernel(float* y, const float* content, const std::int32_t* labels, const float* style_mean,
                     const float* style_sigma, AdainRegionCounts counts, double alpha, int channels,
                     long long plane, bool unbiased) {
    __shared__ double scratch[kThreads];
    const int c = blockIdx.x;
    const float* xp = content + (long long)c * plane;
    double a[kAdainMaxStyles], b[kAdainMaxStyles], mu[kAdainMaxStyles];
    for (int k = 0; k < counts.regions; ++k) {
        double s = 0;
        for (long long i = threadIdx.x; i < plane; i += kThreads)
            if (labels[i] == k) s += double(xp[i]);
        const long long n = counts.n[k];
        const double total = block_sum(s, scratch);  // every thread calls it: it synchronises
        mu[k] = n > 0 ? total / double(n) : 0.0;
        double q = 0;
        for (long long i = threadIdx.x; i < plane; i += kThreads)
            if (labels[i] == k) {
                const double d = double(xp[i]) - mu[k];
                q += d * d;
            }
        const double sq = block_sum(q, scratch);
        if (n > 0) {
            const double sigma = sqrt(sq / double(n - (unbiased ? 1 : 0)) + kContentEps);
            a[k] = double(style_sigma[(long long)k * channels + c]) / sigma;
            b[k] = double(style_mean[(long long)k * channels + c]);
        } else {
            a[k] = b[k] = 0;
        }
    }
    // block_sum synchronised after the last statistics: y may alias content.
    float* yp = y + (long long)c * plane;
    for (long long i = threadIdx.x; i < plane; i += kThreads) {
        const int k = labels[i];
        const double x = double(xp[i]);
        const double t = (x - mu[k]) * a[k] + b[k];
        yp[i] = float((1 - alpha) * x + alpha * t);
    }
}

}  // namespace

void adain_regions(float* y, const float* content, const std::int32_t* labels, const float* style_mean,
                   const float* style_sigma, const AdainRegionCounts& counts, double alpha, int channels,
                   std::size_t plane, bool unbiased, cudaStream_t stream) {
    if (channels <= 0 || plane == 0) return;
    NST_REQUIRE(counts.regions >= 1 && counts.regions <= kAdainMaxStyles, "adain_regions: 1 to 8 regions");
    long long total = 0;
    for (int k = 0; k < counts.regions; ++k) {
        NST_REQUIRE(!unbiased || counts.n[k] != 1, "adain_regions: a one-pixel region has no unbiased variance");
        total += counts.n[k];
    }
    NST_REQUIRE(total == (long long)plane, "adain_regions: the region counts must add up to the plane");
    adain_regions_kernel<<<channels, kThreads, 0, stream>>>(y, content, labels, style_mean, style_sigma, counts,
                                                            alpha, channels, (long long)plane, unbiased);
    NST_CUDA_CHECK(cudaGetLastError());
}

}  // namespace nst::kernels
