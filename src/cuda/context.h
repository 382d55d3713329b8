// SPDX-License-Identifier: MIT
// Context: one device, one stream and the cuDNN (and, on first use, cuBLAS) handles bound to it.
// Everything of one engine runs on this stream, in order, so that an iteration can be captured
// as one CUDA graph.
#pragma once
#include <string>

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include "core/buffer.h"

namespace nst::cuda {

class Context {
public:
    explicit Context(int device);  // selects the device; runtime error (exit 4) if unusable
    ~Context();
    Context(const Context&) = delete;
    Context& operator=(const Context&) = delete;

    int device() const { return m_device; }
    cudaStream_t stream() const { return m_stream; }
    cudnnHandle_t cudnn() const { return m_cudnn; }
    // The cuBLAS handle on stream(), created on the first call (only the cuBLAS Gram path,
    // --gram-impl cublas-*, needs the library), with a workspace of its own, so that calls
    // captured into a graph never make cuBLAS allocate. Not to be first called while capturing.
    cublasHandle_t cublas();
    int sm_count() const { return m_sm_count; }
    const std::string& name() const { return m_name; }  // "NVIDIA H100 80GB HBM3 (sm_90)"

    void synchronize() const;  // waits for the stream; checks for errors

private:
    int m_device = 0;
    int m_sm_count = 0;
    std::string m_name;
    cudaStream_t m_stream = nullptr;
    cudnnHandle_t m_cudnn = nullptr;
    cublasHandle_t m_cublas = nullptr;
    Buffer m_cublas_workspace;  // device; outlives m_cublas (destroyed in ~Context's body)
};

}  // namespace nst::cuda
