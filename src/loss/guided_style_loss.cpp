// SPDX-License-Identifier: MIT
// Guided Gram and guided style loss (losses.h): the Gram of the masked features F o T and its
// gradient. d(F o T) = 4 ls gs (G - A)(F o T) (style_loss.cpp), and the chain rule through the
// masking multiplies each column by T once more, which is the same as feeding F o T o T to the
// gemm: (G - A)(F diag T) diag T = (G - A)(F diag T^2).
#include <algorithm>

#include "core/error.h"
#include "loss/column_losses.h"
#include "loss/gram_detail.h"
#include "loss/losses.h"

namespace nst::cpu {

namespace {

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
    const Shape gs{1, 1, f.shape.c, f.shape.c};
    NST_REQUIRE(g.shape == gs, "guided Gram: output " + g.shape.str() + ", expected " + gs.str());
    guided_gram_upper(g.data, all_columns(f), t.data, static_cast<const std::int32_t*>(nullptr), 0, scale, true,
                      ft.data);
    detail::mirror_upper(g.data, f.shape.c);
}

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
    NST_REQUIRE(g.shape == gs, "guided_style_loss: Gram scratch " + g.shape.str() + ", expected " + gs.str());
    check_guided(f, t, ft);
    const std::size_t m = f.shape.plane(), nnz = support.size();
    const std::int32_t* sp = support.empty() ? nullptr : support.data();
    if (sp) NST_REQUIRE(nnz < m && std::size_t(support.back()) < m, "guided_style_loss: support out of range");
    guided_gram_upper(g.data, all_columns(f), t.data, sp, nnz, gram_scale, true, ft.data);
    detail::mirror_upper(g.data, c);

    const std::size_t n = gs.numel();
    if (df.empty()) return loss_scale * detail::gram_diff_sum(g.data, a.data, static_cast<T*>(nullptr), n);
    NST_REQUIRE(df.shape == f.shape, "guided_style_loss: gradient " + df.shape.str() + " vs features " + f.shape.str());
    NST_REQUIRE(diff.shape == gs, "guided_style_loss: diff scratch " + diff.shape.str() + ", expected " + gs.str());
    const double value = loss_scale * detail::gram_diff_sum(g.data, a.data, diff.data, n);
    guided_style_gradient(all_columns(df), diff.data, all_columns(f), t.data, sp, nnz, 4 * loss_scale * gram_scale,
                          ft.data);
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
