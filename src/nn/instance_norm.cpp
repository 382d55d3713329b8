// SPDX-License-Identifier: MIT
// Instance normalisation on the CPU (nn/instance_norm.h, nn/instance_norm_impl.h). One plane
// (n, c) per OpenMP iteration. Statistics from sums shifted by the plane's first value, so that
// the one-pass variance does not cancel when the mean is large against the spread; summed in T
// over blocks of 512 values (vectorised) and in double across blocks.
#include <algorithm>
#include <cmath>

#include "nn/instance_norm_impl.h"

namespace nst::cpu {

namespace {

template <typename T>
void check_norm(const Shape& x, const Shape& y, const Shape& mean, const Shape& inv_std, const Shape& gamma,
                const Shape& beta, bool affine, const char* what) {
    const Shape stats{x.n, x.c, 1, 1};
    NST_REQUIRE(x == y && mean == stats && inv_std == stats, std::string(what) + ": shapes x " + x.str() + ", y " +
                                                                 y.str() + ", mean " + mean.str() + ", inv_std " +
                                                                 inv_std.str());
    NST_REQUIRE(!affine || (gamma == Shape{1, x.c, 1, 1} && beta == Shape{1, x.c, 1, 1}),
                std::string(what) + ": gamma and beta must be (1, C, 1, 1)");
    NST_REQUIRE(x.h * x.w > 0, std::string(what) + ": empty planes");
}

}  // namespace

namespace detail {

template <typename T>
void instance_norm_forward_fused(TensorView<T> y, TensorView<T> mean, TensorView<T> inv_std, ConstView<T> x,
                                 ConstView<T> gamma, ConstView<T> beta, double eps, bool relu) {
    const bool affine = !gamma.empty();
    NST_REQUIRE(gamma.empty() == beta.empty(), "instance_norm_forward: gamma and beta come together");
    check_norm<T>(x.shape, y.shape, mean.shape, inv_std.shape, gamma.shape, beta.shape, affine, "instance_norm_forward");
    const int planes = x.shape.n * x.shape.c, channels = x.shape.c;
    const std::ptrdiff_t n = std::ptrdiff_t(x.shape.plane());
#pragma omp parallel for schedule(static)
    for (int p = 0; p < planes; ++p) {
        const T* xp = x.data + std::size_t(p) * n;
        T* yp = y.data + std::size_t(p) * n;
        const T shift = xp[0];
        double s1 = 0, s2 = 0;
        for (std::ptrdiff_t j0 = 0; j0 < n; j0 += 512) {
            const std::ptrdiff_t j1 = std::min(n, j0 + 512);
            T a = 0, b = 0;
#pragma omp simd reduction(+ : a, b)
            for (std::ptrdiff_t j = j0; j < j1; ++j) {
                const T d = xp[j] - shift;
                a += d;
                b += d * d;
            }
            s1 += double(a);
            s2 += double(b);
        }
        const double m1 = s1 / double(n);
        const double var = std::max(s2 / double(n) - m1 * m1, 0.0);
        const double mu = double(shift) + m1, is = 1 / std::sqrt(var + eps);
        mean.data[p] = T(mu);
        inv_std.data[p] = T(is);
        const int c = p % channels;
        // y = a x + b with a = gamma / sigma, b = beta - a mu.
        const double a = affine ? double(gamma.data[c]) * is : is;
        const T ta = T(a), tb = T((affine ? double(beta.data[c]) : 0.0) - a * mu);
        if (relu) {
#pragma omp simd
            for (std::ptrdiff_t j = 0; j < n; ++j) yp[j] = std::max(ta * xp[j] + tb, T(0));
        } else {
#pragma omp simd
            for (std::ptrdiff_t j = 0; j < n; ++j) yp[j] = ta * xp[j] + tb;
        }
    }
}

namespace {

constexpr std::ptrdiff_t kBlock = 512;  // values summed in T before joining the double total

// Sums of g and g (x - mu) over a plane, g = dy masked by (relu_out > 0) when Masked: in T
// within blocks (vectorised), in double across blocks.
template <typename T, bool Masked>
void plane_sums(const T* gp, const T* mp, const T* xp, T mu, std::ptrdiff_t n, double& s_g, double& s_gx) {
    s_g = 0;
    s_gx = 0;
    for (std::ptrdiff_t j0 = 0; j0 < n; j0 += kBlock) {
        const std::ptrdiff_t j1 = std::min(n, j0 + kBlock);
        T a = 0, b = 0;
#pragma omp simd reduction(+ : a, b)
        for (std::ptrdiff_t j = j0; j < j1; ++j) {
            const T g = Masked ? (mp[j] > T(0) ? gp[j] : T(0)) : gp[j];
            a += g;
            b += g * (xp[j] - mu);
        }
        s_g += double(a);
        s_gx += double(b);
    }
}

template <typename T, bool Masked>
void plane_dx(T* dp, const T* gp, const T* mp, const T* xp, T mu, T k1, T k0, T kx, std::ptrdiff_t n) {
#pragma omp simd
    for (std::ptrdiff_t j = 0; j < n; ++j) {
        const T g = Masked ? (mp[j] > T(0) ? gp[j] : T(0)) : gp[j];
        dp[j] = k1 * g - k0 - kx * (xp[j] - mu);
    }
}

}  // namespace

template <typename T>
void instance_norm_backward_fused(TensorView<T> dx, TensorView<T> dgamma, TensorView<T> dbeta, ConstView<T> dy,
                                  ConstView<T> relu_out, ConstView<T> x, ConstView<T> mean, ConstView<T> inv_std,
                                  ConstView<T> gamma) {
    const bool affine = !gamma.empty();
    check_norm<T>(x.shape, dx.shape, mean.shape, inv_std.shape, gamma.shape, gamma.shape, affine,
                  "instance_norm_backward");
    NST_REQUIRE(dy.shape == x.shape && (relu_out.empty() || relu_out.shape == x.shape),
                "instance_norm_backward: dy " + dy.shape.str() + " for x " + x.shape.str());
    NST_REQUIRE((dgamma.empty() || dgamma.numel() == std::size_t(x.shape.c)) &&
                    (dbeta.empty() || dbeta.numel() == std::size_t(x.shape.c)),
                "instance_norm_backward: dgamma and dbeta must be (1, C, 1, 1)");
    const int batch = x.shape.n, channels = x.shape.c;
    const std::ptrdiff_t n = std::ptrdiff_t(x.shape.plane());
    const bool masked = !relu_out.empty();
    // Channels in parallel, samples in order: the parameter sums of a channel stay in one thread.
#pragma omp parallel for schedule(static)
    for (int c = 0; c < channels; ++c) {
        double sum_g = 0, sum_gx = 0;  // over the batch: dbeta, dgamma
        for (int b = 0; b < batch; ++b) {
            const std::size_t p = std::size_t(b) * channels + c;
            const T* xp = x.data + p * n;
            const T* gp = dy.data + p * n;
            const T* mp = masked ? relu_out.data + p * n : nullptr;
            T* dp = dx.data + p * n;
            const double mu = double(mean.data[p]), is = double(inv_std.data[p]);
            const T tmu = T(mu);
            double s_g, s_gx;
            if (masked)
                plane_sums<T, true>(gp, mp, xp, tmu, n, s_g, s_gx);
            else
                plane_sums<T, false>(gp, mp, xp, tmu, n, s_g, s_gx);
            s_gx *= is;  // sum of g xhat
            sum_g += s_g;
            sum_gx += s_gx;
            // dxhat = gamma g; dx = is (dxhat - mean(dxhat) - xhat mean(dxhat xhat)).
            const double gam = affine ? double(gamma.data[c]) : 1.0;
            const T k1 = T(gam * is), k0 = T(gam * is * s_g / double(n)), kx = T(gam * is * is * s_gx / double(n));
            if (masked)
                plane_dx<T, true>(dp, gp, mp, xp, tmu, k1, k0, kx, n);
            else
                plane_dx<T, false>(dp, gp, mp, xp, tmu, k1, k0, kx, n);
        }
        if (!dgamma.empty()) dgamma.data[c] += T(sum_gx);
        if (!dbeta.empty()) dbeta.data[c] += T(sum_g);
    }
}

}  // namespace detail

template <typename T>
void instance_norm_forward(TensorView<T> y, TensorView<T> mean, TensorView<T> inv_std, ConstView<T> x,
                           ConstView<T> gamma, ConstView<T> beta, double eps) {
    detail::instance_norm_forward_fused(y, mean, inv_std, x, gamma, beta, eps, false);
}

template <typename T>
void instance_norm_backward(TensorView<T> dx, TensorView<T> dgamma, TensorView<T> dbeta, ConstView<T> dy,
                            ConstView<T> x, ConstView<T> mean, ConstView<T> inv_std, ConstView<T> gamma) {
    detail::instance_norm_backward_fused(dx, dgamma, dbeta, dy, ConstView<T>(), x, mean, inv_std, gamma);
}

#define NST_IN_INSTANTIATE(T)                                                                                        \
    template void instance_norm_forward<T>(TensorView<T>, TensorView<T>, TensorView<T>, ConstView<T>, ConstView<T>,  \
                                           ConstView<T>, double);                                                    \
    template void instance_norm_backward<T>(TensorView<T>, TensorView<T>, TensorView<T>, ConstView<T>, ConstView<T>, \
                                            ConstView<T>, ConstView<T>, ConstView<T>);                               \
    template void detail::instance_norm_forward_fused<T>(TensorView<T>, TensorView<T>, TensorView<T>, ConstView<T>,  \
                                                         ConstView<T>, ConstView<T>, double, bool);                  \
    template void detail::instance_norm_backward_fused<T>(TensorView<T>, TensorView<T>, TensorView<T>, ConstView<T>, \
                                                          ConstView<T>, ConstView<T>, ConstView<T>, ConstView<T>,    \
                                                          ConstView<T>);
NST_IN_INSTANTIATE(float)
NST_IN_INSTANTIATE(double)
#undef NST_IN_INSTANTIATE

}  // namespace nst::cpu
