// SPDX-License-Identifier: MIT
// Guided Gram and guided style loss (losses.h): the Gram of the masked features F o T and its
// gradient. d(F o T) = 4 ls gs (G - A)(F o T) (style_loss.cpp), and the chain rule through the
// masking multiplies each column by T once more, which is the same as feeding F o T o T to the
// gemm: (G - A)(F diag T) diag T = (G - A)(F diag T^2).
#include "core/error.h"
#include "loss/blas.h"
#include "loss/fixed_order_sum.h"
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

template <typename T>
double guided_style_loss(ConstView<T> f,      // (1, C, H, W)
                         ConstView<T> t,      // (1, 1, H, W)
                         ConstView<T> a,      // (1, 1, C, C)
                         double gram_scale, double loss_scale,
                         TensorView<T> ft,    // (1, C, H, W)
                         TensorView<T> g,     // (1, 1, C, C)
                         TensorView<T> diff,  // (1, 1, C, C)
                         TensorView<T> df) {  // (1, C, H, W) or empty
    const int c = f.shape.c;
    const Shape gs{1, 1, c, c};
    NST_REQUIRE(a.shape == gs, "guided_style_loss: target Gram " + a.shape.str() + ", expected " + gs.str());
    NST_REQUIRE(a.device == Device::Host, "guided_style_loss: host tensors only");
    guided_gram(g, f, t, gram_scale, ft);

    const std::size_t n = gs.numel();
    const T* gd = g.data;
    const T* ad = a.data;
    if (df.empty()) {
        return loss_scale * detail::fixed_order_sum(n, [&](std::size_t i) {
                   const double e = double(gd[i]) - double(ad[i]);
                   return e * e;
               });
    }
    NST_REQUIRE(df.shape == f.shape, "guided_style_loss: gradient " + df.shape.str() + " vs features " + f.shape.str());
    NST_REQUIRE(diff.shape == gs, "guided_style_loss: diff scratch " + diff.shape.str() + ", expected " + gs.str());
    T* dd = diff.data;
    const double value = loss_scale * detail::fixed_order_sum(n, [&](std::size_t i) {
                             const double e = double(gd[i]) - double(ad[i]);
                             dd[i] = T(e);
                             return e * e;
                         });
    const std::size_t m = f.shape.plane();
    if (m > 0) {
        mask_channels(ft.data, ft.data, t.data, c, m);  // F o T o T
        detail::gemm_accumulate(c, detail::blas_int(m), c, 4 * loss_scale * gram_scale, dd, ft.data, df.data);
    }
    return value;
}

template void guided_gram<float>(TensorView<float>, ConstView<float>, ConstView<float>, double, TensorView<float>);
template void guided_gram<double>(TensorView<double>, ConstView<double>, ConstView<double>, double,
                                  TensorView<double>);
template double guided_style_loss<float>(ConstView<float>, ConstView<float>, ConstView<float>, double, double,
                                         TensorView<float>, TensorView<float>, TensorView<float>, TensorView<float>);
template double guided_style_loss<double>(ConstView<double>, ConstView<double>, ConstView<double>, double, double,
                                          TensorView<double>, TensorView<double>, TensorView<double>,
                                          TensorView<double>);

}  // namespace nst::cpu
