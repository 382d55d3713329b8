// SPDX-License-Identifier: MIT
// AdaIN kernels (see adain.h): one block per (n, c) plane. Two passes for the statistics (the
// centred second pass avoids E[x^2] - E[x]^2 cancelling on planes with a large mean); the blend
// folds the K styles into one scale and shift per plane, t = (x - mu) a + b, as the CPU twin.
#include "kernels/adain.h"

#include "core/error.h"
#include "cuda/check.h"
#include "kernels/common.cuh"

namespace nst::kernels {

namespace {

constexpr double kContentEps = 1e-5;

// Mean and sigma of one plane; every thread of the block gets them.
__device__ inline void plane_stats(const float* xp, long long plane, bool unbiased, double eps, double* scratch,
                                   double& mean, double& sigma) {
    double s = 0;
    for (long long i = threadIdx.x; i < plane; i += kThreads) s += double(xp[i]);
    mean = block_sum(s, scratch) / double(plane);
    double q = 0;
    for (long long i = threadIdx.x; i < plane; i += kThreads) {
        const double d = double(xp[i]) - mean;
        q += d * d;
    }
    sigma = sqrt(block_sum(q, scratch) / double(plane - (unbiased ? 1 : 0)) + eps);
}

__global__ void __launch_bounds__(kThreads)
adain_stats_kernel(float* mean, float* sigma, const float* x, long long plane, bool unbiased, double eps) {
    __shared__ double scratch[kThreads];
    double m, s;
    plane_stats(x + (long long)blockIdx.x * plane, plane, unbiased, eps, scratch, m, s);
    if (threadIdx.x == 0) {
        mean[blockIdx.x] = float(m);
        sigma[blockIdx.x] = float(s);
    }
}

__global__ void __launch_bounds__(kThreads)
adain_blend_kernel(float* y, const float* content, const float* style_mean, const float* style_sigma,
                   AdainWeights weights, double alpha, int channels, long long plane, int style_batch,
                   bool unbiased) {
    __shared__ double scratch[kThreads];
    const long long p = blockIdx.x;  // plane n C + c
    const float* xp = content + p * plane;
    double mu, sigma;
    plane_stats(xp, plane, unbiased, kContentEps, scratch, mu, sigma);
    // Style k's statistics for this plane: (k, sample or 0, c).
    const long long per_style = (long long)style_batch * channels;
    const long long q = style_batch == 1 ? p % channels : p;
    double a = 0, b = 0;
    for (int k = 0; k < weights.count; ++k) {
        a += weights.w[k] * (double(style_sigma[k * per_style + q]) / sigma);
        b += weights.w[k] * double(style_mean[k * per_style + q]);
    }
    // The statistics are complete (block_sum synchronises), so y may alias content: each thread
    // reads its element before writing it.
    float* yp = y + p * plane;
    for (long long i = threadIdx.x; i < plane; i += kThreads) {
        const double x = double(xp[i]);
        const double t = (x - mu) * a + b;
        yp[i] = float((1 - alpha) * x + alpha * t);
    }
}

}  // namespace

void adain_channel_stats(float* mean, float* sigma, const float* x, int n, int channels, std::size_t plane,
                         bool unbiased, double eps, cudaStream_t stream) {
    if (n <= 0 || channels <= 0 || plane == 0) return;
    NST_REQUIRE(!unbiased || plane >= 2, "adain_channel_stats: the unbiased variance needs two values per plane");
    adain_stats_kernel<<<n * channels, kThreads, 0, stream>>>(mean, sigma, x, (long long)plane, unbiased, eps);
    NST_CUDA_CHECK(cudaGetLastError());
}

void adain_blend(float* y, const float* content, const float* style_mean, const float* style_sigma,
                 const AdainWeights& weights, double alpha, int n, int channels, std::size_t plane, int style_batch,
                 bool unbiased, cudaStream_t stream) {
    if (n <= 0 || channels <= 0 || plane == 0) return;
    NST_REQUIRE(weights.count >= 1 && weights.count <= kAdainMaxStyles, "adain_blend: 1 to 8 styles");
    NST_REQUIRE(style_batch == 1 || style_batch == n, "adain_blend: style batch must be 1 or N");
    NST_REQUIRE(!unbiased || plane >= 2, "adain_blend: the unbiased variance needs two values per plane");
    adain_blend_kernel<<<n * channels, kThreads, 0, stream>>>(y, content, style_mean, style_sigma, weights, alpha,
                                                              channels, (long long)plane, style_batch, unbiased);
    NST_CUDA_CHECK(cudaGetLastError());
}

}  // namespace nst::kernels
