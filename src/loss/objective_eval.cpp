// SPDX-License-Identifier: MIT
// The CPU objective's evaluation (objective.h): three phases over the strips of loss/tiling.h,
// one strip being the untiled evaluation.
//   1. statistics: per strip, forward over its window, then the content sums and the Grams of
//      its owned positions (column_losses.h), added over the strips;
//   2. the style values (and G - A for the gradient) from the whole image's Grams;
//   3. gradient: per strip, in reverse order so that the last strip's forward is reused, the
//      backward pass with each tap's loss gradient added at the owned positions when the pass
//      reaches the tap (Vgg19Net::backward's TapGrad: no gradient buffer per tap), the window's
//      dx added into dx (windows overlap, so their contributions add).
// TV, the temporal term and the edit mask then act on the whole image.
#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "loss/column_losses.h"
#include "loss/gram_detail.h"
#include "loss/losses.h"
#include "loss/objective.h"
#include "loss/objective_geometry.h"

namespace nst::cpu {

using geometry::full_layer_shape;
using geometry::image_rows;

template <typename T>
LossTerms Objective<T>::evaluate(ConstView<T> x, TensorView<T> dx) {
    const bool grad = !dx.empty();
    if (grad) NST_REQUIRE(dx.shape == x.shape, "objective: gradient " + dx.shape.str() + " vs image " + x.shape.str());
    NST_REQUIRE(m_content_set || m_spec.content_layers.empty(), "objective: set_content() was not called");
    NST_REQUIRE(m_styles_set || m_spec.style_layers.empty(), "objective: set_styles() was not called");

    LossTerms terms;
    terms.content.assign(m_spec.content_layers.size(), 0.0);
    terms.style.assign(m_spec.style_layers.size(), 0.0);
    const bool any_layer = !m_spec.content_layers.empty() || !m_spec.style_layers.empty();

    if (any_layer) {
        const int h = x.shape.h;
        prepare_terms(x.shape.h, x.shape.w);
        const std::vector<Strip> strips = plan_strips(h, m_tile_rows, m_net.deepest());
        // Phase 1: content sums and Grams over every strip's owned positions.
        for (std::size_t si = 0; si < strips.size(); ++si) {
            forward_strip(x, strips[si]);
            accumulate_strip(strips[si], h, si == 0, terms);
        }
        // Phase 2: the style values (and G - A for the gradient) from the whole image's Grams.
        finish_style_terms(grad, terms);
        // Phase 3: each strip's backward pass from its owned positions; the windows overlap, so
        // their gradients add. The last strip of phase 1 is still in the net.
        if (grad) {
            const bool tiled = strips.size() > 1;
            if (tiled) std::fill(dx.begin(), dx.end(), T(0));
            for (std::size_t i = strips.size(); i-- > 0;) {
                const Strip& s = strips[i];
                if (i + 1 != strips.size()) forward_strip(x, s);
                const auto add = [&](int layer, TensorView<T> g) { add_tap_gradient(s, h, layer, g); };
                if (!tiled) {
                    m_net.backward(dx, add);
                    continue;
                }
                const Shape ws{1, x.shape.c, s.win_rows(), x.shape.w};
                m_window_dx.ensure(ws);
                m_net.backward(m_window_dx.view(), add);
                const std::size_t n = ws.plane();
                for (int c = 0; c < x.shape.c; ++c) {
                    T* dst = dx.data + std::size_t(c) * x.shape.plane() + std::size_t(s.win_begin) * x.shape.w;
                    const T* src = m_window_dx.data() + std::size_t(c) * n;
                    for (std::size_t i2 = 0; i2 < n; ++i2) dst[i2] += src[i2];
                }
            }
        }
    } else if (grad) {
        for (auto& v : dx) v = T(0);  // nothing but TV: its gradient accumulates onto zero
    }
    if (m_spec.tv_weight != 0)
        terms.tv = m_spec.tv_form == TvForm::L1 ? tv_l1_loss(x, m_spec.tv_weight, dx) : tv_loss(x, m_spec.tv_weight, dx);
    if (!m_temporal_warped.empty()) {
        // Like TV, a sum over pixels of the whole image: tiling does not change it.
        NST_REQUIRE(m_temporal_warped[0].shape() == x.shape,
                    "objective: image " + x.shape.str() + " vs temporal targets " + m_temporal_warped[0].shape().str());
        std::vector<TemporalTarget<T>> targets;
        for (std::size_t j = 0; j < m_temporal_warped.size(); ++j)
            targets.push_back({m_temporal_warped[j].cview(), m_temporal_weight[j].cview()});
        terms.temporal = temporal_loss(x, targets, m_temporal_scale, dx);
    }
    if (grad && !m_edit_mask.empty()) {
        // Frozen pixels: every term's gradient (TV included) is multiplied by the mask.
        const Shape ms{1, 1, x.shape.h, x.shape.w};
        NST_REQUIRE(m_edit_mask.shape() == ms, "edit mask " + m_edit_mask.shape().str() + " vs image " + x.shape.str());
        const std::size_t plane = x.shape.plane();
        const float* mk = m_edit_mask.data();
        for (int c = 0; c < x.shape.n * x.shape.c; ++c) {
            T* d = dx.data + std::size_t(c) * plane;
            for (std::size_t i = 0; i < plane; ++i) d[i] *= T(mk[i]);
        }
    }
    terms.total = terms.content_sum() + terms.style_sum() + terms.tv + terms.temporal;
    return terms;
}

template <typename T>
std::map<int, Tensor<T>> Objective<T>::tap_gradients(ConstView<T> x) {
    NST_REQUIRE(m_content_set || m_spec.content_layers.empty(), "objective: set_content() was not called");
    NST_REQUIRE(m_styles_set || m_spec.style_layers.empty(), "objective: set_styles() was not called");
    std::map<int, Tensor<T>> out;
    if (m_spec.content_layers.empty() && m_spec.style_layers.empty()) return out;
    const int h = x.shape.h;
    const Strip whole{0, h, 0, h};
    LossTerms terms;
    terms.content.assign(m_spec.content_layers.size(), 0.0);
    terms.style.assign(m_spec.style_layers.size(), 0.0);
    prepare_terms(h, x.shape.w);
    forward_strip(x, whole);
    accumulate_strip(whole, h, true, terms);
    finish_style_terms(true, terms);
    for (int l : loss_taps(m_spec)) {
        Tensor<T> g(m_net.output(l).shape);
        std::fill(g.begin(), g.end(), T(0));
        add_tap_gradient(whole, h, l, g.view());
        out.emplace(l, std::move(g));
    }
    return out;
}

template <typename T>
void Objective<T>::prepare_terms(int h, int w) {
    const std::size_t n_style = m_spec.style_layers.size();
    m_regions = !m_content_masks.empty() && n_style > 0 && m_spec.style_weight != 0;
    if (m_regions) {
        NST_REQUIRE(m_content_masks.size() == m_num_styles, "objective: content masks vs style images");
        refresh_content_guides(h, w);
    }
    for (std::size_t i = 0; i < m_spec.content_layers.size(); ++i) {
        const int l = m_spec.content_layers[i];
        NST_REQUIRE(m_content_targets[i].shape() == full_layer_shape(l, h, w),
                    "objective: image size differs from the content image's at " + vgg19_layers()[l].name);
    }
    // Which style terms are evaluated, and their Gram scale for this size.
    m_style_on.assign(n_style, 0);
    m_style_gram_scale.assign(n_style, 0.0);
    m_style_loss_scale.assign(n_style, 0.0);
    for (std::size_t j = 0; j < n_style && m_spec.style_weight != 0; ++j) {
        const int l = m_spec.style_layers[j];
        const double wl = style_layer_weight(m_spec.preset, m_spec.style_layer_weights[j], int(n_style));
        if (wl == 0 || (!m_regions && !m_layer_active[j])) continue;
        const Shape fs = full_layer_shape(l, h, w);
        const LossScales sc = loss_scales(m_spec.preset, fs.c, (long long)fs.plane());
        refresh_style_target(j, (long long)fs.plane(), sc.gram);
        m_style_on[j] = 1;
        m_style_gram_scale[j] = sc.gram;
        m_style_loss_scale[j] = m_spec.style_weight * wl * sc.style;
    }
    if (m_regions) {
        m_region_gram.resize(m_num_styles);
        m_region_diff.resize(m_num_styles);
        for (std::size_t k = 0; k < m_num_styles; ++k) {
            m_region_gram[k].resize(n_style);
            m_region_diff[k].resize(n_style);
            for (std::size_t j = 0; j < n_style; ++j)
                if (region_on(k, j)) {
                    m_region_gram[k][j].ensure(m_gram_scratch[j].shape());
                    m_region_diff[k][j].ensure(m_gram_scratch[j].shape());
                }
        }
    }
}

template <typename T>
bool Objective<T>::region_on(std::size_t k, std::size_t j) const {
    return m_style_on[j] && m_uses[k][j] && m_blend[k] != 0 && !m_content_guides[k][j].empty();
}

template <typename T>
const std::int32_t* Objective<T>::strip_support(std::size_t k, std::size_t j, std::size_t begin, std::size_t m,
                                                std::size_t& nnz) {
    nnz = 0;
    const std::vector<std::int32_t>& full = m_content_support[k][j];
    if (full.empty()) return nullptr;  // dense guide
    const auto lo = std::lower_bound(full.begin(), full.end(), std::int32_t(begin));
    const auto hi = std::lower_bound(lo, full.end(), std::int32_t(begin + m));
    nnz = std::size_t(hi - lo);
    if (4 * nnz >= 3 * m) return nullptr;  // too dense within this block to pay
    if (begin == 0 && nnz == full.size()) return full.data();
    m_strip_support.assign(lo, hi);
    for (auto& v : m_strip_support) v -= std::int32_t(begin);
    return m_strip_support.data();
}

template <typename T>
void Objective<T>::accumulate_strip(const Strip& s, int h, bool first, LossTerms& terms) {
    for (std::size_t i = 0; i < m_spec.content_layers.size() && m_spec.content_weight != 0; ++i) {
        const int l = m_spec.content_layers[i];
        const Tensor<T>& p = m_content_targets[i];
        const LossScales sc = loss_scales(m_spec.preset, p.shape().c, (long long)p.shape().plane());
        const RowRange r = owned_layer_rows(s, l, h);
        terms.content[i] += m_spec.content_weight * sc.content *
                            content_sum(row_columns(m_net.output(l), r), row_columns(p.cview(), image_rows(s, l, r)));
    }
    for (std::size_t j = 0; j < m_spec.style_layers.size(); ++j) {
        if (!m_style_on[j]) continue;
        const int l = m_spec.style_layers[j];
        const RowRange r = owned_layer_rows(s, l, h);
        const Columns<const T> f = row_columns(m_net.output(l), r);
        if (!m_regions) {
            gram_upper(m_gram_scratch[j].data(), f, m_style_gram_scale[j], first);
            continue;
        }
        const RowRange ir = image_rows(s, l, r);
        const std::size_t begin = std::size_t(ir.begin) * std::size_t(m_net.output(l).shape.w);
        for (std::size_t k = 0; k < m_num_styles; ++k) {
            if (!region_on(k, j)) continue;
            std::size_t nnz = 0;
            const std::int32_t* sp = strip_support(k, j, begin, f.m, nnz);
            guided_gram_upper(m_region_gram[k][j].data(), f, m_content_guides[k][j].data() + begin, sp, nnz,
                              m_style_gram_scale[j], first, masked_scratch(f));
        }
    }
}

template <typename T>
void Objective<T>::finish_style_terms(bool grad, LossTerms& terms) {
    for (std::size_t j = 0; j < m_spec.style_layers.size(); ++j) {
        if (!m_style_on[j]) continue;
        const std::size_t n = m_gram_scratch[j].numel();
        const int c = m_gram_scratch[j].shape().h;
        if (!m_regions) {
            detail::mirror_upper(m_gram_scratch[j].data(), c);
            terms.style[j] = m_style_loss_scale[j] * detail::gram_diff_sum(m_gram_scratch[j].data(),
                                                                           m_style_targets[j].data(),
                                                                           grad ? m_diff_scratch[j].data() : nullptr, n);
            continue;
        }
        // sum_k b_k style_loss(F o C_k, A_k) over the regions whose style uses this layer.
        for (std::size_t k = 0; k < m_num_styles; ++k) {
            if (!region_on(k, j)) continue;
            detail::mirror_upper(m_region_gram[k][j].data(), c);
            terms.style[j] += m_style_loss_scale[j] * m_blend[k] *
                              detail::gram_diff_sum(m_region_gram[k][j].data(), m_region_targets[k][j].data(),
                                                    grad ? m_region_diff[k][j].data() : nullptr, n);
        }
    }
}

template <typename T>
template <typename Fn>
void Objective<T>::with_normalized_gradient(TensorView<T> g, const RowRange& r, const Columns<T>& dg, double weight,
                                            Fn&& add_term) {
    if (m_spec.grad_norm != GradNorm::JcJohnson) {
        add_term(dg);
        return;
    }
    // jcjohnson: the term's own gradient, L1-normalised, then added to what is already there
    // (the gradient from above and the other terms at this layer). Needs the whole layer at once,
    // so the engines refuse it with tiling (a strip sees only part of the norm).
    m_norm_scratch.ensure(g.shape);
    std::fill(m_norm_scratch.begin(), m_norm_scratch.end(), T(0));
    const Columns<T> tmp = row_columns(m_norm_scratch.view(), r);
    add_term(tmp);
    double l1 = 0;
    for (int c = 0; c < tmp.c; ++c)
        for (std::size_t i = 0; i < tmp.m; ++i) l1 += std::fabs(double(tmp.row(c)[i]));
    const double factor = grad_norm_l1_factor(weight, l1);
    for (int c = 0; c < tmp.c; ++c) {
        const T* src = tmp.row(c);
        T* dst = dg.row(c);
        for (std::size_t i = 0; i < tmp.m; ++i) dst[i] += T(double(src[i]) * factor);
    }
}

template <typename T>
void Objective<T>::add_tap_gradient(const Strip& s, int h, int layer, TensorView<T> g) {
    const RowRange r = owned_layer_rows(s, layer, h);
    const Columns<T> dg = row_columns(g, r);
    const Columns<const T> f = row_columns(m_net.output(layer), r);
    const RowRange ir = image_rows(s, layer, r);
    for (std::size_t i = 0; i < m_spec.content_layers.size() && m_spec.content_weight != 0; ++i) {
        if (m_spec.content_layers[i] != layer) continue;
        const Tensor<T>& p = m_content_targets[i];
        const LossScales sc = loss_scales(m_spec.preset, p.shape().c, (long long)p.shape().plane());
        const double w = m_spec.content_weight;
        with_normalized_gradient(g, r, dg, w, [&](const Columns<T>& out) {
            content_gradient(out, f, row_columns(p.cview(), ir), 2 * w * sc.content * grad_norm_factor(m_spec.grad_norm, w));
        });
    }
    for (std::size_t j = 0; j < m_spec.style_layers.size(); ++j) {
        if (m_spec.style_layers[j] != layer || !m_style_on[j]) continue;
        // The term's weight w = style weight x layer weight (what neural-style calls its strength).
        const double w = m_spec.style_weight *
                         style_layer_weight(m_spec.preset, m_spec.style_layer_weights[j], int(m_spec.style_layers.size()));
        const double alpha = 4 * m_style_loss_scale[j] * m_style_gram_scale[j] * grad_norm_factor(m_spec.grad_norm, w);
        with_normalized_gradient(g, r, dg, w, [&](const Columns<T>& out) {
            if (!m_regions) {
                style_gradient(out, m_diff_scratch[j].data(), f, alpha);
                return;
            }
            const std::size_t begin = std::size_t(ir.begin) * std::size_t(g.shape.w);
            for (std::size_t k = 0; k < m_num_styles; ++k) {
                if (!region_on(k, j)) continue;
                std::size_t nnz = 0;
                const std::int32_t* sp = strip_support(k, j, begin, f.m, nnz);
                guided_style_gradient(out, m_region_diff[k][j].data(), f, m_content_guides[k][j].data() + begin, sp,
                                      nnz, alpha * m_blend[k], masked_scratch(f));
            }
        });
    }
}

// The members defined here (objective.cpp instantiates the rest of the class).
#define NST_OBJECTIVE_EVAL(T)                                                                               \
    template LossTerms Objective<T>::evaluate(ConstView<T>, TensorView<T>);                                  \
    template std::map<int, Tensor<T>> Objective<T>::tap_gradients(ConstView<T>);                             \
    template void Objective<T>::prepare_terms(int, int);                                                     \
    template bool Objective<T>::region_on(std::size_t, std::size_t) const;                                   \
    template const std::int32_t* Objective<T>::strip_support(std::size_t, std::size_t, std::size_t, std::size_t, \
                                                             std::size_t&);                                  \
    template void Objective<T>::accumulate_strip(const Strip&, int, bool, LossTerms&);                       \
    template void Objective<T>::finish_style_terms(bool, LossTerms&);                                        \
    template void Objective<T>::add_tap_gradient(const Strip&, int, int, TensorView<T>);
NST_OBJECTIVE_EVAL(float)
NST_OBJECTIVE_EVAL(double)
#undef NST_OBJECTIVE_EVAL

}  // namespace nst::cpu
