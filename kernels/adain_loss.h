// SPDX-License-Identifier: MIT
// The mean/std style loss of AdaIN's decoder training on the device, the twin of
// cpu::adain_style_loss (loss/adain_loss.h, which states the formula and both conventions).
// One block per (sample, channel) plane: the mean and the centred sum of squares by fixed-order
// block sums in double, the plane's value (mu - mu_t)^2 + (sigma - sigma_t)^2 written unscaled
// (the caller sums the planes in index order and scales, as the CPU does), and the gradient
// computed in double and rounded once per element.
// All pointers are device memory; the launcher follows kernels/launch.h.
#pragma once
#include <cstddef>

#include <cuda_runtime.h>

namespace nst::kernels {

// values[p] = (mu_p - target_mean[p])^2 + (sigma_p - target_sigma[p])^2 with
// sigma_p = sqrt(sum (f - mu_p)^2 / (HW - unbiased) + eps); unless df is null,
// df += float(scale * [2 (mu - mu_t) / HW + 2 (sigma - sigma_t) (f - mu) / (D sigma)]).
void adain_style_loss(const float* f,             // (planes, HW)
                      const float* target_mean,   // (planes)
                      const float* target_sigma,  // (planes)
                      int planes, std::size_t plane, bool unbiased, double eps, double scale,
                      float* df,                  // (planes, HW) or null
                      double* values,             // (planes)
                      cudaStream_t stream);

}  // namespace nst::kernels
