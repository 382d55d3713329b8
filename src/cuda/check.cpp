// SPDX-License-Identifier: MIT
#include "cuda/check.h"

#include <string>

namespace nst::cuda {

namespace {

// "kernels/gram.cu:42" rather than the absolute path the compiler saw.
std::string short_location(const char* file, int line) {
    std::string f(file);
    for (const char* root : {"/src/", "/kernels/"}) {
        const std::size_t at = f.rfind(root);
        if (at != std::string::npos) {
            f = f.substr(at + 1);
            break;
        }
    }
    return f + ":" + std::to_string(line);
}

}  // namespace

void throw_cuda(cudaError_t status, const char* expr, const char* file, int line) {
    cudaGetLastError();  // clear a non-sticky error so that the process can still clean up
    if (status == cudaErrorMemoryAllocation)
        throw_runtime("out of device memory (" + std::string(expr) + " at " + short_location(file, line) +
                      "); lower --image-size or --lbfgs-history");
    throw_runtime(std::string("CUDA error: ") + cudaGetErrorName(status) + " (" + cudaGetErrorString(status) +
                  ") in " + expr + " at " + short_location(file, line));
}

void throw_cudnn(cudnnStatus_t status, const char* expr, const char* file, int line) {
    if (status == CUDNN_STATUS_ALLOC_FAILED)
        throw_runtime("out of device memory in cuDNN (" + std::string(expr) + " at " +
                      short_location(file, line) + "); lower --image-size or --lbfgs-history");
    throw_runtime(std::string("cuDNN error: ") + cudnnGetErrorString(status) + " in " + expr + " at " +
                  short_location(file, line));
}

void throw_cublas(cublasStatus_t status, const char* expr, const char* file, int line) {
    if (status == CUBLAS_STATUS_ALLOC_FAILED)
        throw_runtime("out of device memory in cuBLAS (" + std::string(expr) + " at " +
                      short_location(file, line) + "); lower --image-size or --lbfgs-history");
    throw_runtime(std::string("cuBLAS error: ") + cublasGetStatusName(status) + " (" + cublasGetStatusString(status) +
                  ") in " + expr + " at " + short_location(file, line));
}

}  // namespace nst::cuda
