// SPDX-License-Identifier: MIT
// The objective's set-up: the LossSpec checks, the content and style targets (computed strip by
// strip under set_tile_rows, like the evaluation in objective_eval.cpp) and the guides.
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
// keeps its own target and the image's features are masked by that style's content guide.
#include "loss/objective.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "loss/column_losses.h"
#include "loss/gram_detail.h"
#include "loss/losses.h"
#include "loss/objective_geometry.h"
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

void check_grad_norm_tiling(const LossSpec& spec, int tile_rows) {
    if (tile_rows > 0 && spec.grad_norm == GradNorm::JcJohnson)
        throw_usage("--normalize-gradients jcjohnson: the L1 norm needs each layer's whole gradient at once, so it "
                    "cannot run tiled (--tile-rows " + std::to_string(tile_rows) +
                    "); lower --image-size or use --memory-limit with room for an untiled run");
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

using geometry::full_layer_shape;
using geometry::image_rows;
using geometry::layer_channels;


template <typename T>
Objective<T>::Objective(Vgg19Net<T>& net, const LossSpec& spec) : m_net(net), m_spec(checked_loss_spec(spec)) {
    // Layer indices, geometry and tiling here are VGG19's table.
    if (net.arch() != VggArch::Vgg19)
        throw_usage(std::string("the style-transfer objective needs VGG19 weights, not ") + arch_title(net.arch()));
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
                    const T* t = guides[j].data() + std::size_t(image_rows(s, l, r).begin) * std::size_t(full_layer_shape(l, h, w).w);
                    guided_gram_upper(g, f, t, static_cast<const std::int32_t*>(nullptr), 0, 1.0 / m_k, si == 0,
                                      masked_scratch(f));
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
void Objective<T>::set_temporal(const std::vector<TemporalTarget<float>>& targets, PreprocessKind kind,
                                double caffe_scale) {
    m_temporal_warped.clear();
    m_temporal_weight.clear();
    m_temporal_scale.clear();
    if (targets.empty()) return;
    const Shape xs = targets[0].warped.shape;
    NST_REQUIRE(xs.n == 1 && xs.c > 0 && xs.h > 0 && xs.w > 0, "objective: temporal target " + xs.str());
    const Shape ws{1, 1, xs.h, xs.w};
    for (const TemporalTarget<float>& t : targets) {
        NST_REQUIRE(t.warped.shape == xs && t.weight.shape == ws, "objective: temporal target " + t.warped.shape.str() +
                    " / weight " + t.weight.shape.str() + " vs " + xs.str());
        m_temporal_warped.push_back(cast<T>(t.warped));
        m_temporal_weight.push_back(cast<T>(t.weight));
    }
    m_temporal_scale = temporal_channel_scales(kind, caffe_scale, m_spec.temporal_weight, xs.c, xs.h, xs.w);
}

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
    m_guides_h = h;
    m_guides_w = w;
}

template <typename T>
T* Objective<T>::masked_scratch(const Columns<const T>& f) {
    m_masked_scratch.ensure(Shape{1, 1, 1, int(std::size_t(f.c) * f.m)});
    return m_masked_scratch.data();
}

template <typename T>
void Objective<T>::set_tile_rows(int rows) {
    NST_REQUIRE(rows >= 0, "Objective::set_tile_rows: rows must be >= 0");
    check_grad_norm_tiling(m_spec, rows);
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
