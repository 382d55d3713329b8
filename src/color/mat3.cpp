// SPDX-License-Identifier: MIT
#include "color/mat3.h"

#include <cmath>

namespace nst::color {

Mat3 identity3() { return {{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}}; }

Mat3 transpose(const Mat3& a) {
    Mat3 t{};
    for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 3; ++j) t[i][j] = a[j][i];
    return t;
}

Mat3 operator*(const Mat3& a, const Mat3& b) {
    Mat3 c{};
    for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 3; ++j) c[i][j] = a[i][0] * b[0][j] + a[i][1] * b[1][j] + a[i][2] * b[2][j];
    return c;
}

Vec3 operator*(const Mat3& a, const Vec3& v) {
    Vec3 r{};
    for (int i = 0; i < 3; ++i) r[i] = a[i][0] * v[0] + a[i][1] * v[1] + a[i][2] * v[2];
    return r;
}

Mat3 operator+(const Mat3& a, const Mat3& b) {
    Mat3 c{};
    for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 3; ++j) c[i][j] = a[i][j] + b[i][j];
    return c;
}

Mat3 scaled(const Mat3& a, double s) {
    Mat3 c{};
    for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 3; ++j) c[i][j] = a[i][j] * s;
    return c;
}

bool cholesky(const Mat3& a, Mat3& l) {
    l = Mat3{};
    for (int j = 0; j < 3; ++j) {
        double d = a[j][j];
        for (int k = 0; k < j; ++k) d -= l[j][k] * l[j][k];
        if (!(d > 0)) return false;
        l[j][j] = std::sqrt(d);
        for (int i = j + 1; i < 3; ++i) {
            double s = a[i][j];
            for (int k = 0; k < j; ++k) s -= l[i][k] * l[j][k];
            l[i][j] = s / l[j][j];
        }
    }
    return true;
}

Mat3 lower_inverse(const Mat3& l) {
    // Forward substitution, one column of the identity at a time.
    Mat3 inv{};
    for (int c = 0; c < 3; ++c) {
        for (int i = 0; i < 3; ++i) {
            double s = i == c ? 1.0 : 0.0;
            for (int k = 0; k < i; ++k) s -= l[i][k] * inv[k][c];
            inv[i][c] = s / l[i][i];
        }
    }
    return inv;
}

void symmetric_eigen(const Mat3& a_in, Vec3& lambda, Mat3& v) {
    Mat3 a{};
    for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 3; ++j) a[i][j] = 0.5 * (a_in[i][j] + a_in[j][i]);
    v = identity3();
    for (int sweep = 0; sweep < 64; ++sweep) {
        const double off = a[0][1] * a[0][1] + a[0][2] * a[0][2] + a[1][2] * a[1][2];
        if (off == 0) break;
        for (int p = 0; p < 2; ++p) {
            for (int q = p + 1; q < 3; ++q) {
                if (a[p][q] == 0) continue;
                // Rotation J in the (p, q) plane that zeroes a[p][q] in Jᵀ a J: t = tan(angle)
                // is the smaller root of t² + 2θt − 1 = 0, θ = (a_qq − a_pp) / (2 a_pq), which
                // keeps the rotation below 45° and the iteration stable.
                const double theta = (a[q][q] - a[p][p]) / (2 * a[p][q]);
                const double t = (theta >= 0 ? 1.0 : -1.0) / (std::fabs(theta) + std::sqrt(theta * theta + 1));
                const double c = 1 / std::sqrt(t * t + 1), s = t * c;
                Mat3 j = identity3();
                j[p][p] = c;
                j[q][q] = c;
                j[p][q] = s;
                j[q][p] = -s;
                a = transpose(j) * a * j;
                a[p][q] = a[q][p] = 0;  // exactly zero by construction; drop the rounding residue
                v = v * j;
            }
        }
    }
    for (int i = 0; i < 3; ++i) lambda[i] = a[i][i];
}

namespace {

template <typename F>
Mat3 eigen_function(const Mat3& vecs, const Vec3& lambda, F f) {
    Mat3 out{};
    for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 3; ++j) {
            double s = 0;
            for (int k = 0; k < 3; ++k) s += vecs[i][k] * f(lambda[k]) * vecs[j][k];
            out[i][j] = s;
        }
    return out;
}

}  // namespace

bool symmetric_sqrt(const Mat3& a, Mat3& out) {
    Vec3 lambda;
    Mat3 v;
    symmetric_eigen(a, lambda, v);
    for (double l : lambda)
        if (!(l >= 0)) return false;
    out = eigen_function(v, lambda, [](double l) { return std::sqrt(l); });
    return true;
}

bool symmetric_inverse_sqrt(const Mat3& a, Mat3& out) {
    Vec3 lambda;
    Mat3 v;
    symmetric_eigen(a, lambda, v);
    for (double l : lambda)
        if (!(l > 0)) return false;
    out = eigen_function(v, lambda, [](double l) { return 1 / std::sqrt(l); });
    return true;
}

}  // namespace nst::color
