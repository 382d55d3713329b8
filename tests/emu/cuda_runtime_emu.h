// SPDX-License-Identifier: MIT
// The backend emulation's own interface to its runtime (tests/emu/cuda_runtime_emu.cpp), for
// the fake cuDNN and the emulator's tests: work that runs now or is recorded on a capturing
// stream, and counters.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <functional>

#if !defined(NST_EMU_BACKEND)
#error "cuda_runtime_emu.h belongs to the backend emulation (NST_EMU_BACKEND)"
#endif

// A status the real runtime calls cudaErrorIllegalState (401): capture begun twice or ended on a
// stream that is not capturing.
constexpr cudaError_t cudaErrorIllegalStateEmu = cudaErrorInvalidValue;

namespace nst::emu {

struct RuntimeStats {
    long long allocations = 0;
    long long captures = 0;                      // cudaStreamBeginCapture calls
    long long failed_captures = 0;               // captures ended invalidated
    long long illegal_calls_during_capture = 0;  // cudaMalloc etc. while capturing
    long long graphs_instantiated = 0;
    long long graph_launches = 0;
};
const RuntimeStats& runtime_stats();

std::size_t device_bytes_allocated();      // cudaMalloc'd and not freed
void set_device_capacity(std::size_t bytes);  // the emulated device's memory (8 GiB by default)
std::size_t device_capacity();

// Runs `work` now, or appends it to `stream`'s capture.
void run_or_record(cudaStream_t stream, std::function<void()> work);

}  // namespace nst::emu
