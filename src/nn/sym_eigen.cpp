// SPDX-License-Identifier: MIT
#include "nn/sym_eigen.h"

#include <cblas.h>

#include <cmath>
#include <cstddef>
#include <string>

#include "core/error.h"

// LAPACK (reference Fortran, gfortran calling convention: every argument by reference, one
// hidden length per character argument at the end).
extern "C" void dsyevd_(const char* jobz, const char* uplo, const int* n, double* a, const int* lda, double* w,
                        double* work, const int* lwork, int* iwork, const int* liwork, int* info,
                        std::size_t jobz_len, std::size_t uplo_len);

namespace nst {

SymEigen sym_eigen(const std::vector<double>& a, int n) {
    NST_REQUIRE(n > 0 && a.size() == std::size_t(n) * std::size_t(n), "sym_eigen: a must be n x n");
    for (double v : a)
        if (!std::isfinite(v)) throw_runtime("eigendecomposition: the matrix has a non-finite value");
    SymEigen e;
    e.n = n;
    // Row-major symmetric = column-major symmetric; LAPACK's "L" (lower, column-major) is the
    // row-major upper triangle. On exit column k (column-major) = row k (row-major) is vector k.
    e.vectors = a;
    e.values.assign(std::size_t(n), 0.0);
    const char jobz = 'V', uplo = 'L';
    int info = 0, lwork = -1, liwork = -1, iwork_query = 0;
    double work_query = 0;
    dsyevd_(&jobz, &uplo, &n, e.vectors.data(), &n, e.values.data(), &work_query, &lwork, &iwork_query, &liwork,
            &info, 1, 1);
    if (info != 0) throw_runtime("eigendecomposition: dsyevd workspace query failed (info " + std::to_string(info) + ")");
    lwork = int(work_query);
    liwork = iwork_query;
    std::vector<double> work(std::size_t(lwork > 1 ? lwork : 1));
    std::vector<int> iwork(std::size_t(liwork > 1 ? liwork : 1));
    dsyevd_(&jobz, &uplo, &n, e.vectors.data(), &n, e.values.data(), work.data(), &lwork, iwork.data(), &liwork,
            &info, 1, 1);
    if (info != 0)
        throw_runtime("eigendecomposition: dsyevd did not converge (info " + std::to_string(info) + ")");
    return e;
}

std::vector<double> sym_power(const SymEigen& e, double power, double threshold) {
    const std::size_t n = std::size_t(e.n);
    // out = V^T diag(f) V over the kept rows V of e.vectors, by one DGEMM.
    std::vector<double> kept, scaled;
    int m = 0;
    for (std::size_t k = 0; k < n; ++k) {
        const double d = e.values[k];
        if (!(d >= threshold)) continue;
        const double f = std::pow(d, power);
        const double* v = e.vectors.data() + k * n;
        for (std::size_t i = 0; i < n; ++i) {
            kept.push_back(v[i]);
            scaled.push_back(f * v[i]);
        }
        ++m;
    }
    std::vector<double> out(n * n, 0.0);
    if (m > 0)
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, e.n, e.n, m, 1.0, kept.data(), e.n, scaled.data(), e.n,
                    0.0, out.data(), e.n);
    return out;
}

}  // namespace nst
