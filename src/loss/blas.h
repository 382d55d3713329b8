// SPDX-License-Identifier: MIT
// Overloads of the two CBLAS routines the losses need, so that the loss templates can call one
// name for float and double. Row-major throughout: a feature map (1, C, H, W) is the C x M
// matrix F with leading dimension M = H*W.
#pragma once
#include <cblas.h>

#include <climits>
#include <cstddef>

#include "core/error.h"

namespace nst::detail {

inline int blas_int(std::size_t v) {
    NST_REQUIRE(v <= std::size_t(INT_MAX), "matrix dimension exceeds the BLAS integer range");
    return int(v);
}

// Upper triangle of c (n x n) = alpha * a a^T, a: (n x k).
inline void syrk_upper(int n, int k, double alpha, const float* a, float* c) {
    cblas_ssyrk(CblasRowMajor, CblasUpper, CblasNoTrans, n, k, float(alpha), a, k, 0.0f, c, n);
}
inline void syrk_upper(int n, int k, double alpha, const double* a, double* c) {
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, n, k, alpha, a, k, 0.0, c, n);
}

// c (m x n) += alpha * a b, a: (m x k), b: (k x n).
inline void gemm_accumulate(int m, int n, int k, double alpha, const float* a, const float* b, float* c) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, float(alpha), a, k, b, n, 1.0f, c, n);
}
inline void gemm_accumulate(int m, int n, int k, double alpha, const double* a, const double* b, double* c) {
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, alpha, a, k, b, n, 1.0, c, n);
}

}  // namespace nst::detail
