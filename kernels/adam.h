// SPDX-License-Identifier: MIT
// Kernels of the device-resident Adam (src/cuda/optim_cuda.h), the twin of cpu::Adam<float>
// (src/optim/adam.cpp), and the layout of its device state.
//
// One step is two launches: adam_begin (one thread: run-state / total check, ++iter and the
// bias corrections, which depend on the device iteration counter so that the step can be
// replayed from a CUDA graph) and adam_update (elementwise: the moments and x). The split keeps
// the counter's update away from the blocks that read it.
#pragma once
#include <cuda_runtime.h>

#include "cuda/run_state.h"

namespace nst::kernels {

// Device scalars of one Adam (one struct in device memory).
struct AdamScalars {
    int skip;         // 1: this step changes nothing (run not running, or a non-finite total)
    int iter;         // steps taken (cpu::Adam::iterations())
    float step_size;  // float(lr / (1 - beta1^iter))
    float bc2_sqrt;   // float(sqrt(1 - beta2^iter))
};

// Device pointers, sizes and options of one Adam; passed by value to its kernels.
struct AdamView {
    AdamScalars* scalars;
    float* m;  // (n) first moment
    float* v;  // (n) second moment
    long long n;
    double learning_rate, beta1, beta2, eps;
    cuda::RunState* state;
    const double* total;  // the iteration's total loss
};

// Host functions; each queues one kernel on `stream`, never synchronises and never allocates.
void adam_begin(const AdamView& a, cudaStream_t stream);
void adam_update(const AdamView& a, float* x, const float* g, cudaStream_t stream);

}  // namespace nst::kernels
