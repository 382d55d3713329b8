// SPDX-License-Identifier: MIT
#include "kernels/run_state.h"

#include "cuda/check.h"

namespace nst::kernels {

namespace {

// %globaltimer: nanoseconds of wall time, the same clock on every SM (unlike clock64).
__device__ unsigned long long global_ns() {
    unsigned long long t;
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
    return t;
}

__global__ void reset_kernel(cuda::RunState* state) {
    state->iter = 0;
    state->status = cuda::kRunning;
    state->status_iter = 0;
    state->t0_ns = 0;
}

__global__ void begin_kernel(cuda::RunState* state) {
    if (state->iter == 0) state->t0_ns = global_ns();
}

__global__ void record_kernel(cuda::RunState* state, const double* terms, int num_terms, double* ring, int capacity) {
    double* row = ring + (state->iter % capacity) * (num_terms + 1);
    for (int i = threadIdx.x; i < num_terms; i += blockDim.x) row[i] = terms[i];
    if (threadIdx.x == 0) row[num_terms] = double(global_ns() - state->t0_ns) * 1e-9;
    __syncthreads();  // every thread has read state->iter before it moves on
    if (threadIdx.x == 0) ++state->iter;
}

}  // namespace

void run_state_reset(cuda::RunState* state, cudaStream_t stream) {
    reset_kernel<<<1, 1, 0, stream>>>(state);
    NST_CUDA_CHECK(cudaGetLastError());
}

void iteration_begin(cuda::RunState* state, cudaStream_t stream) {
    begin_kernel<<<1, 1, 0, stream>>>(state);
    NST_CUDA_CHECK(cudaGetLastError());
}

void iteration_record(cuda::RunState* state, const double* terms, int num_terms, double* ring, int capacity,
                      cudaStream_t stream) {
    record_kernel<<<1, 64, 0, stream>>>(state, terms, num_terms, ring, capacity);
    NST_CUDA_CHECK(cudaGetLastError());
}

}  // namespace nst::kernels
