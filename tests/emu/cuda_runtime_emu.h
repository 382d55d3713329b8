// SPDX-License-Identifier: MIT
// The backend emulation's own interface to its runtime (tests/emu/cuda_runtime_emu.cpp), for
// the fake cuDNN and cuBLAS and the emulator's tests: work that runs now or is recorded on a
// capturing stream, and counters.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>

#if !defined(NST_EMU_BACKEND)
#error "cuda_runtime_emu.h belongs to the backend emulation (NST_EMU_BACKEND)"
#endif

// A status the real runtime calls cudaErrorIllegalState (401): capture begun twice or ended on a
// stream that is not capturing.
constexpr cudaError_t cudaErrorIllegalStateEmu = cudaErrorInvalidValue;

namespace nst::emu {

// A float rounded to TF32 (10 mantissa bits, to nearest even), as the tensor cores read their
// operands under the TF32 math modes of the fake cuDNN and cuBLAS.
inline float round_tf32(float f) {
    std::uint32_t u;
    std::memcpy(&u, &f, sizeof u);
    if ((u & 0x7f800000u) == 0x7f800000u) return f;  // inf / NaN unchanged
    u += 0xfffu + ((u >> 13) & 1u);
    u &= ~0x1fffu;
    std::memcpy(&f, &u, sizeof f);
    return f;
}

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

// The fake cuBLAS (cublas_emu.cpp): its calls since the process started.
struct CublasStats {
    long long handles = 0;                    // cublasCreate calls
    long long syrk = 0, gemm = 0;             // calls queued (run now or recorded)
    long long tf32_calls = 0;                 // of those, under CUBLAS_TF32_TENSOR_OP_MATH
    long long captured_without_workspace = 0; // calls recorded without cublasSetWorkspace (the
                                              // real library may then allocate during capture)
};
const CublasStats& cublas_stats();

}  // namespace nst::emu
