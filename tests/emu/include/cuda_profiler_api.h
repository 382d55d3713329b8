// SPDX-License-Identifier: MIT
// The emulated runtime's profiler control (tests/emu/cuda_runtime_emu.cpp): no-ops that succeed.
#pragma once
#include <cuda_runtime.h>

cudaError_t cudaProfilerStart();
cudaError_t cudaProfilerStop();
