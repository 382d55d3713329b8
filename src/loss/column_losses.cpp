// SPDX-License-Identifier: MIT
// The two phases of the losses over blocks of positions (column_losses.h).
//
// Style gradient: L = ls * sum (G - A)^2 with G = gs F F^T gives dL/dF = 4 ls gs (G - A) F, as G - A
// is symmetric (style_loss.cpp); over a block it is the same product restricted to the block's
// columns, because column p of D F depends on column p of F only. Guided: d/dF of the loss of
// F o t is t o (D (F o t)) by the chain rule, i.e. D applied to F o t o t.
#include <algorithm>

#include "core/error.h"
#include "loss/blas.h"
#include "loss/column_losses.h"
#include "loss/fixed_order_sum.h"

namespace nst::cpu {

namespace {

// f(ch) for every channel, in parallel when the block (c x m values) is large enough to pay.
template <typename F>
void for_each_channel(std::size_t c, std::size_t m, F&& f) {
#pragma omp parallel for schedule(static) if (c * m >= 65536)
    for (std::ptrdiff_t ch = 0; ch < std::ptrdiff_t(c); ++ch) f(int(ch));
}

// ft (C x n, packed) = F o t over the block's columns, or over its support's columns.
template <typename T>
void masked_copy(T* ft, Columns<const T> f, const T* t, const std::int32_t* support, std::size_t nnz) {
    const std::size_t n = support ? nnz : f.m;
    for_each_channel(std::size_t(f.c), n, [&](int ch) {
        const T* src = f.row(ch);
        T* dst = ft + std::size_t(ch) * n;
        if (support)
            for (std::size_t p = 0; p < nnz; ++p) dst[p] = src[support[p]] * t[support[p]];
        else
            for (std::size_t p = 0; p < n; ++p) dst[p] = src[p] * t[p];
    });
}

}  // namespace

template <typename T>
double content_sum(Columns<const T> f, Columns<const T> p) {
    NST_REQUIRE(f.c == p.c && f.m == p.m, "content_sum: features and target blocks differ");
    const std::size_t m = f.m;
    if (f.m == f.ld && p.m == p.ld)  // whole maps: one flat range
        return detail::fixed_order_sum(std::size_t(f.c) * m, [&](std::size_t i) {
            const double e = double(f.data[i]) - double(p.data[i]);
            return e * e;
        });
    return detail::fixed_order_sum(std::size_t(f.c) * m, [&](std::size_t i) {
        const std::size_t ch = i / m, q = i % m;
        const double e = double(f.row(int(ch))[q]) - double(p.row(int(ch))[q]);
        return e * e;
    });
}

template <typename T>
void content_gradient(Columns<T> df, Columns<const T> f, Columns<const T> p, double two_scale) {
    NST_REQUIRE(df.c == f.c && df.m == f.m && f.c == p.c && f.m == p.m, "content_gradient: blocks differ");
    for_each_channel(std::size_t(f.c), f.m, [&](int ch) {
        const T* fr = f.row(ch);
        const T* pr = p.row(ch);
        T* dr = df.row(ch);
        for (std::size_t q = 0; q < f.m; ++q) dr[q] += T(two_scale * (double(fr[q]) - double(pr[q])));
    });
}

template <typename T>
void gram_upper(T* g, Columns<const T> f, double scale, bool assign) {
    const int c = f.c;
    if (f.m == 0) {
        if (assign) std::fill(g, g + std::size_t(c) * c, T(0));
        return;
    }
    detail::syrk_upper(c, detail::blas_int(f.m), scale, f.data, detail::blas_int(f.ld), assign ? 0.0 : 1.0, g);
}

template <typename T>
void style_gradient(Columns<T> df, const T* d, Columns<const T> f, double alpha) {
    NST_REQUIRE(df.c == f.c && df.m == f.m, "style_gradient: blocks differ");
    if (f.m == 0) return;
    detail::gemm(f.c, detail::blas_int(f.m), f.c, alpha, d, f.data, detail::blas_int(f.ld), 1.0, df.data,
                 detail::blas_int(df.ld));
}

template <typename T>
void guided_gram_upper(T* g, Columns<const T> f, const T* t, const std::int32_t* support, std::size_t nnz,
                       double scale, bool assign, T* ft) {
    const std::size_t n = support ? nnz : f.m;
    masked_copy(ft, f, t, support, nnz);
    const int c = f.c;
    if (n == 0) {
        if (assign) std::fill(g, g + std::size_t(c) * c, T(0));
        return;
    }
    detail::syrk_upper(c, detail::blas_int(n), scale, ft, detail::blas_int(n), assign ? 0.0 : 1.0, g);
}

template <typename T>
void guided_style_gradient(Columns<T> df, const T* d, Columns<const T> f, const T* t, const std::int32_t* support,
                           std::size_t nnz, double alpha, T* ft) {
    NST_REQUIRE(df.c == f.c && df.m == f.m, "guided_style_gradient: blocks differ");
    const int c = f.c;
    const std::size_t m = f.m;
    if (m == 0) return;
    if (!support) {
        // ft = F o t o t, then one gemm straight into df.
        for_each_channel(std::size_t(c), m, [&](int ch) {
            const T* src = f.row(ch);
            T* dst = ft + std::size_t(ch) * m;
            for (std::size_t p = 0; p < m; ++p) dst[p] = src[p] * t[p] * t[p];
        });
        detail::gemm(c, detail::blas_int(m), c, alpha, d, ft, detail::blas_int(m), 1.0, df.data,
                     detail::blas_int(df.ld));
        return;
    }
    // Compacted: (G - A)(F o t) over the support, block by block into the free part of ft (the
    // support is under 3/4 of the columns, so >= m/4 columns per channel are free: a few large
    // gemms), each column multiplied by t once more as it is added to its column of df. Few
    // blocks matter: every gemm and parallel loop is a barrier, and barriers are what an
    // oversubscribed machine makes expensive.
    NST_REQUIRE(nnz < m, "guided_style_gradient: support must be smaller than the block");
    if (nnz == 0) return;
    masked_copy(ft, f, t, support, nnz);
    const std::size_t block = m - nnz;
    T* out = ft + std::size_t(c) * nnz;  // c x block
    for (std::size_t p0 = 0; p0 < nnz; p0 += block) {
        const std::size_t b = std::min(block, nnz - p0);
        detail::gemm(c, detail::blas_int(b), c, alpha, d, ft + p0, detail::blas_int(nnz), 0.0, out,
                     detail::blas_int(b));
        for_each_channel(std::size_t(c), b, [&](int ch) {
            T* drow = df.row(ch);
            const T* orow = out + std::size_t(ch) * b;
            for (std::size_t q = 0; q < b; ++q) {
                const std::int32_t i = support[p0 + q];
                drow[i] += orow[q] * t[i];
            }
        });
    }
}

#define NST_COLUMN_LOSSES(T)                                                                                    \
    template double content_sum<T>(Columns<const T>, Columns<const T>);                                         \
    template void content_gradient<T>(Columns<T>, Columns<const T>, Columns<const T>, double);                  \
    template void gram_upper<T>(T*, Columns<const T>, double, bool);                                            \
    template void style_gradient<T>(Columns<T>, const T*, Columns<const T>, double);                            \
    template void guided_gram_upper<T>(T*, Columns<const T>, const T*, const std::int32_t*, std::size_t, double, \
                                       bool, T*);                                                               \
    template void guided_style_gradient<T>(Columns<T>, const T*, Columns<const T>, const T*, const std::int32_t*, \
                                           std::size_t, double, T*);
NST_COLUMN_LOSSES(float)
NST_COLUMN_LOSSES(double)
#undef NST_COLUMN_LOSSES

}  // namespace nst::cpu
