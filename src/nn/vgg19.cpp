// SPDX-License-Identifier: MIT
// VggNet: the forward pass to the deepest tap and the data-gradient backward pass.
//
// What is stored is what backward needs and nothing more (plan_storage):
// - a tap's output, as T: the losses read it, and the style gradient needs it in backward;
// - for a ReLU that is not tapped and feeds a conv, its mask as one byte per value (1 where the
//   output is > 0), written by the fused conv+ReLU forward and applied by the next conv's
//   backward epilogue, so it costs no pass over memory of its own. When the conv below the ReLU
//   is tapped its stored output serves as the mask (conv > 0 exactly where ReLU(conv) > 0);
// - for a pool whose input ReLU is not tapped, one byte per pooled value saying which inputs of
//   the window take the gradient (pool.h: window codes): the pool's and that ReLU's backward in
//   one. A tapped ReLU below a pool is stored anyway, and the pool's backward reads it.
// Everything else (untapped conv and ReLU outputs, untapped pool outputs) lives in one of two
// work buffers the size of the largest layer, in turn: a layer reads one and writes the other.
// The input image is not kept: a conv's data gradient needs only its weights.
//
// Backward walks the layers from the deepest tap down with the gradient in one of the same two
// work buffers. At each tap the caller adds the losses' gradient into it (TapGrad), so no tap
// needs a gradient buffer of its own. Every untapped ReLU is applied inside the backward of
// the layer above it (the conv's mask epilogue or the pool's codes); a tapped one must first
// receive its tap gradient, and is applied on its own.
//
// The old interface (grad(), zero_grads(), backward(dx)) keeps a gradient buffer per tap, made
// on first use, and runs the same pass with a callback that adds those buffers.
#include "nn/vgg19.h"

#include <algorithm>
#include <cstdint>

#include "nn/conv2d_impl.h"
#include "nn/pool.h"
#include "nn/relu.h"

namespace nst::cpu {

namespace {

// What the forward of an (h, w) input with these taps keeps for backward, per layer 0..deepest.
struct StoragePlan {
    std::vector<Shape> shapes;      // layer outputs (1, C, h_k, w_k)
    std::vector<bool> value;        // the output, as T (taps)
    std::vector<bool> relu_bytes;   // ReLU: its mask, one byte per value
    std::vector<bool> pool_codes;   // pool: its window codes, one byte per pooled value
    Shape work_shape;               // of each of the two work buffers: the largest layer

    std::size_t bytes(std::size_t elem) const {
        std::size_t n = 2 * work_shape.numel() * elem;
        for (std::size_t k = 0; k < shapes.size(); ++k) {
            if (value[k]) n += shapes[k].numel() * elem;
            if (relu_bytes[k] || pool_codes[k]) n += shapes[k].numel();
        }
        return n;
    }
};

// Throws the input error of layer_shapes for a size too small for the deepest tap.
StoragePlan plan_storage(const VggLayers& layers, const std::vector<bool>& tapped, int deepest, int h, int w) {
    StoragePlan p;
    p.shapes = layer_shapes(deepest, h, w, layers.arch());
    const std::size_t n = p.shapes.size();
    p.value.assign(n, false);
    p.relu_bytes.assign(n, false);
    p.pool_codes.assign(n, false);
    for (int k = 0; k <= deepest; ++k) {
        const std::size_t i = std::size_t(k);
        if (p.shapes[i].numel() > p.work_shape.numel()) p.work_shape = p.shapes[i];
        p.value[i] = tapped[i];
        // A pool follows a ReLU; an untapped ReLU is never the deepest layer, so layer k + 1
        // exists (a conv or a pool).
        if (layers[k].kind == LayerKind::Pool) p.pool_codes[i] = !tapped[i - 1];
        if (layers[k].kind == LayerKind::Relu && !tapped[i])
            p.relu_bytes[i] = !tapped[i - 1] && layers[k + 1].kind == LayerKind::Conv;
    }
    return p;
}

struct TapSet {
    std::vector<bool> tapped;
    int deepest = -1;
};

TapSet tap_set(const VggLayers& table, const std::vector<int>& layers, const char* what) {
    TapSet t;
    t.tapped.assign(std::size_t(table.size()), false);
    for (int k : layers) {
        NST_REQUIRE(k >= 0 && k < table.size(), std::string(what) + ": layer index " + std::to_string(k));
        t.tapped[std::size_t(k)] = true;
        t.deepest = std::max(t.deepest, k);
    }
    return t;
}

template <typename T>
void add_into(T* acc, const T* v, std::size_t n) {
#pragma omp parallel for simd schedule(static)
    for (std::ptrdiff_t i = 0; i < std::ptrdiff_t(n); ++i) acc[i] += v[i];
}

}  // namespace

template <typename T>
struct VggNet<T>::Impl {
    explicit Impl(const VggLayers& t) : layers(t), n(t.size()) { taps.tapped.assign(std::size_t(n), false); }

    const VggLayers& layers;  // the weights' architecture
    const int n;              // layers in the table
    Pooling pooling = Pooling::Max;
    std::vector<detail::Conv3x3Layer<T>> convs;  // layers.num_convs()
    TapSet taps;

    // Buffers for the current input size and taps (valid while `planned`), per layer.
    bool planned = false;
    int in_h = 0, in_w = 0;
    StoragePlan plan;
    std::vector<Tensor<T>> out = std::vector<Tensor<T>>(std::size_t(n));              // plan.value
    std::vector<Tensor<std::uint8_t>> bytes = std::vector<Tensor<std::uint8_t>>(std::size_t(n));  // relu_bytes, pool_codes
    std::vector<Tensor<T>> grads = std::vector<Tensor<T>>(std::size_t(n));            // old interface only
    Tensor<T> work[2];
    bool have_forward = false;

    bool tapped(int k) const { return taps.tapped[std::size_t(k)]; }
    const Shape& shape(int k) const { return plan.shapes[std::size_t(k)]; }

    // Allocates what layers 0..deepest need for an (h, w) input, keeping storage that fits, and
    // frees what the taps no longer need.
    void prepare(int h, int w) {
        if (planned && h == in_h && w == in_w) return;
        // Validate before touching any state, so that a rejected size leaves the net usable.
        StoragePlan p = plan_storage(layers, taps.tapped, taps.deepest, h, w);
        in_h = h;
        in_w = w;
        plan = std::move(p);
        for (int k = 0; k < n; ++k) {
            const std::size_t i = std::size_t(k);
            const bool in_plan = k <= taps.deepest;
            if (in_plan && plan.value[i])
                out[i].ensure(shape(k));
            else
                out[i] = Tensor<T>();
            if (in_plan && (plan.relu_bytes[i] || plan.pool_codes[i]))
                bytes[i].ensure(shape(k));
            else
                bytes[i] = Tensor<std::uint8_t>();
            // Tap gradients keep their contents while their shape stays (the old interface
            // accumulates into them across calls).
            if (!(in_plan && plan.value[i]))
                grads[i] = Tensor<T>();
            else if (!grads[i].empty() && grads[i].shape() != shape(k))
                make_grad(k);
        }
        for (auto& wb : work) wb.ensure(plan.work_shape);
        planned = true;
    }

    void make_grad(int k) {
        Tensor<T>& g = grads[std::size_t(k)];
        g.ensure(shape(k));
        std::fill(g.begin(), g.end(), T(0));
    }
    Tensor<T>& grad(int k) {
        if (grads[std::size_t(k)].empty()) make_grad(k);
        return grads[std::size_t(k)];
    }

    TensorView<T> work_view(int i, const Shape& s) { return TensorView<T>(work[i].data(), s); }
    TensorView<std::uint8_t> bytes_view(int k) { return bytes[std::size_t(k)].view(); }
};

template <typename T>
VggNet<T>::VggNet(const VggWeights& weights, Pooling pooling, ConvAlgo algo)
    : m(std::make_unique<Impl>(vgg_layers(weights.arch))) {
    m->pooling = pooling;
    check_vgg_weights(weights);
    const int nc = m->layers.num_convs();
    m->convs.reserve(std::size_t(nc));
    for (int c = 0; c < nc; ++c) {
        const ConvParams& p = weights.conv[std::size_t(c)];
        m->convs.emplace_back(p.weight.cview(), p.bias.cview(), algo);
    }
}

template <typename T>
VggNet<T>::~VggNet() = default;
template <typename T>
VggNet<T>::VggNet(VggNet&&) noexcept = default;
template <typename T>
VggNet<T>& VggNet<T>::operator=(VggNet&&) noexcept = default;

template <typename T>
void VggNet<T>::set_taps(const std::vector<int>& layers) {
    m->taps = tap_set(m->layers, layers, "Vgg19Net::set_taps");
    m->have_forward = false;
    m->planned = false;  // re-planned on the next forward (storage that fits is kept)
}

template <typename T>
int VggNet<T>::deepest() const {
    return m->taps.deepest;
}

template <typename T>
Pooling VggNet<T>::pooling() const {
    return m->pooling;
}

template <typename T>
VggArch VggNet<T>::arch() const {
    return m->layers.arch();
}

template <typename T>
void VggNet<T>::forward(ConstView<T> x) {
    NST_REQUIRE(m->taps.deepest >= 0, "Vgg19Net::forward: no taps set");
    NST_REQUIRE(x.device == Device::Host, "Vgg19Net (cpu) needs a host input");
    NST_REQUIRE(x.shape.n == 1 && x.shape.c == 3 && x.shape.h > 0 && x.shape.w > 0,
                "Vgg19Net::forward: input must be (1, 3, H, W), got " + x.shape.str());
    Impl& s = *m;
    s.prepare(x.shape.h, x.shape.w);
    s.have_forward = false;
    const VggLayers& layers = s.layers;
    // `in` is the current layer's input; it lives in work[cur] (or elsewhere when cur = -1).
    ConstView<T> in = x;
    int cur = -1;
    // Where layer k's output goes: its own buffer if tapped, else the work buffer `in` is not in.
    auto target = [&](int k) -> TensorView<T> {
        if (s.tapped(k)) {
            cur = -1;
            return s.out[std::size_t(k)].view();
        }
        cur = cur == 0 ? 1 : 0;
        return s.work_view(cur, s.shape(k));
    };
    for (int k = 0; k <= s.taps.deepest; ++k) {
        const LayerInfo& li = layers[k];
        switch (li.kind) {
            case LayerKind::Conv: {
                auto& conv = s.convs[std::size_t(li.conv)];
                if (s.tapped(k)) {
                    const TensorView<T> y = target(k);
                    conv.forward(y, in, false);
                    in = y;
                    break;
                }
                // Not tapped, so the ReLU that follows (k + 1 <= deepest) is fused, and leaves
                // its mask for backward where the plan has one.
                ++k;
                std::uint8_t* mask = s.plan.relu_bytes[std::size_t(k)] ? s.bytes[std::size_t(k)].data() : nullptr;
                const TensorView<T> y = target(k);
                conv.forward(y, in, true, mask);
                in = y;
                break;
            }
            case LayerKind::Relu: {  // only reached when the conv before it is tapped
                const TensorView<T> y = target(k);
                relu_forward(y, s.out[std::size_t(k - 1)].cview());
                in = y;
                break;
            }
            case LayerKind::Pool: {
                const TensorView<T> y = target(k);
                if (s.plan.pool_codes[std::size_t(k)])
                    pool2x2_forward_coded(y, s.bytes_view(k), in, s.pooling);
                else
                    pool2x2_forward(y, in, s.pooling);
                in = y;
                break;
            }
        }
    }
    s.have_forward = true;
}

template <typename T>
ConstView<T> VggNet<T>::output(int layer) const {
    NST_REQUIRE(layer >= 0 && layer < m->n && m->tapped(layer), "Vgg19Net::output: layer is not a tap");
    NST_REQUIRE(m->have_forward, "Vgg19Net::output: no forward pass since the taps were set");
    return m->out[std::size_t(layer)].cview();
}

template <typename T>
void VggNet<T>::zero_grads() {
    for (int k = 0; k <= m->taps.deepest; ++k) {
        if (!m->tapped(k)) continue;
        if (m->planned)
            m->make_grad(k);
        else  // shapes are not known yet: clear what exists, the next forward makes the rest
            std::fill(m->grads[std::size_t(k)].begin(), m->grads[std::size_t(k)].end(), T(0));
    }
}

template <typename T>
TensorView<T> VggNet<T>::grad(int layer) {
    NST_REQUIRE(layer >= 0 && layer < m->n && m->tapped(layer), "Vgg19Net::grad: layer is not a tap");
    NST_REQUIRE(m->have_forward, "Vgg19Net::grad: no forward pass since the taps were set");
    return m->grad(layer).view();
}

template <typename T>
void VggNet<T>::backward(TensorView<T> dx) {
    NST_REQUIRE(m->have_forward, "Vgg19Net::backward: no forward pass since the taps were set");
    backward(dx, [this](int layer, TensorView<T> g) {
        add_into(g.data, m->grad(layer).data(), g.numel());
    });
}

template <typename T>
void VggNet<T>::backward(TensorView<T> dx, const TapGrad& add_tap_grad) {
    Impl& s = *m;
    NST_REQUIRE(s.have_forward, "Vgg19Net::backward: no forward pass since the taps were set");
    const Shape in_shape{1, 3, s.in_h, s.in_w};
    NST_REQUIRE(dx.device == Device::Host && dx.shape == in_shape,
                "Vgg19Net::backward: dx must be " + in_shape.str() + ", got " + dx.shape.str());
    const VggLayers& layers = s.layers;

    // The gradient w.r.t. layer k's output lives in work[gbuf]; layer k's backward writes the
    // gradient w.r.t. its input into the other one.
    int gbuf = 0;
    {
        const TensorView<T> g = s.work_view(gbuf, s.shape(s.taps.deepest));
        std::fill(g.begin(), g.end(), T(0));
    }
    for (int k = s.taps.deepest; k >= 0; --k) {
        const LayerInfo& li = layers[k];
        const TensorView<T> g = s.work_view(gbuf, s.shape(k));
        if (s.tapped(k)) add_tap_grad(k, g);
        const int b = gbuf == 0 ? 1 : 0;
        switch (li.kind) {
            case LayerKind::Relu:
                // An untapped ReLU was applied by the layer above (see the file comment).
                if (s.tapped(k)) relu_backward(g, ConstView<T>(g), s.out[std::size_t(k)].cview());
                break;
            case LayerKind::Conv: {
                auto& conv = s.convs[std::size_t(li.conv)];
                if (k == 0) {
                    conv.backward(dx, g, nullptr);
                    break;
                }
                // Fuse the ReLU below (layer k - 1) unless its own tap gradient must be added
                // before its mask is applied. Its mask: the stored conv output below it, or
                // the bytes the forward left.
                const T* mask = nullptr;
                const std::uint8_t* mask_bytes = nullptr;
                if (layers[k - 1].kind == LayerKind::Relu && !s.tapped(k - 1)) {
                    if (s.tapped(k - 2))
                        mask = s.out[std::size_t(k - 2)].data();
                    else
                        mask_bytes = s.bytes[std::size_t(k - 1)].data();
                }
                conv.backward(s.work_view(b, s.shape(k - 1)), g, mask, mask_bytes);
                gbuf = b;
                break;
            }
            case LayerKind::Pool: {
                const TensorView<T> below = s.work_view(b, s.shape(k - 1));
                if (s.plan.pool_codes[std::size_t(k)])
                    pool2x2_backward_coded(below, ConstView<T>(g), ConstView<std::uint8_t>(s.bytes_view(k)), s.pooling);
                else
                    pool2x2_backward(below, ConstView<T>(g), s.out[std::size_t(k - 1)].cview(), s.pooling);
                gbuf = b;
                break;
            }
        }
    }
}

template <typename T>
void VggNet<T>::release() {
    Impl& s = *m;
    for (auto& t : s.out) t = Tensor<T>();
    for (auto& t : s.bytes) t = Tensor<std::uint8_t>();
    for (auto& t : s.grads) t = Tensor<T>();
    for (auto& t : s.work) t = Tensor<T>();
    s.in_h = s.in_w = 0;
    s.planned = false;
    s.have_forward = false;
}

template <typename T>
std::size_t VggNet<T>::buffer_bytes(const std::vector<int>& taps, int h, int w, VggArch arch) {
    const VggLayers& layers = vgg_layers(arch);
    const TapSet t = tap_set(layers, taps, "Vgg19Net::buffer_bytes");
    if (t.deepest < 0) return 0;
    return plan_storage(layers, t.tapped, t.deepest, h, w).bytes(sizeof(T));
}

template <typename T>
std::size_t VggNet<T>::scratch_bytes_per_thread(const std::vector<int>& taps, int h, int w, ConvAlgo algo,
                                                VggArch arch) {
    const VggLayers& layers = vgg_layers(arch);
    const TapSet t = tap_set(layers, taps, "Vgg19Net::scratch_bytes_per_thread");
    if (t.deepest < 0) return 0;
    const std::vector<Shape> shapes = layer_shapes(t.deepest, h, w, arch);
    const bool winograd = detail::resolve_algo<T>(algo) == ConvAlgo::Winograd;
    // Each scratch slot grows to the largest request of any call and is kept.
    detail::ScratchBytes most{};
    auto keep_max = [&](const detail::ScratchBytes& b) {
        for (std::size_t i = 0; i < most.size(); ++i) most[i] = std::max(most[i], b[i]);
    };
    for (int k = 0; k <= t.deepest; ++k) {
        const LayerInfo& li = layers[std::size_t(k)];
        if (li.kind != LayerKind::Conv) continue;
        const int in = conv_in_channels(li.conv, arch), out = conv_out_channels(li.conv, arch);
        const int lh = shapes[std::size_t(k)].h, lw = shapes[std::size_t(k)].w;
        if (winograd) {
            keep_max(detail::winograd_scratch_bytes(in, out, lh, lw, sizeof(T)));  // forward
            keep_max(detail::winograd_scratch_bytes(out, in, lh, lw, sizeof(T)));  // backward
        } else {
            keep_max(detail::direct_scratch_bytes(in, lh, lw, sizeof(T)));  // both directions
        }
    }
    std::size_t n = 0;
    for (std::size_t b : most) n += b;
    return n;
}

template class VggNet<float>;
template class VggNet<double>;

}  // namespace nst::cpu
