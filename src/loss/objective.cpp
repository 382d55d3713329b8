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
    m_net.forward(content);
    for (std::size_t i = 0; i < m_spec.content_layers.size(); ++i) {
        ConstView<T> f = m_net.output(m_spec.content_layers[i]);
        Tensor<T>& p = m_content_targets[i];
        p.ensure(f.shape);
        std::copy(f.begin(), f.end(), p.begin());
    }
    m_content_set = true;
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
        m_net.forward(styles[k]);
        for (std::size_t j = 0; j < n_style; ++j) {
            if (!m_uses[k][j]) continue;
            ConstView<T> f = m_net.output(m_spec.style_layers[j]);
            const double m_k = double(f.shape.plane());
            Tensor<T>& g = m_gram_scratch[j];
            const Tensor<double>& guide = plan.style_guides[k][j];
            if (guide.empty()) {
                gram_matrix(g.view(), f, 1.0 / m_k);
            } else {
                const Tensor<T> t = guide_as<T>(guide);
                Tensor<T> ft(f.shape);
                guided_gram(g.view(), f, t.cview(), 1.0 / m_k, ft.view());
            }
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
    const std::size_t n_style = m_spec.style_layers.size();

    if (any_layer) {
        m_net.forward(x);
        if (grad) m_net.zero_grads();
        for (std::size_t i = 0; i < m_spec.content_layers.size() && m_spec.content_weight != 0; ++i) {
            const int l = m_spec.content_layers[i];
            ConstView<T> f = m_net.output(l);
            ConstView<T> p = m_content_targets[i].cview();
            NST_REQUIRE(f.shape == p.shape, "objective: image size differs from the content image's at " +
                                                vgg19_layers()[l].name);
            const LossScales sc = loss_scales(m_spec.preset, f.shape.c, (long long)f.shape.plane());
            terms.content[i] = content_loss(f, p, m_spec.content_weight * sc.content,
                                            grad ? m_net.grad(l) : TensorView<T>{});
        }
        const bool regions = !m_content_masks.empty();
        if (regions && n_style > 0 && m_spec.style_weight != 0) {
            NST_REQUIRE(m_content_masks.size() == m_num_styles, "objective: content masks vs style images");
            refresh_content_guides(x.shape.h, x.shape.w);
        }
        for (std::size_t j = 0; j < n_style && m_spec.style_weight != 0; ++j) {
            const int l = m_spec.style_layers[j];
            const double wl = style_layer_weight(m_spec.preset, m_spec.style_layer_weights[j], int(n_style));
            if (wl == 0 || (!regions && !m_layer_active[j])) continue;
            ConstView<T> f = m_net.output(l);
            const long long m = (long long)f.shape.plane();
            const LossScales sc = loss_scales(m_spec.preset, f.shape.c, m);
            refresh_style_target(j, m, sc.gram);
            const TensorView<T> df = grad ? m_net.grad(l) : TensorView<T>{};
            if (!regions) {
                terms.style[j] = style_loss(f, m_style_targets[j].cview(), sc.gram, m_spec.style_weight * wl * sc.style,
                                            m_gram_scratch[j].view(), m_diff_scratch[j].view(), df);
                continue;
            }
            // One guided term per region whose style uses this layer (sum_k b_k style_loss(F o C_k, A_k)).
            const TensorView<T> ft(m_masked_scratch.data(), f.shape);
            for (std::size_t k = 0; k < m_num_styles; ++k) {
                const Tensor<T>& guide = m_content_guides[k][j];
                if (!m_uses[k][j] || m_blend[k] == 0 || guide.empty()) continue;
                terms.style[j] += guided_style_loss(f, guide.cview(), m_region_targets[k][j].cview(), sc.gram,
                                                    m_spec.style_weight * wl * sc.style * m_blend[k], ft,
                                                    m_gram_scratch[j].view(), m_diff_scratch[j].view(), df,
                                                    m_content_support[k][j]);
            }
        }
        if (grad) m_net.backward(dx);
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
