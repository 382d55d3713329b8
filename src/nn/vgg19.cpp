// SPDX-License-Identifier: MIT
// Vgg19Net: the forward pass to the deepest tap and the data-gradient backward pass.
//
// What is stored: every ReLU output (it is the next layer's input, the ReLU-backward mask and
// max-pool's backward input), every pool output (the next conv's input) and conv outputs only
// where a conv (pre-ReLU) layer is tapped; otherwise the ReLU is fused into the conv. The input
// image is not kept: a conv's data gradient needs only its weights.
//
// Backward walks the layers from the deepest tap down with the gradient in one of two work
// buffers. A ReLU that is not tapped is applied inside the next conv's backward (the mask
// epilogue), so its gradient never makes a separate pass through memory.
#include "nn/vgg19.h"

#include <algorithm>

#include "nn/conv2d_impl.h"
#include "nn/pool.h"
#include "nn/relu.h"

namespace nst::cpu {

template <typename T>
struct Vgg19Net<T>::Impl {
    Pooling pooling = Pooling::Max;
    std::vector<detail::Conv3x3Layer<T>> convs;  // kNumConvs
    std::vector<bool> tapped = std::vector<bool>(kNumLayers, false);
    int deepest = -1;

    // Per layer: output shape for the current input size, stored output (empty if not kept) and
    // the gradient buffer of taps.
    int in_h = 0, in_w = 0;
    int built_to = -1;  // layers 0..built_to have buffers for (in_h, in_w)
    std::vector<Shape> shapes = std::vector<Shape>(kNumLayers);
    std::vector<Tensor<T>> out = std::vector<Tensor<T>>(kNumLayers);
    std::vector<Tensor<T>> grads = std::vector<Tensor<T>>(kNumLayers);
    Tensor<T> work[2];
    bool have_forward = false;

    bool keeps_output(int k) const { return vgg19_layers()[k].kind != LayerKind::Conv || tapped[k]; }

    // Allocates what layers 0..deepest need for an (h, w) input; keeps what already fits.
    void prepare(int h, int w) {
        if (h == in_h && w == in_w && built_to >= deepest) {
            // Taps may have changed: make sure every tap has its buffers.
            for (int k = 0; k <= deepest; ++k) ensure_layer(k);
            return;
        }
        // Validate before touching any state, so that a rejected size leaves the net usable.
        std::vector<Shape> s = layer_shapes(deepest, h, w);
        std::size_t max_numel = 0;
        for (const Shape& shape : s) max_numel = std::max(max_numel, shape.numel());
        s.resize(kNumLayers);
        in_h = h;
        in_w = w;
        shapes = s;
        for (int k = 0; k <= deepest; ++k) ensure_layer(k);
        // The backward pass keeps the gradient of the current layer's output in one of these.
        for (auto& wb : work) wb.ensure(Shape{1, 1, 1, int(max_numel)});
        built_to = deepest;
    }

    void ensure_layer(int k) {
        if (keeps_output(k)) out[k].ensure(shapes[k]);
        if (tapped[k] && grads[k].shape() != shapes[k]) {
            grads[k].ensure(shapes[k]);
            std::fill(grads[k].begin(), grads[k].end(), T(0));
        }
    }

    TensorView<T> work_view(int i, const Shape& s) { return TensorView<T>(work[i].data(), s); }
};

template <typename T>
Vgg19Net<T>::Vgg19Net(const Vgg19Weights& weights, Pooling pooling, ConvAlgo algo) : m(std::make_unique<Impl>()) {
    m->pooling = pooling;
    m->convs.reserve(kNumConvs);
    for (int c = 0; c < kNumConvs; ++c) {
        const ConvParams& p = weights.conv[c];
        const Shape ws{conv_out_channels(c), conv_in_channels(c), 3, 3};
        if (p.weight.shape() != ws)
            throw_input("VGG19 weights: " + conv_name(c) + ".weight has shape " + p.weight.shape().str() +
                        ", expected " + ws.str());
        if (p.bias.numel() != std::size_t(ws.n))
            throw_input("VGG19 weights: " + conv_name(c) + ".bias has " + std::to_string(p.bias.numel()) +
                        " values, expected " + std::to_string(ws.n));
        m->convs.emplace_back(p.weight.cview(), p.bias.cview(), algo);
    }
}

template <typename T>
Vgg19Net<T>::~Vgg19Net() = default;
template <typename T>
Vgg19Net<T>::Vgg19Net(Vgg19Net&&) noexcept = default;
template <typename T>
Vgg19Net<T>& Vgg19Net<T>::operator=(Vgg19Net&&) noexcept = default;

template <typename T>
void Vgg19Net<T>::set_taps(const std::vector<int>& layers) {
    std::vector<bool> tapped(kNumLayers, false);
    int deepest = -1;
    for (int k : layers) {
        NST_REQUIRE(k >= 0 && k < kNumLayers, "Vgg19Net::set_taps: layer index " + std::to_string(k));
        tapped[k] = true;
        deepest = std::max(deepest, k);
    }
    m->tapped = tapped;
    m->deepest = deepest;
    m->have_forward = false;
    m->built_to = -1;  // re-derive buffers on the next forward (cheap: storage is kept)
}

template <typename T>
int Vgg19Net<T>::deepest() const {
    return m->deepest;
}

template <typename T>
Pooling Vgg19Net<T>::pooling() const {
    return m->pooling;
}

template <typename T>
void Vgg19Net<T>::forward(ConstView<T> x) {
    NST_REQUIRE(m->deepest >= 0, "Vgg19Net::forward: no taps set");
    NST_REQUIRE(x.device == Device::Host, "Vgg19Net (cpu) needs a host input");
    NST_REQUIRE(x.shape.n == 1 && x.shape.c == 3 && x.shape.h > 0 && x.shape.w > 0,
                "Vgg19Net::forward: input must be (1, 3, H, W), got " + x.shape.str());
    Impl& s = *m;
    s.prepare(x.shape.h, x.shape.w);
    s.have_forward = false;
    const auto& layers = vgg19_layers();
    ConstView<T> in = x;
    for (int k = 0; k <= s.deepest; ++k) {
        const LayerInfo& li = layers[k];
        switch (li.kind) {
            case LayerKind::Conv: {
                auto& conv = s.convs[li.conv];
                if (s.tapped[k]) {
                    conv.forward(s.out[k].view(), in, false);
                    in = s.out[k].cview();
                } else {
                    // Not tapped, so the ReLU that follows (k + 1 <= deepest) is fused.
                    conv.forward(s.out[k + 1].view(), in, true);
                    in = s.out[k + 1].cview();
                    ++k;
                }
                break;
            }
            case LayerKind::Relu:  // only reached when the conv before it is tapped
                relu_forward(s.out[k].view(), s.out[k - 1].cview());
                in = s.out[k].cview();
                break;
            case LayerKind::Pool:
                pool2x2_forward(s.out[k].view(), in, s.pooling);
                in = s.out[k].cview();
                break;
        }
    }
    s.have_forward = true;
}

template <typename T>
ConstView<T> Vgg19Net<T>::output(int layer) const {
    NST_REQUIRE(layer >= 0 && layer < kNumLayers && m->tapped[layer], "Vgg19Net::output: layer is not a tap");
    NST_REQUIRE(m->have_forward, "Vgg19Net::output: no forward pass since the taps were set");
    return m->out[layer].cview();
}

template <typename T>
void Vgg19Net<T>::zero_grads() {
    for (int k = 0; k < kNumLayers; ++k)
        if (m->tapped[k]) std::fill(m->grads[k].begin(), m->grads[k].end(), T(0));
}

template <typename T>
TensorView<T> Vgg19Net<T>::grad(int layer) {
    NST_REQUIRE(layer >= 0 && layer < kNumLayers && m->tapped[layer], "Vgg19Net::grad: layer is not a tap");
    NST_REQUIRE(m->have_forward, "Vgg19Net::grad: no forward pass since the taps were set");
    return m->grads[layer].view();
}

namespace {

template <typename T>
void add_into(T* acc, const T* v, std::size_t n) {
#pragma omp parallel for simd schedule(static)
    for (std::ptrdiff_t i = 0; i < std::ptrdiff_t(n); ++i) acc[i] += v[i];
}

}  // namespace

template <typename T>
void Vgg19Net<T>::backward(TensorView<T> dx) {
    Impl& s = *m;
    NST_REQUIRE(s.have_forward, "Vgg19Net::backward: no forward pass since the taps were set");
    const Shape in_shape{1, 3, s.in_h, s.in_w};
    NST_REQUIRE(dx.device == Device::Host && dx.shape == in_shape,
                "Vgg19Net::backward: dx must be " + in_shape.str() + ", got " + dx.shape.str());
    const auto& layers = vgg19_layers();

    // g: gradient w.r.t. the output of layer k; it lives in work[gbuf], or is a tap's own
    // buffer (gbuf = -1, read only). masked: the ReLU of layer k was already applied by the
    // conv above it, so g is the gradient w.r.t. the conv output below.
    const T* g = nullptr;
    int gbuf = -1;
    bool masked = false;
    auto add_tap = [&](int k) {
        if (!s.tapped[k]) return;
        if (!g) {
            g = s.grads[k].data();
            gbuf = -1;
        } else {
            NST_REQUIRE(gbuf >= 0, "Vgg19Net::backward: gradient bookkeeping");
            add_into(s.work[gbuf].data(), s.grads[k].data(), s.shapes[k].numel());
        }
    };
    auto free_buf = [&]() { return gbuf == 0 ? 1 : 0; };

    for (int k = s.deepest; k >= 0; --k) {
        const LayerInfo& li = layers[k];
        switch (li.kind) {
            case LayerKind::Relu: {
                add_tap(k);
                if (!masked) {
                    const int b = gbuf >= 0 ? gbuf : free_buf();  // in place when g is ours
                    relu_backward(s.work_view(b, s.shapes[k]), ConstView<T>(g, s.shapes[k]), s.out[k].cview());
                    g = s.work[b].data();
                    gbuf = b;
                }
                masked = false;
                break;
            }
            case LayerKind::Conv: {
                add_tap(k);
                auto& conv = s.convs[li.conv];
                const ConstView<T> dy(g, s.shapes[k]);
                if (k == 0) {
                    conv.backward(dx, dy, nullptr);
                    break;
                }
                const Shape& below = s.shapes[k - 1];
                const int b = free_buf();
                // Fuse the ReLU below (layer k - 1) unless its own tap gradient must be added
                // before the mask is applied.
                const bool fuse = layers[k - 1].kind == LayerKind::Relu && !s.tapped[k - 1];
                conv.backward(s.work_view(b, below), dy, fuse ? s.out[k - 1].data() : nullptr);
                g = s.work[b].data();
                gbuf = b;
                masked = fuse;
                break;
            }
            case LayerKind::Pool: {
                add_tap(k);
                const int b = free_buf();
                pool2x2_backward(s.work_view(b, s.shapes[k - 1]), ConstView<T>(g, s.shapes[k]), s.out[k - 1].cview(),
                                 s.pooling);
                g = s.work[b].data();
                gbuf = b;
                break;
            }
        }
    }
}

template <typename T>
void Vgg19Net<T>::backward(TensorView<T> dx, const TapGrad& add_tap_grad) {
    // Interim form over the tap gradient buffers (replaced by the buffer-free pass).
    zero_grads();
    for (int k = m->deepest; k >= 0; --k)
        if (m->tapped[k]) add_tap_grad(k, m->grads[k].view());
    backward(dx);
}

template <typename T>
void Vgg19Net<T>::release() {
    Impl& s = *m;
    for (auto& t : s.out) t = Tensor<T>();
    for (auto& t : s.grads) t = Tensor<T>();
    for (auto& t : s.work) t = Tensor<T>();
    s.in_h = s.in_w = 0;
    s.built_to = -1;
    s.have_forward = false;
}

template <typename T>
std::size_t Vgg19Net<T>::buffer_bytes(const std::vector<int>& taps, int h, int w) {
    int deepest = -1;
    std::vector<bool> tapped(kNumLayers, false);
    for (int k : taps) {
        tapped[std::size_t(k)] = true;
        deepest = std::max(deepest, k);
    }
    if (deepest < 0) return 0;
    const std::vector<Shape> shapes = layer_shapes(deepest, h, w);
    std::size_t n = 0, max_numel = 0;
    for (int k = 0; k <= deepest; ++k) {
        const Shape& s = shapes[std::size_t(k)];
        max_numel = std::max(max_numel, s.numel());
        if (vgg19_layers()[k].kind != LayerKind::Conv || tapped[std::size_t(k)]) n += s.numel();
        if (tapped[std::size_t(k)]) n += s.numel();
    }
    return (n + 2 * max_numel) * sizeof(T);
}

template class Vgg19Net<float>;
template class Vgg19Net<double>;

}  // namespace nst::cpu
