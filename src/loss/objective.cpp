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
#include "loss/objective.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "loss/losses.h"

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

template <typename T>
void Objective<T>::set_content_masks(const std::vector<ConstView<float>>& masks) {
    NST_REQUIRE(masks.empty(), "objective: content masks are not implemented yet");
}

template <typename T>
void Objective<T>::set_edit_mask(ConstView<float> mask) {
    NST_REQUIRE(mask.empty(), "objective: the edit mask is not implemented yet");
}

template <typename T>
void Objective<T>::set_styles(const std::vector<ConstView<T>>& styles, const std::vector<double>& blend,
                              const std::vector<ConstView<float>>& style_masks) {
    NST_REQUIRE(style_masks.empty(), "objective: style masks are not implemented yet");
    if (m_spec.style_layers.empty()) {
        m_styles_set = true;
        return;
    }
    const std::vector<double> b = normalized_blend(blend, styles.size());

    for (auto& t : m_style_norm)
        for (auto& v : t) v = 0.0;
    for (std::size_t k = 0; k < styles.size(); ++k) {
        const double bk = b[k];
        if (bk == 0) continue;
        m_net.forward(styles[k]);
        for (std::size_t j = 0; j < m_spec.style_layers.size(); ++j) {
            ConstView<T> f = m_net.output(m_spec.style_layers[j]);
            const double m_k = double(f.shape.plane());
            NST_REQUIRE(m_k > 0, "style image too small for layer " + vgg19_layers()[m_spec.style_layers[j]].name);
            Tensor<T>& g = m_gram_scratch[j];
            gram_matrix(g.view(), f, 1.0 / m_k);
            Tensor<double>& acc = m_style_norm[j];
            for (std::size_t i = 0; i < acc.numel(); ++i) acc[i] += bk * double(g[i]);
        }
    }
    m_style_target_positions.assign(m_spec.style_layers.size(), -1);
    m_styles_set = true;
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
        for (std::size_t j = 0; j < n_style && m_spec.style_weight != 0; ++j) {
            const int l = m_spec.style_layers[j];
            const double wl = style_layer_weight(m_spec.preset, m_spec.style_layer_weights[j], int(n_style));
            if (wl == 0) continue;
            ConstView<T> f = m_net.output(l);
            const long long m = (long long)f.shape.plane();
            const LossScales sc = loss_scales(m_spec.preset, f.shape.c, m);
            refresh_style_target(j, m, sc.gram);
            terms.style[j] = style_loss(f, m_style_targets[j].cview(), sc.gram, m_spec.style_weight * wl * sc.style,
                                        m_gram_scratch[j].view(), m_diff_scratch[j].view(),
                                        grad ? m_net.grad(l) : TensorView<T>{});
        }
        if (grad) m_net.backward(dx);
    } else if (grad) {
        for (auto& v : dx) v = T(0);  // nothing but TV: its gradient accumulates onto zero
    }
    if (m_spec.tv_weight != 0) terms.tv = tv_loss(x, m_spec.tv_weight, dx);
    terms.total = terms.content_sum() + terms.style_sum() + terms.tv;
    return terms;
}

template <typename T>
void Objective<T>::refresh_style_target(std::size_t j, long long positions, double gram_scale) {
    if (m_style_target_positions[j] == positions) return;
    const double factor = gram_scale * double(positions);
    const Tensor<double>& src = m_style_norm[j];
    Tensor<T>& dst = m_style_targets[j];
    for (std::size_t i = 0; i < src.numel(); ++i) dst[i] = T(factor * src[i]);
    m_style_target_positions[j] = positions;
}

template class Objective<float>;
template class Objective<double>;

}  // namespace cpu
}  // namespace nst
