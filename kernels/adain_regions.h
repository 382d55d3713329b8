// SPDX-License-Identifier: MIT
// AdaIN with one style per region on the device, the twin of cpu::adain_regions
// (nn/adain_regions.h: the official test.lua's masked AdaIN, per-region content statistics).
// One block per channel; per region two fixed-order block sums in double (mean, then centred
// squares) over the pixels carrying its label, and each output value computed in double and
// rounded once, so every run gives the same bits. Pointers are device memory; launchers follow
// kernels/launch.h.
#pragma once
#include <cstddef>
#include <cstdint>

#include <cuda_runtime.h>

#include "kernels/adain.h"

namespace nst::kernels {

// Pixels per region (cpu::region_pixel_counts), passed by value: the divisors of the statistics.
struct AdainRegionCounts {
    int regions = 0;
    long long n[kAdainMaxStyles] = {};
};

// y = (1 - alpha) x + alpha ((x - mu_r) / sigma_r * style_sigma[r] + style_mean[r]) per channel,
// r = labels[pixel], mu_r and sigma_r = sqrt(var + 1e-5) over region r's pixels of the channel
// (var divided by n_r - 1 when unbiased, else n_r). Each label in [0, regions); a region with
// pixels has n_r >= 2 when unbiased. y may alias content. Batch 1.
void adain_regions(float* y,                        // (1, C, H, W)
                   const float* content,            // (1, C, H, W)
                   const std::int32_t* labels,      // (H W)
                   const float* style_mean,         // (regions, C)
                   const float* style_sigma,        // (regions, C)
                   const AdainRegionCounts& counts, double alpha, int channels, std::size_t plane, bool unbiased,
                   cudaStream_t stream);

}  // namespace nst::kernels
