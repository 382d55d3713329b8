// SPDX-License-Identifier: MIT
// Temporal loss on the GPU, the twin of cpu::temporal_loss (loss/temporal_loss.h):
//   value = sum_j sum_k s_{c(k)} c_{j,k} (x_k - w_{j,k})^2
//   dx_k += float(2 s_{c(k)} sum_j c_{j,k} (x_k - w_{j,k}))
// One pass for all targets; the kernel writes the (already scaled) value as double partials,
// so the objective's term sum takes it with scale 1, and adds the gradient in the same pass
// (each element its own, no atomics).
#pragma once
#include <cstddef>

#include <cuda_runtime.h>

namespace nst::kernels {

constexpr int kMaxTemporalTargets = 8;   // previous frames per loss (the papers use up to 3)
constexpr int kMaxTemporalChannels = 4;

// Passed by value to the kernel.
struct TemporalTargets {
    const float* warped[kMaxTemporalTargets];  // each (1, C, H, W), device
    const float* weight[kMaxTemporalTargets];  // each (1, 1, H, W), device
    int count = 0;
    double channel_scale[kMaxTemporalChannels] = {};  // s_c (temporal_channel_scales)
};

// Number of partials temporal_loss() writes: 0 when there is nothing to sum (no targets or an
// empty image; then it queues nothing, as the CPU returns 0).
int temporal_loss_partials(int channels, int h, int w, int targets);

// partials[b] = block b's part of the value above; unless dx is null, dx += the gradient.
void temporal_loss(const float* x,  // (1, C, H, W), device
                   int channels, int h, int w, const TemporalTargets& targets,
                   float* dx,         // (1, C, H, W), device, or null
                   double* partials,  // temporal_loss_partials(...) doubles, device
                   cudaStream_t stream);

}  // namespace nst::kernels
