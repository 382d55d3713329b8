// SPDX-License-Identifier: MIT
// AdaIN on the device, the twin of cpu::adain_* (nn/adain.h, which states the two conventions
// of research/feedforward.md §5.2-§5.3). One block per (sample, channel) plane; statistics by
// two fixed-order block sums in double (mean, then centred squares), and each output value
// computed in double and rounded once, so every run gives the same bits.
// The conventions arrive as two flags: unbiased (Port: divide by HW - 1) and, for the style's
// sigma, whether eps is added (Port yes, Official no); the content sigma always has eps.
// All pointers are device memory; launchers follow kernels/launch.h.
#pragma once
#include <cstddef>

#include <cuda_runtime.h>

namespace nst::kernels {

constexpr int kAdainMaxStyles = 8;

// Normalised interpolation weights (cpu::adain_normalised_weights), passed by value.
struct AdainWeights {
    int count = 0;
    double w[kAdainMaxStyles] = {};
};

// mean and sigma = sqrt(sum((x - mean)^2) / (HW - unbiased) + eps) per plane. plane >= 2 when
// unbiased.
void adain_channel_stats(float* mean,      // (N, C)
                         float* sigma,     // (N, C)
                         const float* x,   // (N, C, H, W)
                         int n, int channels, std::size_t plane, bool unbiased, double eps, cudaStream_t stream);

// y = (1 - alpha) x + alpha sum_k w_k ((x - mu) / sigma * style_sigma_k + style_mean_k), mu and
// sigma = sqrt(var + 1e-5) the content plane's (var unbiased or biased). style_batch: N or 1 (one
// style for every sample). y may alias content. weights.count >= 1.
void adain_blend(float* y,                   // (N, C, H, W)
                 const float* content,       // (N, C, H, W)
                 const float* style_mean,    // (K, style_batch, C)
                 const float* style_sigma,   // (K, style_batch, C)
                 const AdainWeights& weights, double alpha, int n, int channels, std::size_t plane,
                 int style_batch, bool unbiased, cudaStream_t stream);

}  // namespace nst::kernels
