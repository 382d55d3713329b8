// SPDX-License-Identifier: MIT
// Style loss on one layer: value = loss_scale * sum (G - A)^2 with G = gram_scale * F F^T.
//
// Gradient: dL/dG = 2 loss_scale (G - A), and G = s F F^T gives dL/dF = s (dL/dG + dL/dG^T) F;
// G - A is symmetric, so dL/dF = 2 s * 2 loss_scale (G - A) F: the factor 4 of the header
// (the 1/4 of Gatys' Eq. 4 cancels it, giving Eq. 6).
#include "core/error.h"
#include "loss/column_losses.h"
#include "loss/gram_detail.h"
#include "loss/losses.h"

namespace nst::cpu {

template <typename T>
double style_loss(ConstView<T> f,      // (1, C, H, W)
                  ConstView<T> a,      // (1, 1, C, C)
                  double gram_scale, double loss_scale,
                  TensorView<T> g,     // (1, 1, C, C)
                  TensorView<T> diff,  // (1, 1, C, C)
                  TensorView<T> df) {  // (1, C, H, W) or empty
    const int c = f.shape.c;
    const Shape gs{1, 1, c, c};
    NST_REQUIRE(a.shape == gs, "style_loss: target Gram " + a.shape.str() + ", expected " + gs.str());
    NST_REQUIRE(a.device == Device::Host, "style_loss: host tensors only");
    gram_matrix(g, f, gram_scale);

    const std::size_t n = gs.numel();
    const T* gd = g.data;
    const T* ad = a.data;
    if (df.empty()) return loss_scale * detail::gram_diff_sum(gd, ad, static_cast<T*>(nullptr), n);
    NST_REQUIRE(df.shape == f.shape, "style_loss: gradient " + df.shape.str() + " vs features " + f.shape.str());
    NST_REQUIRE(diff.shape == gs, "style_loss: diff scratch " + diff.shape.str() + ", expected " + gs.str());
    T* dd = diff.data;
    const double value = loss_scale * detail::gram_diff_sum(gd, ad, dd, n);
    style_gradient(all_columns(df), dd, all_columns(f), 4 * loss_scale * gram_scale);
    return value;
}

template <typename T>
double style_loss(ConstView<T> f, ConstView<T> a, double gram_scale, double loss_scale, TensorView<T> g,
                  TensorView<T> df) {
    Tensor<T> diff;
    if (!df.empty()) diff = Tensor<T>(Shape{1, 1, f.shape.c, f.shape.c});
    return style_loss(f, a, gram_scale, loss_scale, g, diff.view(), df);
}

template double style_loss<float>(ConstView<float>, ConstView<float>, double, double, TensorView<float>,
                                  TensorView<float>, TensorView<float>);
template double style_loss<double>(ConstView<double>, ConstView<double>, double, double, TensorView<double>,
                                   TensorView<double>, TensorView<double>);
template double style_loss<float>(ConstView<float>, ConstView<float>, double, double, TensorView<float>,
                                  TensorView<float>);
template double style_loss<double>(ConstView<double>, ConstView<double>, double, double, TensorView<double>,
                                   TensorView<double>);

}  // namespace nst::cpu
