// SPDX-License-Identifier: MIT
#include "loss/perceptual.h"

#include <algorithm>

#include "core/error.h"
#include "loss/losses.h"

namespace nst {

namespace {

// The constants of io/preprocess.h (spec §4), in 0..255 units for the caffe mean.
constexpr double kCaffeMeanBgr[3] = {103.939, 116.779, 123.68};
constexpr double kTorchMean[3] = {0.485, 0.456, 0.406};
constexpr double kTorchStd[3] = {0.229, 0.224, 0.225};

// The model's io space to RGB in 0..255.
ChannelMap io_to_rgb255(ModelIo io) {
    ChannelMap m;
    if (io == ModelIo::CaffeBgr)
        for (int k = 0; k < 3; ++k) {
            m.src[k] = 2 - k;
            m.b[k] = kCaffeMeanBgr[2 - k];
        }
    return m;
}

// RGB in 0..255 to the loss network's input.
ChannelMap rgb255_to_net(PreprocessKind kind) {
    ChannelMap m;
    for (int c = 0; c < 3; ++c) {
        if (kind == PreprocessKind::Caffe) {
            m.src[c] = 2 - c;
            m.b[c] = -kCaffeMeanBgr[c];
        } else {
            m.a[c] = 1.0 / (255.0 * kTorchStd[c]);
            m.b[c] = -kTorchMean[c] / kTorchStd[c];
        }
    }
    return m;
}

// second(first(t)).
ChannelMap compose(const ChannelMap& first, const ChannelMap& second) {
    ChannelMap m;
    for (int c = 0; c < 3; ++c) {
        const int k = second.src[c];
        m.src[c] = first.src[k];
        m.a[c] = second.a[c] * first.a[k];
        m.b[c] = second.a[c] * first.b[k] + second.b[c];
    }
    return m;
}

template <typename T>
void apply_in_place(const ChannelMap& m, TensorView<T> x) {
    const std::size_t plane = x.shape.plane();
    for (int n = 0; n < x.shape.n; ++n) {
        T* p = x.data + std::size_t(n) * 3 * plane;
        for (std::size_t i = 0; i < plane; ++i) {
            const double in[3] = {double(p[i]), double(p[plane + i]), double(p[2 * plane + i])};
            for (int c = 0; c < 3; ++c) p[c * plane + i] = T(m.a[c] * in[m.src[c]] + m.b[c]);
        }
    }
}

}  // namespace

ChannelMap loss_input_map(ModelIo io, PreprocessKind preprocess) {
    return compose(io_to_rgb255(io), rgb255_to_net(preprocess));
}

const std::vector<PerceptualPreset>& perceptual_presets() {
    static const std::vector<PerceptualPreset> presets = {
        // pytorch/examples fast_neural_style (feedforward.md §3.3-§3.4).
        {"pytorch-examples", "relu2_2", "relu1_2,relu2_2,relu3_3,relu4_3", 1e5, 1e10, 0.0,
         PreprocessKind::Torchvision},
        // jcjohnson/fast-neural-style train.lua defaults (§2.3): content layer 16 = relu3_3.
        {"jcjohnson", "relu3_3", "relu1_2,relu2_2,relu3_3,relu4_3", 1.0, 5.0, 1e-6, PreprocessKind::Caffe},
    };
    return presets;
}

const PerceptualPreset& perceptual_preset(const std::string& name) {
    std::string known;
    for (const auto& p : perceptual_presets()) {
        if (name == p.name) return p;
        known += (known.empty() ? "" : ", ") + std::string(p.name);
    }
    throw_usage("--loss-preset: unknown preset '" + name + "' (known: " + known + ")");
}

ModelIo parse_model_io(const std::string& name, const std::string& where) {
    if (name == "rgb255") return ModelIo::Rgb255;
    if (name == "caffe-bgr") return ModelIo::CaffeBgr;
    throw_input(where + ": unknown nst.io '" + name + "' (known: rgb255, caffe-bgr)");
}

const char* model_io_name(ModelIo io) { return io == ModelIo::Rgb255 ? "rgb255" : "caffe-bgr"; }

template <typename T>
void rgb255_to_model_io(ModelIo io, TensorView<T> x) {
    NST_REQUIRE(x.shape.c == 3, "model io needs 3 channels");
    // The inverse of io_to_rgb255: the same channel flip, with the mean subtracted.
    ChannelMap m;
    if (io == ModelIo::CaffeBgr)
        for (int c = 0; c < 3; ++c) {
            m.src[c] = 2 - c;
            m.b[c] = -kCaffeMeanBgr[c];
        }
    apply_in_place(m, x);
}

template <typename T>
void model_io_to_rgb255(ModelIo io, TensorView<T> x) {
    NST_REQUIRE(x.shape.c == 3, "model io needs 3 channels");
    apply_in_place(io_to_rgb255(io), x);
}

template <typename T>
PerceptualLoss<T>::PerceptualLoss(cpu::VggNet<T>& net, PerceptualOptions options)
    : m_net(net), m_opt(std::move(options)) {
    if (m_opt.content_layers.empty() && m_opt.style_layers.empty())
        throw_usage("the loss has neither content nor style layers");
    m_taps = m_opt.content_layers;
    m_taps.insert(m_taps.end(), m_opt.style_layers.begin(), m_opt.style_layers.end());
    std::sort(m_taps.begin(), m_taps.end());
    m_taps.erase(std::unique(m_taps.begin(), m_taps.end()), m_taps.end());
    m_net.set_taps(m_taps);
    const ChannelMap m = loss_input_map(m_opt.io, m_opt.preprocess);
    for (int c = 0; c < 3; ++c) {
        m_src[c] = m.src[c];
        m_a[c] = m.a[c];
        m_b[c] = m.b[c];
    }
    m_content_target.resize(m_opt.content_layers.size());
    m_style_gram.resize(m_opt.style_layers.size());
    m_gram.resize(m_opt.style_layers.size());
    m_diff.resize(m_opt.style_layers.size());
}

template <typename T>
void PerceptualLoss<T>::to_net(ConstView<T> t, int b) {
    const Shape s{1, 3, t.shape.h, t.shape.w};
    m_in.ensure(s);
    const std::size_t plane = s.plane();
    const T* src = t.data + std::size_t(b) * 3 * plane;
    for (int c = 0; c < 3; ++c) {
        const T* in = src + m_src[c] * plane;
        T* out = m_in.data() + c * plane;
        const T a = T(m_a[c]), off = T(m_b[c]);
        for (std::size_t i = 0; i < plane; ++i) out[i] = a * in[i] + off;
    }
}

template <typename T>
void PerceptualLoss<T>::set_style(ConstView<float> style_rgb) {
    NST_REQUIRE(style_rgb.shape.n == 1 && style_rgb.shape.c == 3, "style image must be (1, 3, h, w)");
    Tensor<T> t = cast<T, float>(style_rgb);
    for (auto& v : t) v *= T(255);
    rgb255_to_model_io(m_opt.io, t.view());
    to_net(t.cview(), 0);
    m_net.forward(m_in.cview());
    for (std::size_t l = 0; l < m_opt.style_layers.size(); ++l) {
        const ConstView<T> f = m_net.output(m_opt.style_layers[l]);
        const int c = f.shape.c;
        m_style_gram[l] = Tensor<T>(Shape{1, 1, c, c});
        cpu::gram_matrix(m_style_gram[l].view(), f, 1.0 / double(f.shape.numel()));
    }
    // A style image larger than the crops must not size the network's buffers for the whole run.
    m_net.release();
}

template <typename T>
LossTerms PerceptualLoss<T>::evaluate(ConstView<T> y, ConstView<T> x, TensorView<T> dy) {
    NST_REQUIRE(y.shape == x.shape && y.shape.c == 3, "perceptual loss: output " + y.shape.str() +
                                                          " and content " + x.shape.str() + " differ");
    NST_REQUIRE(dy.empty() || dy.shape == y.shape, "perceptual loss: dy has the wrong shape");
    NST_REQUIRE(m_opt.style_layers.empty() || (!m_style_gram.empty() && !m_style_gram[0].empty()),
                "perceptual loss: set_style first");
    const int batch = y.shape.n;
    const std::size_t per = std::size_t(3) * y.shape.plane();
    LossTerms terms;
    terms.content.assign(m_opt.content_layers.size(), 0.0);
    terms.style.assign(m_opt.style_layers.size(), 0.0);
    m_dx.ensure(Shape{1, 3, y.shape.h, y.shape.w});
    for (int b = 0; b < batch; ++b) {
        // The content targets: the loss network's features of the content image itself.
        if (!m_opt.content_layers.empty()) {
            to_net(x, b);
            m_net.forward(m_in.cview());
            for (std::size_t l = 0; l < m_opt.content_layers.size(); ++l) {
                const ConstView<T> f = m_net.output(m_opt.content_layers[l]);
                m_content_target[l].ensure(f.shape);
                std::copy(f.begin(), f.end(), m_content_target[l].begin());
            }
        }
        to_net(y, b);
        m_net.forward(m_in.cview());
        const bool want_grad = !dy.empty();
        // Each term's value and gradient together, at the tap, on the way down.
        auto add_terms = [&](int layer, TensorView<T> g) {
            for (std::size_t l = 0; l < m_opt.content_layers.size(); ++l) {
                if (m_opt.content_layers[l] != layer) continue;
                const ConstView<T> f = m_net.output(layer);
                const double scale = m_opt.content_weight / (double(batch) * double(f.shape.numel()));
                terms.content[l] += cpu::content_loss<T>(f, m_content_target[l].cview(), scale, g);
            }
            for (std::size_t l = 0; l < m_opt.style_layers.size(); ++l) {
                if (m_opt.style_layers[l] != layer) continue;
                const ConstView<T> f = m_net.output(layer);
                const int c = f.shape.c;
                m_gram[l].ensure(Shape{1, 1, c, c});
                m_diff[l].ensure(Shape{1, 1, c, c});
                const double loss_scale = m_opt.style_weight / (double(batch) * double(c) * double(c));
                terms.style[l] += cpu::style_loss<T>(f, m_style_gram[l].cview(), 1.0 / double(f.shape.numel()),
                                                     loss_scale, m_gram[l].view(), m_diff[l].view(), g);
            }
        };
        if (want_grad) {
            m_net.backward(m_dx.view(), [&](int layer, TensorView<T> g) { add_terms(layer, g); });
            // Back through the affine input map: d t[src_c] = a_c d in_c.
            T* out = dy.data + std::size_t(b) * per;
            const std::size_t plane = y.shape.plane();
            for (int c = 0; c < 3; ++c) {
                const T a = T(m_a[c]);
                const T* g = m_dx.data() + c * plane;
                T* o = out + m_src[c] * plane;
                for (std::size_t i = 0; i < plane; ++i) o[i] = a * g[i];
            }
        } else {
            for (int layer : m_taps) add_terms(layer, TensorView<T>());
        }
        if (m_opt.tv_weight != 0) {
            const ConstView<T> yb(y.data + std::size_t(b) * per, Shape{1, 3, y.shape.h, y.shape.w});
            TensorView<T> db;
            if (want_grad) db = TensorView<T>(dy.data + std::size_t(b) * per, yb.shape);
            terms.tv += cpu::tv_loss<T>(yb, m_opt.tv_weight, db);
        }
    }
    terms.total = terms.content_sum() + terms.style_sum() + terms.tv;
    return terms;
}

#define NST_INSTANTIATE(T)                                              \
    template void rgb255_to_model_io<T>(ModelIo, TensorView<T>);        \
    template void model_io_to_rgb255<T>(ModelIo, TensorView<T>);        \
    template class PerceptualLoss<T>;
NST_INSTANTIATE(float)
NST_INSTANTIATE(double)
#undef NST_INSTANTIATE

}  // namespace nst
