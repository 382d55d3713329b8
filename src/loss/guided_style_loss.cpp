// SPDX-License-Identifier: MIT
// Guided Gram and guided style loss (losses.h): the Gram of the masked features F o T and its
// gradient. d(F o T) = 4 ls gs (G - A)(F o T) (style_loss.cpp), and the chain rule through the
// masking multiplies each column by T once more, which is the same as feeding F o T o T to the
// gemm: (G - A)(F diag T) diag T = (G - A)(F diag T^2).
#include <algorithm>

#include "core/error.h"
#include "loss/blas.h"
#include "loss/gram_detail.h"
#include "loss/losses.h"

namespace nst::cpu {

namespace {

// dst = src o t per channel (dst may alias src).
template <typename T>
void mask_channels(T* dst, const T* src, const T* t, int c, std::size_t m) {
#pragma omp parallel for schedule(static) if (std::size_t(c) * m >= 65536)
    for (int ch = 0; ch < c; ++ch) {
        const T* s = src + std::size_t(ch) * m;
        T* d = dst + std::size_t(ch) * m;
        for (std::size_t i = 0; i < m; ++i) d[i] = s[i] * t[i];
    }
}

template <typename T>
void check_guided(ConstView<T> f, ConstView<T> t, TensorView<T> ft) {
    NST_REQUIRE(f.device == Device::Host && t.device == Device::Host && ft.device == Device::Host,
                "guided Gram: host tensors only");
    NST_REQUIRE(f.shape.n == 1, "guided Gram: batch size must be 1, got " + f.shape.str());
    const Shape ts{1, 1, f.shape.h, f.shape.w};
    NST_REQUIRE(t.shape == ts, "guided Gram: guide " + t.shape.str() + ", expected " + ts.str());
    NST_REQUIRE(ft.shape == f.shape, "guided Gram: scratch " + ft.shape.str() + " vs features " + f.shape.str());
}

}  // namespace

template <typename T>
void guided_gram(TensorView<T> g,  // (1, 1, C, C)
                 ConstView<T> f,   // (1, C, H, W)
                 ConstView<T> t,   // (1, 1, H, W)
                 double scale,
                 TensorView<T> ft) {  // (1, C, H, W)
    check_guided(f, t, ft);
    mask_channels(ft.data, f.data, t.data, f.shape.c, f.shape.plane());
    gram_matrix(g, ConstView<T>(ft), scale);
}

namespace {

// c (m x n, ldc n) = alpha * a b, a: (m x k, lda k), b: (k x n, ldb) — a block of the compacted
// gradient, before it is added to df's columns.
inline void gemm_block(int m, int n, int k, double alpha, const float* a, const float* b, int ldb, float* c) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, float(alpha), a, k, b, ldb, 0.0f, c, n);
}
inline void gemm_block(int m, int n, int k, double alpha, const double* a, const double* b, int ldb, double* c) {
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, alpha, a, k, b, ldb, 0.0, c, n);
}

}  // namespace

template <typename T>
std::vector<std::int32_t> guide_support(ConstView<T> t) {
    const std::size_t m = t.numel();
    std::size_t nnz = 0;
    for (std::size_t i = 0; i < m; ++i) nnz += t[i] != T(0);
    if (4 * nnz >= 3 * m) return {};
    std::vector<std::int32_t> s;
    s.reserve(nnz);
    for (std::size_t i = 0; i < m; ++i)
        if (t[i] != T(0)) s.push_back(std::int32_t(i));
    return s;
}

template <typename T>
double guided_style_loss(ConstView<T> f,      // (1, C, H, W)
                         ConstView<T> t,      // (1, 1, H, W)
                         ConstView<T> a,      // (1, 1, C, C)
                         double gram_scale, double loss_scale,
                         TensorView<T> ft,    // (1, C, H, W)
                         TensorView<T> g,     // (1, 1, C, C)
                         TensorView<T> diff,  // (1, 1, C, C)
                         TensorView<T> df,    // (1, C, H, W) or empty
                         const std::vector<std::int32_t>& support) {
    const int c = f.shape.c;
    const Shape gs{1, 1, c, c};
    NST_REQUIRE(a.shape == gs, "guided_style_loss: target Gram " + a.shape.str() + ", expected " + gs.str());
    NST_REQUIRE(a.device == Device::Host, "guided_style_loss: host tensors only");
    const std::size_t m = f.shape.plane(), nnz = support.size();
    const bool compact = !support.empty();
    if (compact) {
        check_guided(f, t, ft);
        NST_REQUIRE(nnz < m && std::size_t(support.back()) < m, "guided_style_loss: support out of range");
        // ft as C x nnz: the non-zero columns of F o T.
        const std::int32_t* sp = support.data();
#pragma omp parallel for schedule(static) if (std::size_t(c) * nnz >= 65536)
        for (int ch = 0; ch < c; ++ch) {
            const T* src = f.data + std::size_t(ch) * m;
            T* dst = ft.data + std::size_t(ch) * nnz;
            for (std::size_t p = 0; p < nnz; ++p) dst[p] = src[sp[p]] * t.data[sp[p]];
        }
        NST_REQUIRE(g.shape == gs, "guided_style_loss: Gram scratch " + g.shape.str() + ", expected " + gs.str());
        detail::syrk_upper(c, detail::blas_int(nnz), gram_scale, ft.data, g.data);
        detail::mirror_upper(g.data, c);
    } else {
        guided_gram(g, f, t, gram_scale, ft);
    }

    const std::size_t n = gs.numel();
    const T* gd = g.data;
    const T* ad = a.data;
    if (df.empty()) return loss_scale * detail::gram_diff_sum(gd, ad, static_cast<T*>(nullptr), n);
    NST_REQUIRE(df.shape == f.shape, "guided_style_loss: gradient " + df.shape.str() + " vs features " + f.shape.str());
    NST_REQUIRE(diff.shape == gs, "guided_style_loss: diff scratch " + diff.shape.str() + ", expected " + gs.str());
    T* dd = diff.data;
    const double value = loss_scale * detail::gram_diff_sum(gd, ad, dd, n);
    if (m == 0) return value;
    const double alpha = 4 * loss_scale * gram_scale;
    if (!compact) {
        mask_channels(ft.data, ft.data, t.data, c, m);  // F o T o T
        detail::gemm_accumulate(c, detail::blas_int(m), c, alpha, dd, ft.data, df.data);
        return value;
    }
    // Compacted: (G - A)(F o T) block by block into the free part of ft (m - nnz >= m / 4 columns
    // per channel are unused, so a few large gemms), each column multiplied by T once more as it
    // is added to its column of df. Few blocks matter: every gemm and parallel loop is a barrier,
    // and barriers are what an oversubscribed machine makes expensive.
    const std::int32_t* sp = support.data();
    const T* td = t.data;
    const std::size_t block = m - nnz;
    T* out = ft.data + std::size_t(c) * nnz;  // c x block
    for (std::size_t p0 = 0; p0 < nnz; p0 += block) {
        const std::size_t b = std::min(block, nnz - p0);
        gemm_block(c, detail::blas_int(b), c, alpha, dd, ft.data + p0, detail::blas_int(nnz), out);
#pragma omp parallel for schedule(static) if (std::size_t(c) * b >= 65536)
        for (int ch = 0; ch < c; ++ch) {
            T* drow = df.data + std::size_t(ch) * m;
            const T* orow = out + std::size_t(ch) * b;
            for (std::size_t q = 0; q < b; ++q) {
                const std::int32_t i = sp[p0 + q];
                drow[i] += orow[q] * td[i];
            }
        }
    }
    return value;
}

template std::vector<std::int32_t> guide_support<float>(ConstView<float>);
template std::vector<std::int32_t> guide_support<double>(ConstView<double>);
template void guided_gram<float>(TensorView<float>, ConstView<float>, ConstView<float>, double, TensorView<float>);
template void guided_gram<double>(TensorView<double>, ConstView<double>, ConstView<double>, double,
                                  TensorView<double>);
template double guided_style_loss<float>(ConstView<float>, ConstView<float>, ConstView<float>, double, double,
                                         TensorView<float>, TensorView<float>, TensorView<float>, TensorView<float>,
                                         const std::vector<std::int32_t>&);
template double guided_style_loss<double>(ConstView<double>, ConstView<double>, ConstView<double>, double, double,
                                          TensorView<double>, TensorView<double>, TensorView<double>,
                                          TensorView<double>, const std::vector<std::int32_t>&);

}  // namespace nst::cpu
