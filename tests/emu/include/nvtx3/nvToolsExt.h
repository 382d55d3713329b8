// SPDX-License-Identifier: MIT
// NVTX for the backend emulation: ranges are no-ops (there is no profiler to show them).
#pragma once

inline int nvtxRangePushA(const char*) { return 0; }
inline int nvtxRangePop() { return 0; }
