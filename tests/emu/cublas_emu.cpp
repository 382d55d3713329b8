// SPDX-License-Identifier: MIT
// The fake cuBLAS of the backend emulation: a handle (stream, workspace, math mode) and the two
// routines src/cuda/gram_cublas.cpp calls, SSYRK and SGEMM, column-major with host scalars.
//
// What it models:
//   - The BLAS definitions: C = alpha op(A) op(A)^T + beta C on the `uplo` triangle only (SYRK;
//     the other triangle is left as it is), C = alpha op(A) op(B) + beta C (GEMM), op N or T,
//     C not read when beta == 0, the argument checks cuBLAS documents (sizes >= 0, leading
//     dimensions) as CUBLAS_STATUS_INVALID_VALUE.
//   - Arithmetic: operands read exactly, products and sums in double, one rounding to float at
//     the end (more accurate than any real kernel). Under CUBLAS_TF32_TENSOR_OP_MATH the operands
//     are first rounded to TF32 (10 explicit mantissa bits, nearest even), as tensor cores do.
//   - Streams: the scalars and sizes are read at the call; on a capturing stream the data work is
//     recorded and runs at replay (tests/emu/cuda_runtime_emu.h). A call recorded without a
//     workspace set by cublasSetWorkspace is counted (the real library may allocate then).
// Not modelled: cuBLAS's own kernels, their accumulation order and rounding, device pointer mode,
// the other routines and data types. cublasSetStream resets the workspace to the library's
// default, as the real one does, so a workspace must be set after the stream.
#include <cublas_v2.h>

#include <new>
#include <vector>

#include "cuda_runtime_emu.h"

struct cublasContext {
    cudaStream_t stream = nullptr;
    void* workspace = nullptr;
    std::size_t workspace_bytes = 0;
    cublasMath_t math = CUBLAS_DEFAULT_MATH;
};

namespace {

nst::emu::CublasStats g_stats;

using nst::emu::round_tf32;

// Element (i, j) of op(X) for a column-major X with leading dimension ld.
inline double op_at(const float* x, int ld, cublasOperation_t op, int i, int j, bool tf32) {
    const float v = op == CUBLAS_OP_N ? x[std::size_t(j) * ld + i] : x[std::size_t(i) * ld + j];
    return double(tf32 ? round_tf32(v) : v);
}

bool valid_op(cublasOperation_t op) { return op == CUBLAS_OP_N || op == CUBLAS_OP_T; }

void count_call(cublasHandle_t h, long long& counter) {
    ++counter;
    if (h->math == CUBLAS_TF32_TENSOR_OP_MATH) ++g_stats.tf32_calls;
    cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
    if (h->stream && cudaStreamIsCapturing(h->stream, &status) == cudaSuccess &&
        status == cudaStreamCaptureStatusActive && !h->workspace)
        ++g_stats.captured_without_workspace;
}

}  // namespace

namespace nst::emu {
const CublasStats& cublas_stats() { return g_stats; }
}  // namespace nst::emu

const char* cublasGetStatusName(cublasStatus_t status) {
    switch (status) {
        case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
        case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
        case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
        case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
        case CUBLAS_STATUS_ARCH_MISMATCH: return "CUBLAS_STATUS_ARCH_MISMATCH";
        case CUBLAS_STATUS_MAPPING_ERROR: return "CUBLAS_STATUS_MAPPING_ERROR";
        case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
        case CUBLAS_STATUS_INTERNAL_ERROR: return "CUBLAS_STATUS_INTERNAL_ERROR";
        case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
        case CUBLAS_STATUS_LICENSE_ERROR: return "CUBLAS_STATUS_LICENSE_ERROR";
    }
    return "CUBLAS_STATUS_UNKNOWN";
}

const char* cublasGetStatusString(cublasStatus_t status) { return cublasGetStatusName(status); }

cublasStatus_t cublasCreate(cublasHandle_t* handle) {
    if (!handle) return CUBLAS_STATUS_INVALID_VALUE;
    *handle = new (std::nothrow) cublasContext;
    if (!*handle) return CUBLAS_STATUS_ALLOC_FAILED;
    ++g_stats.handles;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasDestroy(cublasHandle_t handle) {
    if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
    delete handle;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetStream(cublasHandle_t handle, cudaStream_t stream) {
    if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
    handle->stream = stream;
    handle->workspace = nullptr;  // back to the library's default workspace, as cuBLAS does
    handle->workspace_bytes = 0;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetWorkspace(cublasHandle_t handle, void* workspace, std::size_t bytes) {
    if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
    if (bytes > 0 && !workspace) return CUBLAS_STATUS_INVALID_VALUE;
    if (reinterpret_cast<std::uintptr_t>(workspace) % 256 != 0) return CUBLAS_STATUS_INVALID_VALUE;
    handle->workspace = workspace;
    handle->workspace_bytes = bytes;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetMathMode(cublasHandle_t handle, cublasMath_t mode) {
    if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
    if (mode != CUBLAS_DEFAULT_MATH && mode != CUBLAS_TENSOR_OP_MATH && mode != CUBLAS_PEDANTIC_MATH &&
        mode != CUBLAS_TF32_TENSOR_OP_MATH)
        return CUBLAS_STATUS_INVALID_VALUE;
    handle->math = mode;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasGetMathMode(cublasHandle_t handle, cublasMath_t* mode) {
    if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
    if (!mode) return CUBLAS_STATUS_INVALID_VALUE;
    *mode = handle->math;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSsyrk(cublasHandle_t handle, cublasFillMode_t uplo, cublasOperation_t trans, int n, int k,
                           const float* alpha, const float* a, int lda, const float* beta, float* c, int ldc) {
    if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
    if ((uplo != CUBLAS_FILL_MODE_LOWER && uplo != CUBLAS_FILL_MODE_UPPER) || !valid_op(trans) || n < 0 || k < 0 ||
        !alpha || !beta)
        return CUBLAS_STATUS_INVALID_VALUE;
    const int rows_a = trans == CUBLAS_OP_N ? n : k;  // A is n x k (N) or k x n (T)
    if (lda < (rows_a > 1 ? rows_a : 1) || ldc < (n > 1 ? n : 1)) return CUBLAS_STATUS_INVALID_VALUE;
    if (n == 0) return CUBLAS_STATUS_SUCCESS;
    const double al = double(*alpha), be = double(*beta);
    const bool tf32 = handle->math == CUBLAS_TF32_TENSOR_OP_MATH;
    count_call(handle, g_stats.syrk);
    nst::emu::run_or_record(handle->stream, [=] {
        // op(A) is n x k: row i of op(A) is A[i, :] (N) or A[:, i] (T).
        for (int j = 0; j < n; ++j) {
            const int i0 = uplo == CUBLAS_FILL_MODE_UPPER ? 0 : j;
            const int i1 = uplo == CUBLAS_FILL_MODE_UPPER ? j : n - 1;
            for (int i = i0; i <= i1; ++i) {
                double s = 0;
                for (int q = 0; q < k; ++q) s += op_at(a, lda, trans, i, q, tf32) * op_at(a, lda, trans, j, q, tf32);
                float& out = c[std::size_t(j) * ldc + i];
                out = float(be == 0 ? al * s : al * s + be * double(out));
            }
        }
    });
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSgemm(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m, int n,
                           int k, const float* alpha, const float* a, int lda, const float* b, int ldb,
                           const float* beta, float* c, int ldc) {
    if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
    if (!valid_op(transa) || !valid_op(transb) || m < 0 || n < 0 || k < 0 || !alpha || !beta)
        return CUBLAS_STATUS_INVALID_VALUE;
    const int rows_a = transa == CUBLAS_OP_N ? m : k, rows_b = transb == CUBLAS_OP_N ? k : n;
    if (lda < (rows_a > 1 ? rows_a : 1) || ldb < (rows_b > 1 ? rows_b : 1) || ldc < (m > 1 ? m : 1))
        return CUBLAS_STATUS_INVALID_VALUE;
    if (m == 0 || n == 0) return CUBLAS_STATUS_SUCCESS;
    const double al = double(*alpha), be = double(*beta);
    const bool tf32 = handle->math == CUBLAS_TF32_TENSOR_OP_MATH;
    count_call(handle, g_stats.gemm);
    nst::emu::run_or_record(handle->stream, [=] {
        for (int j = 0; j < n; ++j)
            for (int i = 0; i < m; ++i) {
                double s = 0;
                for (int q = 0; q < k; ++q) s += op_at(a, lda, transa, i, q, tf32) * op_at(b, ldb, transb, q, j, tf32);
                float& out = c[std::size_t(j) * ldc + i];
                out = float(be == 0 ? al * s : al * s + be * double(out));
            }
    });
    return CUBLAS_STATUS_SUCCESS;
}
