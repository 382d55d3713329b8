// SPDX-License-Identifier: MIT
// AdaIN's mean/std style loss (see adain_loss.h): one block per plane, two passes for the
// statistics as kernels/adain.cu, then one pass for the gradient.
#include "kernels/adain_loss.h"

#include "core/error.h"
#include "cuda/check.h"
#include "kernels/common.cuh"

namespace nst::kernels {

namespace {

__global__ void __launch_bounds__(kThreads)
adain_style_loss_kernel(const float* f, const float* target_mean, const float* target_sigma, long long plane,
                        bool unbiased, double eps, double scale, float* df, double* values) {
    __shared__ double scratch[kThreads];
    const long long p = blockIdx.x;
    const float* x = f + p * plane;
    double s = 0;
    for (long long i = threadIdx.x; i < plane; i += kThreads) s += double(x[i]);
    const double mu = block_sum(s, scratch) / double(plane);
    double q = 0;
    for (long long i = threadIdx.x; i < plane; i += kThreads) {
        const double d = double(x[i]) - mu;
        q += d * d;
    }
    const double d = double(plane) - (unbiased ? 1.0 : 0.0);
    const double sigma = sqrt(block_sum(q, scratch) / d + eps);
    const double dmu = mu - double(target_mean[p]), dsigma = sigma - double(target_sigma[p]);
    if (threadIdx.x == 0) values[p] = dmu * dmu + dsigma * dsigma;
    if (!df) return;
    const double a = scale * 2 * dmu / double(plane), b = scale * 2 * dsigma / (d * sigma);
    float* g = df + p * plane;
    for (long long i = threadIdx.x; i < plane; i += kThreads) g[i] += float(a + b * (double(x[i]) - mu));
}

}  // namespace

void adain_style_loss(const float* f, const float* target_mean, const float* target_sigma, int planes,
                      std::size_t plane, bool unbiased, double eps, double scale, float* df, double* values,
                      cudaStream_t stream) {
    if (planes <= 0 || plane == 0) return;
    NST_REQUIRE(!unbiased || plane >= 2, "adain_style_loss: the unbiased variance needs two values per plane");
    adain_style_loss_kernel<<<planes, kThreads, 0, stream>>>(f, target_mean, target_sigma, (long long)plane, unbiased,
                                                               eps, scale, df, values);
    NST_CUDA_CHECK(cudaGetLastError());
}

}  // namespace nst::kernels
