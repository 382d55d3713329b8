// SPDX-License-Identifier: MIT
// The kernel emulator's stand-in for the CUDA runtime header (see tests/emu/cuda_emu.h for what
// the emulator models and what it does not). It declares exactly the subset of CUDA that the
// kernels in kernels/*.cu use, as plain host C++:
//
//   execution-space qualifiers      __global__ __device__ __host__ __forceinline__ become nothing,
//                                   __launch_bounds__(...) nothing, __restrict__ __restrict,
//                                   __align__(n) __attribute__((aligned(n)))
//   __shared__                      `static`: one copy per kernel function, shared by the fibers
//                                   of the block being run. Correct only because the emulator runs
//                                   the blocks of a grid one after another.
//   built-in variables              threadIdx, blockIdx, blockDim, gridDim (read-only references to
//                                   the emulator's state, set before each fiber is resumed)
//   __syncthreads()                 a block barrier (the emulator's scheduler)
//   vector types                    uint3, dim3, float4 (16-byte aligned), make_float4
//   __ldg                           a plain load (float4 loads are checked for 16-byte alignment)
//   min / max                       the device overloads for same-typed integer and float pairs
//   _rn intrinsics                  one IEEE operation each, round to nearest even, never fused:
//                                   the emulated sources must be compiled with -ffp-contract=off
//                                   so that neither these nor plain expressions are contracted
//   runtime API                     cudaError_t, cudaStream_t, cudaGetLastError,
//                                   cudaPeekAtLastError, cudaGetErrorName, cudaGetErrorString
//
// Anything else (warp intrinsics, atomics, dynamic shared memory, memory management, streams,
// events, graphs, half / bf16 types) is deliberately absent, so that a kernel using it fails to
// compile in the emulator rather than being emulated wrongly. (The backend emulation,
// nst_emu_backend_tests, compiles with NST_EMU_BACKEND and gets the host runtime API of
// cuda_runtime_host.h at the end of this file, and bf16 from cuda_bf16.h.)
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <math.h>  // fabs, fmaf, sqrt, pow, isfinite... in the global namespace, as in device code

#define NST_CUDA_EMU 1  // tests/emu/cuda_emu.h refuses to build against the real header

// ---- execution-space and storage qualifiers -------------------------------------------------
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __restrict__ __restrict
#define __align__(n) __attribute__((aligned(n)))
#define __shared__ static

// ---- runtime API ------------------------------------------------------------------------------
// The codes the emulator can produce, with the runtime's numeric values.
enum cudaError_t : int {
    cudaSuccess = 0,
    cudaErrorInvalidValue = 1,
    cudaErrorMemoryAllocation = 2,
    cudaErrorInvalidConfiguration = 9,
    cudaErrorInvalidDevice = 101,
    cudaErrorMisalignedAddress = 716,
    cudaErrorLaunchFailure = 719,
    cudaErrorNotSupported = 801,
    cudaErrorStreamCaptureUnsupported = 900,
    cudaErrorStreamCaptureInvalidated = 901,
    cudaErrorStreamCaptureUnmatched = 903,
    cudaErrorStreamCaptureWrongThread = 908,
};
typedef struct CUstream_st* cudaStream_t;

cudaError_t cudaGetLastError();     // returns and clears the last launch error
cudaError_t cudaPeekAtLastError();  // returns it without clearing
const char* cudaGetErrorName(cudaError_t error);
const char* cudaGetErrorString(cudaError_t error);

// ---- vector types -------------------------------------------------------------------------------
struct uint3 {
    unsigned int x, y, z;
};

struct dim3 {
    unsigned int x, y, z;
    constexpr dim3(unsigned int vx = 1, unsigned int vy = 1, unsigned int vz = 1) : x(vx), y(vy), z(vz) {}
    constexpr dim3(uint3 v) : x(v.x), y(v.y), z(v.z) {}
};

struct alignas(16) float4 {
    float x, y, z, w;
};
inline float4 make_float4(float x, float y, float z, float w) { return float4{x, y, z, w}; }

// ---- built-in variables ---------------------------------------------------------------------------
extern const uint3& threadIdx;
extern const uint3& blockIdx;
extern const dim3& blockDim;
extern const dim3& gridDim;

// ---- synchronisation ------------------------------------------------------------------------------
void __syncthreads();

namespace nst::emu::detail {
[[noreturn]] void misaligned_load(const void* address, std::size_t alignment);
}

// ---- read-only loads --------------------------------------------------------------------------------
template <typename T>
inline T __ldg(const T* p) {
    return *p;
}
// A float4 load from an address that is not 16-byte aligned is a device fault
// (cudaErrorMisalignedAddress) on the GPU; the emulator reports it instead of loading.
template <>
inline float4 __ldg<float4>(const float4* p) {
    if (reinterpret_cast<std::uintptr_t>(p) % 16 != 0) nst::emu::detail::misaligned_load(p, 16);
    return *p;
}

// ---- device min / max -----------------------------------------------------------------------------
inline int min(int a, int b) { return a < b ? a : b; }
inline unsigned int min(unsigned int a, unsigned int b) { return a < b ? a : b; }
inline long long min(long long a, long long b) { return a < b ? a : b; }
inline unsigned long long min(unsigned long long a, unsigned long long b) { return a < b ? a : b; }
inline float min(float a, float b) { return fminf(a, b); }
inline double min(double a, double b) { return fmin(a, b); }
inline int max(int a, int b) { return a > b ? a : b; }
inline unsigned int max(unsigned int a, unsigned int b) { return a > b ? a : b; }
inline long long max(long long a, long long b) { return a > b ? a : b; }
inline unsigned long long max(unsigned long long a, unsigned long long b) { return a > b ? a : b; }
inline float max(float a, float b) { return fmaxf(a, b); }
inline double max(double a, double b) { return fmax(a, b); }

// ---- round-to-nearest intrinsics ----------------------------------------------------------------
// Each is one IEEE-754 operation in the current (default: nearest-even) rounding mode. With
// -ffp-contract=off the compiler never fuses one with the next, which is what the device
// guarantees for the _rn forms.
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fsub_rn(float a, float b) { return a - b; }
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fdiv_rn(float a, float b) { return a / b; }
inline float __fsqrt_rn(float a) { return sqrtf(a); }
inline float __fmaf_rn(float a, float b, float c) { return fmaf(a, b, c); }
inline double __dadd_rn(double a, double b) { return a + b; }
inline double __dsub_rn(double a, double b) { return a - b; }
inline double __dmul_rn(double a, double b) { return a * b; }
inline double __ddiv_rn(double a, double b) { return a / b; }
inline double __dsqrt_rn(double a) { return sqrt(a); }
inline double __fma_rn(double a, double b, double c) { return fma(a, b, c); }
inline float __double2float_rn(double a) { return static_cast<float>(a); }

// ---- the emulated runtime (nst_emu_backend_tests only) ------------------------------------------
// Memory management, streams, graphs and device queries, for the host code of src/cuda: declared
// only where tests/emu/cuda_runtime_emu.cpp is linked, so that the kernel suite keeps the strict
// subset above.
#if defined(NST_EMU_BACKEND)
#include "cuda_runtime_host.h"
#endif
