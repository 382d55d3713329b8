// SPDX-License-Identifier: MIT
// Instance norm kernels (see instance_norm.h). Forward: one block per (n, c) plane, two passes
// for the mean and the variance (the centred second pass avoids the cancellation of E[x^2] -
// E[x]^2 on planes with a large mean), then the normalised output. Backward: one block per
// channel, the samples in order, so that the block owns dgamma[c] and dbeta[c]:
//   g = dy (masked by the fused ReLU), xhat = (x - mean) inv_std,
//   dx = gamma inv_std (g - mean(g) - xhat mean(g xhat)),
//   dgamma += sum(g xhat), dbeta += sum(g).
#include "kernels/instance_norm.h"

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
instance_norm_backward_kernel(float* dx, float* dgamma, float* dbeta, const float* dy, const float* x,
                              const float* mean, const float* inv_std, const float* gamma, const float* relu_y,
                              int n, int channels, long long plane) {
    __shared__ double scratch[kThreads];
    const int c = blockIdx.x;
    const double g = gamma ? double(gamma[c]) : 1.0;
    double total_gx = 0, total_g = 0;
    for (int s = 0; s < n; ++s) {
        const long long plane_index = (long long)s * channels + c;
        const long long base = plane_index * plane;
        const double mu = double(mean[plane_index]), inv = double(inv_std[plane_index]);
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
        // Every thread reads its elements of dy (and the mask) before writing dx at the same
        // index, so dx may alias dy.
        for (long long i = threadIdx.x; i < plane; i += kThreads) {
            const long long k = base + i;
            const double gi = (relu_y && !(relu_y[k] > 0.f)) ? 0.0 : double(dy[k]);
            const double xhat = (double(x[k]) - mu) * inv;
            dx[k] = float(scale * (gi - mg - xhat * mgx));
        }
        total_gx += sgx;
        total_g += sg;
    }
    if (threadIdx.x == 0) {
        if (dgamma) dgamma[c] = float(double(dgamma[c]) + total_gx);
        if (dbeta) dbeta[c] = float(double(dbeta[c]) + total_g);
    }
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
                            const float* mean, const float* inv_std, const float* gamma, const float* relu_y, int n,
                            int channels, std::size_t plane, cudaStream_t stream) {
    if (n <= 0 || channels <= 0 || plane == 0) return;
    instance_norm_backward_kernel<<<channels, kThreads, 0, stream>>>(dx, dgamma, dbeta, dy, x, mean, inv_std, gamma,
                                                                     relu_y, n, channels, (long long)plane);
    NST_CUDA_CHECK(cudaGetLastError());
}

}  // namespace nst::kernels
