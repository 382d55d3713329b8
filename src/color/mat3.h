// SPDX-License-Identifier: MIT
// 3x3 matrices in double for the colour transforms: products, the Cholesky factor, and the
// eigen-decomposition of a symmetric matrix (cyclic Jacobi). Colour statistics are 3x3, so
// clarity and accuracy win over speed here; every routine is exact to a few ulps of double.
#pragma once
#include <array>

namespace nst::color {

using Vec3 = std::array<double, 3>;
using Mat3 = std::array<Vec3, 3>;  // row-major: m[row][col]

Mat3 identity3();
Mat3 transpose(const Mat3& a);
Mat3 operator*(const Mat3& a, const Mat3& b);
Vec3 operator*(const Mat3& a, const Vec3& v);
Mat3 operator+(const Mat3& a, const Mat3& b);
Mat3 scaled(const Mat3& a, double s);

// Lower-triangular L with L Lᵀ = a. Returns false when a is not (numerically) positive
// definite, i.e. a pivot is <= 0.
bool cholesky(const Mat3& a, Mat3& l);
// Inverse of a lower-triangular matrix with a non-zero diagonal.
Mat3 lower_inverse(const Mat3& l);

// a = V diag(lambda) Vᵀ for a symmetric a (only its symmetric part is used): the columns of V
// are orthonormal eigenvectors. Jacobi rotations converge quadratically and keep V orthogonal
// to rounding, which matters for Σ^½ and Σ^-½ built from V.
void symmetric_eigen(const Mat3& a, Vec3& lambda, Mat3& v);

// V diag(f(lambda)) Vᵀ for f = sqrt or 1/sqrt. Returns false when an eigenvalue is <= 0
// (1/sqrt) or < 0 (sqrt), i.e. the matrix is not positive (semi-)definite.
bool symmetric_sqrt(const Mat3& a, Mat3& out);
bool symmetric_inverse_sqrt(const Mat3& a, Mat3& out);

}  // namespace nst::color
