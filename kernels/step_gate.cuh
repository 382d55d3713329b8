// SPDX-License-Identifier: MIT
// The run-state gate both optimisers pass at the start of a step (src/cuda/run_state.h): a
// stopped or failed run moves nothing any more, and a non-finite total fails the run at this
// iteration so that x stays the last finite point. Called by one thread.
#pragma once
#include "cuda/run_state.h"

namespace nst::kernels {

// True when this step may change the optimiser's state and x.
__device__ inline bool step_allowed(cuda::RunState& st, const double* total) {
    if (st.status != cuda::kRunning) return false;
    if (!isfinite(*total)) {
        st.status = cuda::kNonFinite;
        st.status_iter = static_cast<int>(st.iter + 1);
        return false;
    }
    return true;
}

}  // namespace nst::kernels
