// SPDX-License-Identifier: MIT
// The engine's bookkeeping kernels around one iteration (see src/cuda/run_state.h): the start
// stamp and the record of the iteration's terms in a ring that the host drains now and then,
// so that loss values cross to the host only at print and trace points.
#pragma once
#include <cuda_runtime.h>

#include "cuda/run_state.h"

namespace nst::kernels {

// Initialises *state (iter 0, running); queued, so it can follow a graph's last replay.
void run_state_reset(cuda::RunState* state, cudaStream_t stream);

// On the first iteration (state->iter == 0) stamps state->t0_ns with the device's global timer.
void iteration_begin(cuda::RunState* state, cudaStream_t stream);

// Row (state->iter % capacity) of `ring` (capacity rows of num_terms + 1 doubles) receives the
// terms and the seconds since t0; then ++state->iter.
void iteration_record(cuda::RunState* state, const double* terms, int num_terms, double* ring, int capacity,
                      cudaStream_t stream);

}  // namespace nst::kernels
