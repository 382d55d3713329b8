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

// Upper triangle of c (n x n) = alpha * a a^T + beta * c, a: (n x k) with row stride lda (a block
// of columns of a feature map keeps the map's stride, loss/columns.h).
inline void syrk_upper(int n, int k, double alpha, const float* a, int lda, double beta, float* c) {
    cblas_ssyrk(CblasRowMajor, CblasUpper, CblasNoTrans, n, k, float(alpha), a, lda, float(beta), c, n);
}
inline void syrk_upper(int n, int k, double alpha, const double* a, int lda, double beta, double* c) {
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, n, k, alpha, a, lda, beta, c, n);
}

// c (m x n, row stride ldc) = alpha * a b + beta * c, a: (m x k) packed, b: (k x n, row stride ldb).
inline void gemm(int m, int n, int k, double alpha, const float* a, const float* b, int ldb, double beta, float* c,
                 int ldc) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, float(alpha), a, k, b, ldb, float(beta), c, ldc);
}
inline void gemm(int m, int n, int k, double alpha, const double* a, const double* b, int ldb, double beta,
                 double* c, int ldc) {
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, alpha, a, k, b, ldb, beta, c, ldc);
}

}  // namespace nst::detail
