// SPDX-License-Identifier: MIT
// RunState: the few scalars of a run that live on the device, so that an iteration (forward,
// losses, backward, optimiser step, bookkeeping) needs no host round trip and can be replayed
// as a CUDA graph. Shared by the engine's bookkeeping kernels and the optimisers.
//
// One iteration, in stream order:
//   iteration_begin   stamps the start time on the first iteration
//   objective         writes the terms (content..., style..., tv, total) as doubles
//   optimiser step    skips when status != kRunning; a non-finite total sets kNonFinite
//                     (x stays the last finite point), torch's stop rule sets kStopped
//   iteration_record  copies terms + time into the record ring, then ++iter
#pragma once

namespace nst::cuda {

enum RunStatus : int { kRunning = 0, kStopped = 1, kNonFinite = 2 };

struct RunState {
    long long iter;              // iterations completed; the one in flight is iter + 1
    int status;                  // RunStatus
    int status_iter;             // 1-based iteration at which status left kRunning
    unsigned long long t0_ns;    // %globaltimer at the start of iteration 1
};

}  // namespace nst::cuda
