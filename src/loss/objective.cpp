// SPDX-License-Identifier: MIT
// The objective: one forward pass to the deepest tap, content and style losses injected at the
// taps, one backward pass to the image, then TV directly in image space.
//
// Style targets are kept per layer as blend-weighted, position-normalised Grams
//   N_l = sum_k b_k F_k F_k^T / M_k      (F_k: style image k at its own size, M_k its positions)
// and turned into the preset's target for the current image, A_l = gram_scale(M) * M * N_l, when
// the image's size at that layer is known. For jcjohnson this is sum_k b_k F_k F_k^T / (C M_k),
// the Gram of each style image under its own normalisation; for gatys it is M * N_l, so that
// (G - A) / M compares the M-normalised Grams of both images, as the authors' code does
// (paper.md §1.2: each Gram is divided by its own M). With equal sizes both reduce to the
// preset's plain Gram.
//
// Spatial and scale controls (objective.h): style masks only change how the per-style Grams
// N^l_k are taken (the guided Gram of F_k o S^l_k); layer sets only decide which N^l_k exist.
// Without content masks the N^l_k are blended per layer as above; with content masks each style
// keeps its own target and the image's features are masked by that style's content guide. The
// plain path (no masks) runs exactly the code it ran before the controls existed.
#include "loss/objective.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "loss/column_losses.h"
#include "loss/gram_detail.h"
#include "loss/losses.h"
#include "loss/style_plan.h"

namespace nst {

double LossTerms::content_sum() const {
    double s = 0;
    for (double v : content) s += v;
    return s;
}

double LossTerms::style_sum() const {
    double s = 0;
    for (double v : style) s += v;
    return s;
}

namespace {

void require_layer(int layer, const char* what) {
    NST_REQUIRE(layer >= 0 && layer < kNumLayers, std::string(what) + " layer index out of range");
}

}  // namespace

LossSpec checked_loss_spec(const LossSpec& spec) {
    LossSpec s = spec;
    for (int l : s.content_layers) require_layer(l, "content");
    for (int l : s.style_layers) require_layer(l, "style");
    const std::size_t n_style = s.style_layers.size();
    if (s.style_layer_weights.empty()) s.style_layer_weights.assign(n_style, 1.0);
    if (s.style_layer_weights.size() != n_style)
        throw_usage("--style-layer-weights: " + std::to_string(s.style_layer_weights.size()) +
                    " weights given for " + std::to_string(n_style) + " style layers (one per layer)");
    for (double w : s.style_layer_weights)
        if (!std::isfinite(w)) throw_usage("--style-layer-weights: weights must be finite numbers");
    // Layer sets: each set non-empty, within the style layers, without repeats; together they
    // must cover every style layer (a layer without any target would have no meaning).
    std::vector<char> covered(n_style, s.style_layer_sets.empty() ? 1 : 0);
    for (std::size_t k = 0; k < s.style_layer_sets.size(); ++k) {
        const std::vector<int>& set = s.style_layer_sets[k];
        const std::string which = "--style-layer-sets: set " + std::to_string(k + 1);
        if (set.empty()) throw_usage(which + " is empty (use '*' for all style layers)");
        for (std::size_t i = 0; i < set.size(); ++i) {
            require_layer(set[i], "style layer set");
            const auto it = std::find(s.style_layers.begin(), s.style_layers.end(), set[i]);
            if (it == s.style_layers.end())
                throw_usage(which + ": " + vgg19_layers()[set[i]].name + " is not one of the style layers (--style-layers)");
            if (std::find(set.begin(), set.begin() + i, set[i]) != set.begin() + i)
                throw_usage(which + ": " + vgg19_layers()[set[i]].name + " is given twice");
            covered[std::size_t(it - s.style_layers.begin())] = 1;
        }
    }
    for (std::size_t j = 0; j < n_style; ++j)
        if (!covered[j])
            throw_usage("--style-layer-sets: style layer " + vgg19_layers()[s.style_layers[j]].name +
                        " is in no set (every style layer needs a style image)");
    return s;
}

std::vector<int> loss_taps(const LossSpec& spec) {
    std::vector<int> taps = spec.content_layers;
    taps.insert(taps.end(), spec.style_layers.begin(), spec.style_layers.end());
    std::sort(taps.begin(), taps.end());
    taps.erase(std::unique(taps.begin(), taps.end()), taps.end());
    return taps;
}

std::vector<double> normalized_blend(const std::vector<double>& blend, std::size_t num_styles) {
    if (num_styles == 0) throw_usage("--style: at least one style image is needed");
    std::vector<double> b = blend;
    if (b.empty()) b.assign(num_styles, 1.0);
    if (b.size() != num_styles)
        throw_usage("--style-blend-weights: " + std::to_string(b.size()) + " weights given for " +
                    std::to_string(num_styles) + " style images (one per image)");
    double b_sum = 0;
    for (double w : b) {
        if (!std::isfinite(w) || w < 0) throw_usage("--style-blend-weights: weights must be finite and non-negative");
        b_sum += w;
    }
    if (!(b_sum > 0)) throw_usage("--style-blend-weights: at least one weight must be positive");
    for (double& w : b) w /= b_sum;
    return b;
}

namespace cpu {

namespace {

int layer_channels(int layer) { return vgg19_layers()[layer].channels; }

// The output shape of layer l for the whole h x w image.
Shape full_layer_shape(int l, int h, int w) {
    int lh = 0, lw = 0;
    layer_output_size(l, h, w, lh, lw);
    return Shape{1, layer_channels(l), lh, lw};
}

// Owned rows r of layer l in strip s's window, as rows of the whole image's map at that layer.
RowRange image_rows(const Strip& s, int l, RowRange r) {
    const int origin = s.win_begin / layer_scale(l);
    return RowRange{r.begin + origin, r.end + origin};
}

}  // namespace

template <typename T>
Objective<T>::Objective(Vgg19Net<T>& net, const LossSpec& spec) : m_net(net), m_spec(checked_loss_spec(spec)) {
    const std::size_t n_style = m_spec.style_layers.size();
    m_net.set_taps(loss_taps(m_spec));

    m_content_targets.resize(m_spec.content_layers.size());
    m_style_targets.clear();
    m_gram_scratch.clear();
    for (int l : m_spec.style_layers) {
        const Shape gs{1, 1, layer_channels(l), layer_channels(l)};
        m_style_targets.emplace_back(gs);
        m_gram_scratch.emplace_back(gs);
        m_diff_scratch.emplace_back(gs);
        m_style_norm.emplace_back(gs);
    }
    m_style_target_positions.assign(n_style, -1);
    m_layer_active.assign(n_style, 1);
}

template <typename T>
void Objective<T>::set_content(ConstView<T> content) {
    if (m_spec.content_layers.empty()) {
        m_content_set = true;
        return;
    }
    const int h = content.shape.h, w = content.shape.w;
    for (std::size_t i = 0; i < m_spec.content_layers.size(); ++i)
        m_content_targets[i].ensure(full_layer_shape(m_spec.content_layers[i], h, w));
    // P at each content layer, strip by strip: each strip's owned rows are exact.
    for (const Strip& s : plan_strips(h, m_tile_rows, m_net.deepest())) {
        forward_strip(content, s);
        for (std::size_t i = 0; i < m_spec.content_layers.size(); ++i) {
            const int l = m_spec.content_layers[i];
            const RowRange r = owned_layer_rows(s, l, h);
            const Columns<const T> src = row_columns(m_net.output(l), r);
            const Columns<T> dst = row_columns(m_content_targets[i].view(), image_rows(s, l, r));
            for (int ch = 0; ch < src.c; ++ch) std::copy(src.row(ch), src.row(ch) + src.m, dst.row(ch));
        }
    }
    m_content_set = true;
}

template <typename T>
void Objective<T>::forward_strip(ConstView<T> x, const Strip& s) {
    if (s.win_begin == 0 && s.win_end == x.shape.h) {
        m_net.forward(x);
        return;
    }
    const Shape ws{1, x.shape.c, s.win_rows(), x.shape.w};
    m_window.ensure(ws);
    const std::size_t w = std::size_t(x.shape.w), n = std::size_t(s.win_rows()) * w;
    for (int c = 0; c < x.shape.c; ++c) {
        const T* src = x.data + std::size_t(c) * x.shape.plane() + std::size_t(s.win_begin) * w;
        std::copy(src, src + n, m_window.data() + std::size_t(c) * n);
    }
    m_net.forward(m_window.cview());
}

namespace {

// A double guide as T (the features' type), for the masking passes.
template <typename T>
Tensor<T> guide_as(const Tensor<double>& g) {
    Tensor<T> out(g.shape());
    for (std::size_t i = 0; i < g.numel(); ++i) out[i] = T(g[i]);
    return out;
}

}  // namespace

template <typename T>
void Objective<T>::set_styles(const std::vector<ConstView<T>>& styles, const std::vector<double>& blend,
                              const std::vector<ConstView<float>>& style_masks) {
    std::vector<Shape> shapes;
    for (const auto& s : styles) shapes.push_back(s.shape);
    StyleUsePlan plan = plan_styles(m_spec, shapes, blend, style_masks);
    const std::size_t n_k = styles.size();
    m_num_styles = n_k;
    m_blend = plan.blend;
    if (m_spec.style_layers.empty()) {
        m_styles_set = true;
        check_region_count(m_content_masks.size(), m_num_styles);
        return;
    }
    const std::size_t n_style = m_spec.style_layers.size();
    m_uses = plan.uses;
    m_layer_active = plan.layer_active;

    m_region_norm.clear();
    m_region_targets.clear();
    m_region_norm.resize(n_k);
    m_region_targets.resize(n_k);
    for (std::size_t k = 0; k < n_k; ++k) {
        m_region_norm[k].resize(n_style);
        m_region_targets[k].resize(n_style);
    }
    for (std::size_t k = 0; k < n_k; ++k) {
        if (m_blend[k] == 0) continue;  // contributes to no target
        // Gram(F_k o S_k) / M_k at each layer style k uses, accumulated strip by strip.
        const int h = styles[k].shape.h, w = styles[k].shape.w;
        std::vector<Tensor<T>> guides(n_style);
        for (std::size_t j = 0; j < n_style; ++j)
            if (m_uses[k][j] && !plan.style_guides[k][j].empty()) guides[j] = guide_as<T>(plan.style_guides[k][j]);
        const std::vector<Strip> strips = plan_strips(h, m_tile_rows, m_net.deepest());
        for (std::size_t si = 0; si < strips.size(); ++si) {
            const Strip& s = strips[si];
            forward_strip(styles[k], s);
            for (std::size_t j = 0; j < n_style; ++j) {
                if (!m_uses[k][j]) continue;
                const int l = m_spec.style_layers[j];
                const double m_k = double(full_layer_shape(l, h, w).plane());
                const RowRange r = owned_layer_rows(s, l, h);
                const Columns<const T> f = row_columns(m_net.output(l), r);
                T* g = m_gram_scratch[j].data();
                if (guides[j].empty()) {
                    gram_upper(g, f, 1.0 / m_k, si == 0);
                } else {
                    m_masked_scratch.ensure(Shape{1, 1, 1, int(std::size_t(f.c) * f.m)});
                    const T* t = guides[j].data() + std::size_t(image_rows(s, l, r).begin) * std::size_t(full_layer_shape(l, h, w).w);
                    guided_gram_upper(g, f, t, static_cast<const std::int32_t*>(nullptr), 0, 1.0 / m_k, si == 0,
                                      m_masked_scratch.data());
                }
            }
        }
        for (std::size_t j = 0; j < n_style; ++j) {
            if (!m_uses[k][j]) continue;
            Tensor<T>& g = m_gram_scratch[j];
            detail::mirror_upper(g.data(), g.shape().h);
            Tensor<double>& n = m_region_norm[k][j];
            n = Tensor<double>(g.shape());
            for (std::size_t i = 0; i < n.numel(); ++i) n[i] = double(g[i]);
        }
    }
    // Blended targets: N_j = sum_k b~_k N^j_k over the styles that use layer j.
    for (std::size_t j = 0; j < n_style; ++j) {
        Tensor<double>& acc = m_style_norm[j];
        for (auto& v : acc) v = 0.0;
        for (std::size_t k = 0; k < n_k; ++k) {
            const double bk = plan.weight[k][j];
            if (bk == 0) continue;
            const Tensor<double>& n = m_region_norm[k][j];
            for (std::size_t i = 0; i < acc.numel(); ++i) acc[i] += bk * n[i];
        }
    }
    m_style_target_positions.assign(n_style, -1);
    m_styles_set = true;
    check_region_count(m_content_masks.size(), m_num_styles);
}

template <typename T>
void Objective<T>::set_content_masks(const std::vector<ConstView<float>>& masks) {
    m_content_masks = checked_content_masks(masks, m_spec.guides);
    m_content_guides.clear();
    m_guides_h = m_guides_w = -1;
    m_style_target_positions.assign(m_spec.style_layers.size(), -1);
    if (m_styles_set) check_region_count(m_content_masks.size(), m_num_styles);
}

template <typename T>
void Objective<T>::set_edit_mask(ConstView<float> mask) { m_edit_mask = checked_edit_mask(mask); }

template <typename T>
void Objective<T>::refresh_content_guides(int h, int w) {
    if (m_guides_h == h && m_guides_w == w) return;
    const std::size_t n_style = m_spec.style_layers.size();
    for (std::size_t k = 0; k < m_content_masks.size(); ++k) {
        const Tensor<float>& mask = m_content_masks[k];
        NST_REQUIRE(mask.shape().h == h && mask.shape().w == w,
                    "content mask " + std::to_string(k + 1) + " " + mask.shape().str() + " vs image " +
                        std::to_string(h) + "x" + std::to_string(w));
    }
    const std::vector<std::vector<Tensor<double>>> guides = content_guides(m_content_masks, m_uses, m_spec);
    m_content_guides.clear();
    m_content_guides.resize(guides.size());
    m_content_support.assign(guides.size(), std::vector<std::vector<std::int32_t>>(n_style));
    for (std::size_t k = 0; k < guides.size(); ++k) {
        m_content_guides[k].resize(n_style);
        for (std::size_t j = 0; j < n_style; ++j) {
            if (guides[k][j].empty()) continue;
            m_content_guides[k][j] = guide_as<T>(guides[k][j]);
            m_content_support[k][j] = guide_support(m_content_guides[k][j].cview());
        }
    }
    std::size_t largest = 0;
    for (int l : m_spec.style_layers) {
        int lh = 0, lw = 0;
        layer_output_size(l, h, w, lh, lw);
        largest = std::max(largest, std::size_t(layer_channels(l)) * std::size_t(lh) * std::size_t(lw));
    }
    m_masked_scratch.ensure(Shape{1, 1, 1, int(largest)});
    m_guides_h = h;
    m_guides_w = w;
}

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
    if (m_spec.tv_weight != 0) terms.tv = tv_loss(x, m_spec.tv_weight, dx);
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
    terms.total = terms.content_sum() + terms.style_sum() + terms.tv;
    return terms;
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
            m_masked_scratch.ensure(Shape{1, 1, 1, int(std::size_t(f.c) * f.m)});
            guided_gram_upper(m_region_gram[k][j].data(), f, m_content_guides[k][j].data() + begin, sp, nnz,
                              m_style_gram_scale[j], first, m_masked_scratch.data());
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
void Objective<T>::add_tap_gradient(const Strip& s, int h, int layer, TensorView<T> g) {
    const RowRange r = owned_layer_rows(s, layer, h);
    const Columns<T> dg = row_columns(g, r);
    const Columns<const T> f = row_columns(m_net.output(layer), r);
    const RowRange ir = image_rows(s, layer, r);
    for (std::size_t i = 0; i < m_spec.content_layers.size() && m_spec.content_weight != 0; ++i) {
        if (m_spec.content_layers[i] != layer) continue;
        const Tensor<T>& p = m_content_targets[i];
        const LossScales sc = loss_scales(m_spec.preset, p.shape().c, (long long)p.shape().plane());
        content_gradient(dg, f, row_columns(p.cview(), ir), 2 * m_spec.content_weight * sc.content);
    }
    for (std::size_t j = 0; j < m_spec.style_layers.size(); ++j) {
        if (m_spec.style_layers[j] != layer || !m_style_on[j]) continue;
        const double alpha = 4 * m_style_loss_scale[j] * m_style_gram_scale[j];
        if (!m_regions) {
            style_gradient(dg, m_diff_scratch[j].data(), f, alpha);
            continue;
        }
        const std::size_t begin = std::size_t(ir.begin) * std::size_t(g.shape.w);
        for (std::size_t k = 0; k < m_num_styles; ++k) {
            if (!region_on(k, j)) continue;
            std::size_t nnz = 0;
            const std::int32_t* sp = strip_support(k, j, begin, f.m, nnz);
            m_masked_scratch.ensure(Shape{1, 1, 1, int(std::size_t(f.c) * f.m)});
            guided_style_gradient(dg, m_region_diff[k][j].data(), f, m_content_guides[k][j].data() + begin, sp, nnz,
                                  alpha * m_blend[k], m_masked_scratch.data());
        }
    }
}

template <typename T>
void Objective<T>::set_tile_rows(int rows) {
    NST_REQUIRE(rows >= 0, "Objective::set_tile_rows: rows must be >= 0");
    m_tile_rows = rows;
}

template <typename T>
std::size_t Objective<T>::planned_bytes(const LossSpec& spec, int h, int w, std::size_t num_styles,
                                        bool has_content_masks) {
    std::size_t n = 0;
    for (int l : spec.content_layers) {
        int lh = 0, lw = 0;
        layer_output_size(l, h, w, lh, lw);
        n += std::size_t(layer_channels(l)) * std::size_t(lh) * std::size_t(lw);
    }
    for (int l : spec.style_layers) {
        const std::size_t cc = std::size_t(layer_channels(l)) * std::size_t(layer_channels(l));
        n += 3 * cc;                       // target, Gram and G - A in T
        n += cc * sizeof(double) / sizeof(T);  // the position-normalised blend in double
        if (has_content_masks) {
            int lh = 0, lw = 0;
            layer_output_size(l, h, w, lh, lw);
            n += num_styles * (std::size_t(lh) * std::size_t(lw) + 3 * cc);  // guides, region targets
        }
    }
    return n * sizeof(T);
}

template <typename T>
void Objective<T>::refresh_style_target(std::size_t j, long long positions, double gram_scale) {
    if (m_style_target_positions[j] == positions) return;
    const double factor = gram_scale * double(positions);
    if (m_content_masks.empty()) {
        const Tensor<double>& src = m_style_norm[j];
        Tensor<T>& dst = m_style_targets[j];
        for (std::size_t i = 0; i < src.numel(); ++i) dst[i] = T(factor * src[i]);
    } else {
        for (std::size_t k = 0; k < m_num_styles; ++k) {
            const Tensor<double>& src = m_region_norm[k][j];
            if (src.empty()) continue;
            Tensor<T>& dst = m_region_targets[k][j];
            dst.ensure(src.shape());
            for (std::size_t i = 0; i < src.numel(); ++i) dst[i] = T(factor * src[i]);
        }
    }
    m_style_target_positions[j] = positions;
}

template class Objective<float>;
template class Objective<double>;

}  // namespace cpu
}  // namespace nst
