// SPDX-License-Identifier: MIT
// Instance normalisation on the device, the twin of cpu::instance_norm_* (nn/instance_norm.h):
// per (sample, channel) plane, y = gamma (x - mean) inv_std + beta with the biased variance,
// optionally followed by a fused ReLU (the transformer's IN + ReLU pairs, so that the norm's
// output before the ReLU is never stored).
//
// Statistics and gradient sums are fixed-order block reductions in double (kernels/common.cuh),
// one block per plane; backward writes each plane's two sums to `partials`, and a second launch
// adds them over the samples in order into dgamma and dbeta, so that nothing needs atomics and
// the result is the same every run.
// All pointers are device memory; launchers follow kernels/launch.h.
#pragma once
#include <cstddef>

#include <cuda_runtime.h>

namespace nst::kernels {

// Assigns y, mean and inv_std (float(1 / sqrt(var + eps))); gamma and beta null for a
// non-affine norm; relu: y = max(., 0). y must not alias x when backward is needed.
void instance_norm_forward(float* y,              // (N, C, H, W)
                           float* mean,           // (N, C)
                           float* inv_std,        // (N, C)
                           const float* x,        // (N, C, H, W)
                           const float* gamma,    // (C) or null
                           const float* beta,     // (C) or null
                           int n, int channels, std::size_t plane, double eps, bool relu, cudaStream_t stream);

// Assigns dx; adds (+=) into dgamma and dbeta unless null. relu_y: the fused ReLU's output
// (y of the forward with relu), whose mask y > 0 is applied to dy first; null without ReLU.
// dx may alias dy. partials: 2 N C doubles of device scratch (may be null when dgamma and dbeta
// both are).
void instance_norm_backward(float* dx,             // (N, C, H, W)
                            float* dgamma,         // (C) or null
                            float* dbeta,          // (C) or null
                            const float* dy,       // (N, C, H, W)
                            const float* x,        // (N, C, H, W) forward input
                            const float* mean,     // (N, C) from forward
                            const float* inv_std,  // (N, C) from forward
                            const float* gamma,    // (C) or null
                            const float* relu_y,   // (N, C, H, W) or null
                            double* partials,      // (N, C, 2) scratch
                            int n, int channels, std::size_t plane, cudaStream_t stream);

}  // namespace nst::kernels
