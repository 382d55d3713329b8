// SPDX-License-Identifier: MIT
// Instance norm kernels (see instance_norm.h). Forward: one block per (n, c) plane, two passes
// for the mean and the variance (the centred second pass avoids the cancellation of E[x^2] -
// E[x]^2 on planes with a large mean), then the normalised output. Backward: one block per
// plane, then one thread per channel adding the planes' sums over the samples in order:
//   g = dy (masked by the fused ReLU), xhat = (x - mean) inv_std,
//   dx = gamma inv_std (g - mean(g) - xhat mean(g xhat)),
//   dgamma += sum(g xhat), dbeta += sum(g).
#include "kernels/instance_norm.h"

#include "core/error.h"
#include "cuda/check.h"
#include "kernels/common.cuh"

namespace nst::kernels {

namespace {

__global__ void __launch_bounds__(kThreads)
instance_norm_forward_kernel(float* y, float* mean_out, float* inv_out, const float* x, const float* gamma,
                             const float* beta, int channels, long long plane, double eps, bool relu) {
    __shared__ double scratch[kThreads];
    const long long base = (long long)blockIdx.x * plane;
    const float* xp = x + base;
    double s = 0;
    for (long long i = threadIdx.x; i < plane; i += kThreads) s += double(xp[i]);
    const double mean = block_sum(s, scratch) / double(plane);
    double q = 0;
    for (long long i = threadIdx.x; i < plane; i += kThreads) {
        const double d = double(xp[i]) - mean;
        q += d * d;
    }
    const double var = block_sum(q, scratch) / double(plane);
    const double inv = 1.0 / sqrt(var + eps);
    const int c = int(blockIdx.x % channels);
    const double g = gamma ? double(gamma[c]) : 1.0;
    const double b = beta ? double(beta[c]) : 0.0;
    // y = (x - mean) * (g inv) + b in double, rounded once.
    const double scale = g * inv;
    float* yp = y + base;
    for (long long i = threadIdx.x; i < plane; i += kThreads) {
        const float v = float((double(xp[i]) - mean) * scale + b);
        yp[i] = relu ? (v > 0.f ? v : 0.f) : v;
    }
    if (threadIdx.x == 0) {
        mean_out[blockIdx.x] = float(mean);
        inv_out[blockIdx.x] = float(inv);
    }
}

__global__ void __launch_bounds__(kThreads)
instance_norm_backward_kernel(float* dx, double* partials, const float* dy, const float* x, const float* mean,
                              const float* inv_std, const float* gamma, const float* relu_y, int channels,
                              long long plane) {
    __shared__ double scratch[kThreads];
    const long long p = blockIdx.x;  // plane n C + c
    const int c = int(p % channels);
    const long long base = p * plane;
    const double g = gamma ? double(gamma[c]) : 1.0;
    const double mu = double(mean[p]), inv = double(inv_std[p]);
    double sg = 0, sgx = 0;
    for (long long i = threadIdx.x; i < plane; i += kThreads) {
        const long long k = base + i;
        const double gi = (relu_y && !(relu_y[k] > 0.f)) ? 0.0 : double(dy[k]);
        const double xhat = (double(x[k]) - mu) * inv;
        sg += gi;
        sgx += gi * xhat;
    }
    sg = block_sum(sg, scratch);
    sgx = block_sum(sgx, scratch);
    const double mg = sg / double(plane), mgx = sgx / double(plane), scale = g * inv;
    // Every thread reads its elements of dy (and the mask) before writing dx at the same index,
    // and the sums above are complete (block_sum synchronises), so dx may alias dy.
    for (long long i = threadIdx.x; i < plane; i += kThreads) {
        const long long k = base + i;
        const double gi = (relu_y && !(relu_y[k] > 0.f)) ? 0.0 : double(dy[k]);
        const double xhat = (double(x[k]) - mu) * inv;
        dx[k] = float(scale * (gi - mg - xhat * mgx));
    }
    if (threadIdx.x == 0 && partials) {
        partials[2 * p] = sgx;
        partials[2 * p + 1] = sg;
    }
}

// One thread per channel: the samples' sums in order, added once into dgamma and dbeta.
__global__ void instance_norm_param_grad_kernel(float* dgamma, float* dbeta, const double* partials, int n,
                                                int channels) {
    const int c = int(blockIdx.x) * blockDim.x + threadIdx.x;
    if (c >= channels) return;
    double gx = 0, gs = 0;
    for (int s = 0; s < n; ++s) {
        const long long p = (long long)s * channels + c;
        gx += partials[2 * p];
        gs += partials[2 * p + 1];
    }
    if (dgamma) dgamma[c] = float(double(dgamma[c]) + gx);
    if (dbeta) dbeta[c] = float(double(dbeta[c]) + gs);
}

}  // namespace

void instance_norm_forward(float* y, float* mean, float* inv_std, const float* x, const float* gamma,
                           const float* beta, int n, int channels, std::size_t plane, double eps, bool relu,
                           cudaStream_t stream) {
    if (n <= 0 || channels <= 0 || plane == 0) return;
    instance_norm_forward_kernel<<<n * channels, kThreads, 0, stream>>>(y, mean, inv_std, x, gamma, beta, channels,
                                                                        (long long)plane, eps, relu);
    NST_CUDA_CHECK(cudaGetLastError());
}

void instance_norm_backward(float* dx, float* dgamma, float* dbeta, const float* dy, const float* x,
                            const float* mean, const float* inv_std, const float* gamma, const float* relu_y,
                            double* partials, int n, int channels, std::size_t plane, cudaStream_t stream) {
    if (n <= 0 || channels <= 0 || plane == 0) return;
    const bool params = dgamma || dbeta;
    NST_REQUIRE(!params || partials, "instance_norm_backward: parameter gradients need the partials scratch");
    instance_norm_backward_kernel<<<n * channels, kThreads, 0, stream>>>(dx, params ? partials : nullptr, dy, x, mean,
                                                                         inv_std, gamma, relu_y, channels,
                                                                         (long long)plane);
    NST_CUDA_CHECK(cudaGetLastError());
    if (!params) return;
    instance_norm_param_grad_kernel<<<(channels + kThreads - 1) / kThreads, kThreads, 0, stream>>>(dgamma, dbeta,
                                                                                                 partials, n, channels);
    NST_CUDA_CHECK(cudaGetLastError());
}

}  // namespace nst::kernels
