// SPDX-License-Identifier: MIT
#include "cuda/context.h"

#include "cuda/check.h"
#include "engine/engine.h"

namespace nst {

// A machine without a driver or without a GPU reports an error here rather than 0 devices;
// both mean "none usable", which is what `--backend auto` needs to know.
int cuda_device_count() {
    int count = 0;
    if (cudaGetDeviceCount(&count) != cudaSuccess) {
        cudaGetLastError();
        return 0;
    }
    return count;
}

namespace cuda {

namespace {

// cuBLAS's recommended workspace on Hopper (32 MiB; 4 MiB suffices on earlier GPUs).
constexpr std::size_t kCublasWorkspaceBytes = std::size_t(32) << 20;

}  // namespace

Context::Context(int device) : m_device(device) {
    const int count = cuda_device_count();
    if (device < 0 || device >= count)
        throw_runtime("--gpu " + std::to_string(device) + ": no such device (" + std::to_string(count) +
                      " CUDA device(s) found)");
    NST_CUDA_CHECK(cudaSetDevice(device));
    cudaDeviceProp prop{};
    NST_CUDA_CHECK(cudaGetDeviceProperties(&prop, device));
    m_sm_count = prop.multiProcessorCount;
    m_name = std::string(prop.name) + " (sm_" + std::to_string(prop.major) + std::to_string(prop.minor) + ")";
    NST_CUDA_CHECK(cudaStreamCreateWithFlags(&m_stream, cudaStreamNonBlocking));
    try {
        NST_CUDNN_CHECK(cudnnCreate(&m_cudnn));
        NST_CUDNN_CHECK(cudnnSetStream(m_cudnn, m_stream));
    } catch (...) {
        if (m_cudnn) cudnnDestroy(m_cudnn);
        cudaStreamDestroy(m_stream);
        throw;
    }
}

Context::~Context() {
    // Destructors must not throw: errors here would only repeat one already reported.
    if (m_stream) cudaStreamSynchronize(m_stream);
    if (m_cublas) cublasDestroy(m_cublas);
    if (m_cudnn) cudnnDestroy(m_cudnn);
    if (m_stream) cudaStreamDestroy(m_stream);
}

cublasHandle_t Context::cublas() {
    if (m_cublas) return m_cublas;
    Buffer workspace(kCublasWorkspaceBytes, Device::Cuda);
    cublasHandle_t handle = nullptr;
    NST_CUBLAS_CHECK(cublasCreate(&handle));
    try {
        NST_CUBLAS_CHECK(cublasSetStream(handle, m_stream));
        // After cublasSetStream, which resets the workspace to the library's default.
        NST_CUBLAS_CHECK(cublasSetWorkspace(handle, workspace.data(), workspace.bytes()));
    } catch (...) {
        cublasDestroy(handle);
        throw;
    }
    m_cublas = handle;
    m_cublas_workspace = std::move(workspace);
    return m_cublas;
}

void Context::synchronize() const { NST_CUDA_CHECK(cudaStreamSynchronize(m_stream)); }

}  // namespace cuda
}  // namespace nst
