// SPDX-License-Identifier: MIT
// Eigendecomposition of a real symmetric matrix in double by LAPACK's dsyevd (divide and
// conquer), for WCT's covariance matrices (nn/wct.h). LAPACK comes with OpenBLAS (Debian's
// libopenblas-openmp-dev ships liblapack.so next to libopenblas.so); the Fortran prototype is
// declared in sym_eigen.cpp rather than taken from a LAPACKE header nst does not otherwise need.
#pragma once
#include <vector>

namespace nst {

struct SymEigen {
    int n = 0;
    std::vector<double> values;   // n eigenvalues, ascending
    std::vector<double> vectors;  // n x n row-major: row k is the unit eigenvector of values[k]
};

// a: n x n row-major and symmetric (only its lower triangle in column-major terms, i.e. the upper
// triangle row-major, is read). Throws a runtime error (exit 4) if LAPACK fails to converge or a
// value is not finite.
SymEigen sym_eigen(const std::vector<double>& a, int n);

// E diag(f(d)) E^T over the eigenpairs with d >= threshold (the others contribute nothing), f(d)
// = d^power: power -1/2 whitens, +1/2 colours. n x n row-major.
std::vector<double> sym_power(const SymEigen& e, double power, double threshold);

}  // namespace nst
