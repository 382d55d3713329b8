// SPDX-License-Identifier: MIT
// NVTX ranges (header-only NVTX 3 from the CUDA toolkit): one per layer, loss and optimiser
// phase, so that Nsight Systems shows where an iteration's time goes. Outside a profiler the
// calls cost a few nanoseconds. Ranges are host-side: inside a replayed CUDA graph only the
// per-iteration range appears (run with --cuda-graph off to see per-layer ranges).
#pragma once
#include <nvtx3/nvToolsExt.h>

namespace nst::cuda {

class NvtxRange {
public:
    explicit NvtxRange(const char* name) { nvtxRangePushA(name); }
    ~NvtxRange() { nvtxRangePop(); }
    NvtxRange(const NvtxRange&) = delete;
    NvtxRange& operator=(const NvtxRange&) = delete;
};

}  // namespace nst::cuda
