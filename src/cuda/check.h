// SPDX-License-Identifier: MIT
// Every CUDA runtime, cuDNN, cuBLAS and driver-visible call goes through these checks. A failure becomes
// nst::Error with exit code 4 (runtime, spec §7) naming the call; an allocation failure says
// "out of device memory" so that the user knows what to lower.
#pragma once
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include "core/error.h"

namespace nst::cuda {

[[noreturn]] void throw_cuda(cudaError_t status, const char* expr, const char* file, int line);
[[noreturn]] void throw_cudnn(cudnnStatus_t status, const char* expr, const char* file, int line);
[[noreturn]] void throw_cublas(cublasStatus_t status, const char* expr, const char* file, int line);

}  // namespace nst::cuda

#define NST_CUDA_CHECK(expr)                                                              \
    do {                                                                                  \
        const cudaError_t nst_status_ = (expr);                                           \
        if (nst_status_ != cudaSuccess) ::nst::cuda::throw_cuda(nst_status_, #expr, __FILE__, __LINE__); \
    } while (0)

#define NST_CUDNN_CHECK(expr)                                                             \
    do {                                                                                  \
        const cudnnStatus_t nst_status_ = (expr);                                         \
        if (nst_status_ != CUDNN_STATUS_SUCCESS)                                          \
            ::nst::cuda::throw_cudnn(nst_status_, #expr, __FILE__, __LINE__);             \
    } while (0)

#define NST_CUBLAS_CHECK(expr)                                                            \
    do {                                                                                  \
        const cublasStatus_t nst_status_ = (expr);                                        \
        if (nst_status_ != CUBLAS_STATUS_SUCCESS)                                         \
            ::nst::cuda::throw_cublas(nst_status_, #expr, __FILE__, __LINE__);            \
    } while (0)
