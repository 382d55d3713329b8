// SPDX-License-Identifier: MIT
// The emulated CUDA runtime's host API (tests/emu/cuda_runtime_emu.cpp), included by
// cuda_runtime.h when NST_EMU_BACKEND is defined: what src/cuda's host code calls.
//
// Model: one device ("emulated", 132 SMs, sm_90) whose memory is host memory (cudaMalloc is an
// aligned host allocation, within an emulated capacity: 8 GiB, or NST_EMU_DEVICE_MEMORY_MIB).
// Every operation runs to completion when issued, so synchronisation is a no-op. A stream in
// capture mode (cudaStreamBeginCapture) records kernel launches, cudaMemcpyAsync,
// cudaMemsetAsync and cuDNN convolutions instead of running them; cudaGraphLaunch replays the
// records in order. As with the real runtime, an operation that is illegal during capture
// (cudaMalloc, cudaFree, cudaMemcpy, device or stream synchronisation) fails with
// cudaErrorStreamCaptureUnsupported and invalidates the capture (cudaStreamEndCapture then
// returns cudaErrorStreamCaptureInvalidated).
#pragma once

#include <cstddef>

#if !defined(NST_CUDA_EMU)
#error "include cuda_runtime.h, not cuda_runtime_host.h"
#endif

enum cudaMemcpyKind : int {
    cudaMemcpyHostToHost = 0,
    cudaMemcpyHostToDevice = 1,
    cudaMemcpyDeviceToHost = 2,
    cudaMemcpyDeviceToDevice = 3,
    cudaMemcpyDefault = 4,
};

enum cudaStreamCaptureMode : int {
    cudaStreamCaptureModeGlobal = 0,
    cudaStreamCaptureModeThreadLocal = 1,
    cudaStreamCaptureModeRelaxed = 2,
};

enum cudaStreamCaptureStatus : int {
    cudaStreamCaptureStatusNone = 0,
    cudaStreamCaptureStatusActive = 1,
    cudaStreamCaptureStatusInvalidated = 2,
};

#define cudaStreamDefault 0x0u
#define cudaStreamNonBlocking 0x1u

typedef struct CUgraph_st* cudaGraph_t;
typedef struct CUgraphExec_st* cudaGraphExec_t;

struct cudaDeviceProp {
    char name[256];
    std::size_t totalGlobalMem;
    int multiProcessorCount;
    int major;
    int minor;
    int warpSize;
    int maxThreadsPerBlock;
};

cudaError_t cudaGetDeviceCount(int* count);
cudaError_t cudaSetDevice(int device);
cudaError_t cudaGetDevice(int* device);
cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device);
cudaError_t cudaDeviceSynchronize();
cudaError_t cudaMemGetInfo(std::size_t* free_bytes, std::size_t* total_bytes);

cudaError_t cudaMalloc(void** ptr, std::size_t bytes);
template <typename T>
inline cudaError_t cudaMalloc(T** ptr, std::size_t bytes) {
    return cudaMalloc(reinterpret_cast<void**>(ptr), bytes);
}
cudaError_t cudaFree(void* ptr);
cudaError_t cudaMemcpy(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind);
cudaError_t cudaMemcpyAsync(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind,
                            cudaStream_t stream = nullptr);
cudaError_t cudaMemset(void* dst, int value, std::size_t bytes);
cudaError_t cudaMemsetAsync(void* dst, int value, std::size_t bytes, cudaStream_t stream = nullptr);

cudaError_t cudaStreamCreate(cudaStream_t* stream);
cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned int flags);
cudaError_t cudaStreamDestroy(cudaStream_t stream);
cudaError_t cudaStreamSynchronize(cudaStream_t stream);
cudaError_t cudaStreamBeginCapture(cudaStream_t stream, cudaStreamCaptureMode mode);
cudaError_t cudaStreamEndCapture(cudaStream_t stream, cudaGraph_t* graph);
cudaError_t cudaStreamIsCapturing(cudaStream_t stream, cudaStreamCaptureStatus* status);

cudaError_t cudaGraphInstantiate(cudaGraphExec_t* exec, cudaGraph_t graph, unsigned long long flags = 0);
cudaError_t cudaGraphLaunch(cudaGraphExec_t exec, cudaStream_t stream);
cudaError_t cudaGraphDestroy(cudaGraph_t graph);
cudaError_t cudaGraphExecDestroy(cudaGraphExec_t exec);
