// SPDX-License-Identifier: MIT
// cpu::Network (nn/network.h): runs a NetDesc layer by layer with the ops of nn/convolution.h,
// nn/instance_norm.h, nn/resample.h, nn/pooling.h and nn/relu.h.
//
// Memory plan (per input shape and mode, made once and kept while the shape repeats):
//   - Every layer output lives in a slot (a growable buffer). Relu, Tanh and Add overwrite their
//     input's slot when no later layer reads that input and, for backward, when the input's own
//     backward does not need it (a Relu or Tanh needs its output). Inference also runs
//     InstanceNorm in place and hands a slot back to a free list after its last reader, so a
//     forward(x, false) holds only the live activations (the residual block inputs and two more).
//   - InstanceNorm followed by Relu runs as one pass (nn/instance_norm_impl.h), and backward
//     applies the ReLU's mask while reading dy.
// Backward walks the layers in reverse with one gradient buffer per live activation gradient:
// elementwise backwards (Relu, Tanh, Add's pass-through, InstanceNorm) reuse the incoming
// gradient's buffer; an Add's source gets a zeroed accumulator; a layer whose input gradient
// already holds a contribution (the residual block's input) writes to a scratch buffer that is
// then added.
#include "nn/network.h"

#include <algorithm>
#include <cstring>

#include "nn/convolution_impl.h"
#include "nn/instance_norm_impl.h"
#include "nn/pooling.h"
#include "nn/relu.h"
#include "nn/resample.h"

namespace nst::cpu {

namespace {

struct Plan {
    Shape input;
    bool for_backward = false;
    std::vector<Shape> shapes;            // per layer output
    std::vector<int> slot;                // per layer output
    std::vector<std::size_t> slot_elems;  // capacity per slot
    std::vector<bool> fused_relu;         // layer i is an InstanceNorm that also applies layer i + 1's ReLU
    std::vector<bool> skip;               // layer i is such a ReLU (done by i - 1)
};

bool backward_needs_output(Op op) { return op == Op::Relu || op == Op::Tanh; }

Plan make_plan(const NetDesc& desc, Shape input, bool for_backward) {
    Plan p;
    p.input = input;
    p.for_backward = for_backward;
    p.shapes = output_shapes(desc, input);
    const int L = int(desc.layers.size());
    // last_use[j]: the last layer that reads output j in forward (L: the network output).
    std::vector<int> last_use(std::size_t(L), 0);
    for (int j = 0; j < L; ++j) last_use[std::size_t(j)] = j + 1;
    for (int i = 0; i < L; ++i)
        if (desc.layers[std::size_t(i)].op == Op::Add && desc.layers[std::size_t(i)].from >= 0)
            last_use[std::size_t(desc.layers[std::size_t(i)].from)] =
                std::max(last_use[std::size_t(desc.layers[std::size_t(i)].from)], i);
    p.slot.assign(std::size_t(L), -1);
    p.fused_relu.assign(std::size_t(L), false);
    p.skip.assign(std::size_t(L), false);
    std::vector<int> slot_free_after;  // per slot: the last reader of what it holds
    std::vector<int> free_slots;
    for (int i = 0; i < L; ++i) {
        const LayerSpec& l = desc.layers[std::size_t(i)];
        const std::size_t elems = p.shapes[std::size_t(i)].numel();
        const bool prev_dead = i > 0 && last_use[std::size_t(i - 1)] == i;
        bool in_place = false;
        if (i > 0 && prev_dead) {
            const Op prev = desc.layers[std::size_t(i - 1)].op;
            if (p.skip[std::size_t(i - 1)] || !for_backward || !backward_needs_output(prev))
                in_place = l.op == Op::Relu || l.op == Op::Tanh || l.op == Op::Add ||
                           (!for_backward && l.op == Op::InstanceNorm);
            if (p.skip[std::size_t(i - 1)] && for_backward) in_place = false;  // the fused ReLU's output is its mask
        }
        if (l.op == Op::Relu && i > 0 && desc.layers[std::size_t(i - 1)].op == Op::InstanceNorm && prev_dead) {
            p.fused_relu[std::size_t(i - 1)] = true;
            p.skip[std::size_t(i)] = true;
            in_place = true;
        }
        int s;
        if (in_place) {
            s = p.slot[std::size_t(i - 1)];
        } else if (!for_backward && !free_slots.empty()) {
            s = free_slots.back();
            free_slots.pop_back();
        } else {
            s = int(p.slot_elems.size());
            p.slot_elems.push_back(0);
            slot_free_after.push_back(0);
        }
        p.slot[std::size_t(i)] = s;
        p.slot_elems[std::size_t(s)] = std::max(p.slot_elems[std::size_t(s)], elems);
        slot_free_after[std::size_t(s)] = std::max(slot_free_after[std::size_t(s)], i == L - 1 ? L : last_use[std::size_t(i)]);
        // After layer i has run, slots whose contents no later layer reads can be reused.
        if (!for_backward)
            for (std::size_t t = 0; t < slot_free_after.size(); ++t)
                if (slot_free_after[t] == i && int(t) != s &&
                    std::find(free_slots.begin(), free_slots.end(), int(t)) == free_slots.end())
                    free_slots.push_back(int(t));
    }
    return p;
}

}  // namespace

template <typename T>
struct Network<T>::Impl {
    NetDesc desc;
    std::vector<ParamInfo> layout;
    std::vector<std::ptrdiff_t> w_off, b_off;  // per layer, -1 when none
    std::vector<Shape> w_shape;
    Tensor<T> params;

    Plan plan;
    bool planned = false, have_activations = false;
    std::vector<Tensor<T>> slots;
    std::vector<Tensor<T>> mean, inv_std;  // per layer (InstanceNorm only)
    std::vector<detail::ConvFilters<T>> filters;
    Tensor<T> input;  // copy of the last forward's input, for backward

    // Gradient buffers and which one holds the gradient of output j (index j + 1; 0: input).
    std::vector<Tensor<T>> gbufs;
    std::vector<int> gfree;

    TensorView<T> out(int i) {
        return {slots[std::size_t(plan.slot[std::size_t(i)])].data(), plan.shapes[std::size_t(i)]};
    }
    ConstView<T> weight(int i) const { return {params.data() + w_off[std::size_t(i)], w_shape[std::size_t(i)]}; }
    ConstView<T> bias(int i) const {
        if (b_off[std::size_t(i)] < 0) return {};
        return {params.data() + b_off[std::size_t(i)], Shape{1, desc.layers[std::size_t(i)].op == Op::InstanceNorm
                                                                      ? w_shape[std::size_t(i)].c
                                                                      : desc.layers[std::size_t(i)].channels,
                                                             1, 1}};
    }
    int acquire(std::size_t elems) {
        int g;
        if (!gfree.empty()) {
            g = gfree.back();
            gfree.pop_back();
        } else {
            g = int(gbufs.size());
            gbufs.emplace_back();
        }
        if (gbufs[std::size_t(g)].numel() < elems) gbufs[std::size_t(g)] = Tensor<T>(Shape{1, 1, 1, int(elems)});
        return g;
    }
    void release(int g) { gfree.push_back(g); }
    TensorView<T> gview(int g, const Shape& s) { return {gbufs[std::size_t(g)].data(), s}; }
};

template <typename T>
Network<T>::Network(const NetDesc& desc, const float* params) : m(std::make_unique<Impl>()) {
    validate(desc);
    m->desc = desc;
    m->layout = param_layout(desc);
    const std::size_t count = param_count(desc);
    m->params = Tensor<T>(Shape{1, 1, 1, int(count)});
    for (std::size_t i = 0; i < count; ++i) m->params[i] = T(params[i]);
    const std::size_t L = desc.layers.size();
    m->w_off.assign(L, -1);
    m->b_off.assign(L, -1);
    m->w_shape.assign(L, Shape{});
    for (const ParamInfo& p : m->layout) {
        const bool is_bias = p.name.size() > 5 && p.name.compare(p.name.size() - 5, 5, ".bias") == 0;
        if (is_bias) {
            m->b_off[std::size_t(p.layer)] = std::ptrdiff_t(p.offset);
        } else {
            m->w_off[std::size_t(p.layer)] = std::ptrdiff_t(p.offset);
            m->w_shape[std::size_t(p.layer)] = p.shape;
        }
    }
    m->mean.resize(L);
    m->inv_std.resize(L);
    m->filters.resize(L);
}

template <typename T>
Network<T>::~Network() = default;
template <typename T>
Network<T>::Network(Network&&) noexcept = default;
template <typename T>
Network<T>& Network<T>::operator=(Network&&) noexcept = default;

template <typename T>
const NetDesc& Network<T>::desc() const {
    return m->desc;
}
template <typename T>
T* Network<T>::params() {
    return m->params.data();
}
template <typename T>
const T* Network<T>::params() const {
    return m->params.data();
}

namespace {

ConvGeometry geometry(const LayerSpec& l) {
    ConvGeometry g;
    g.kernel = l.kernel;
    g.stride = l.stride;
    g.pad = l.pad;
    g.pad_mode = l.pad_mode;
    return g;
}

template <typename T>
void copy_into(TensorView<T> dst, ConstView<T> src) {
    std::memcpy(dst.data, src.data, src.numel() * sizeof(T));
}

template <typename T>
void add_into(TensorView<T> dst, ConstView<T> src) {
    const std::ptrdiff_t n = std::ptrdiff_t(src.numel());
#pragma omp parallel for simd schedule(static)
    for (std::ptrdiff_t i = 0; i < n; ++i) dst.data[i] += src.data[i];
}

}  // namespace

template <typename T>
ConstView<T> Network<T>::forward(ConstView<T> x, bool for_backward) {
    Impl& s = *m;
    NST_REQUIRE(x.device == Device::Host, "cpu::Network::forward needs a host tensor");
    NST_REQUIRE(x.shape.c == s.desc.in_channels,
                "cpu::Network::forward: input " + x.shape.str() + " for " + std::to_string(s.desc.in_channels) + " channels");
    if (!s.planned || s.plan.input != x.shape || s.plan.for_backward != for_backward) {
        s.plan = make_plan(s.desc, x.shape, for_backward);
        s.planned = true;
        s.slots.resize(s.plan.slot_elems.size());
        for (std::size_t i = 0; i < s.slots.size(); ++i)
            if (s.slots[i].numel() < s.plan.slot_elems[i]) s.slots[i] = Tensor<T>(Shape{1, 1, 1, int(s.plan.slot_elems[i])});
    }
    s.have_activations = false;
    ConstView<T> in = x;
    if (for_backward) {
        s.input.ensure(x.shape);
        copy_into(s.input.view(), x);
        in = s.input.cview();
    }
    const int L = int(s.desc.layers.size());
    for (int i = 0; i < L; ++i) {
        if (s.plan.skip[std::size_t(i)]) continue;
        const LayerSpec& l = s.desc.layers[std::size_t(i)];
        const ConstView<T> src = i == 0 ? in : ConstView<T>(s.out(i - 1));
        const TensorView<T> dst = s.out(i);
        switch (l.op) {
            case Op::Conv: {
                const ConvGeometry g = geometry(l);
                s.filters[std::size_t(i)] = detail::make_conv_filters(s.weight(i), g, for_backward);
                detail::conv2d_forward_with(dst, src, s.weight(i), s.bias(i), g, &s.filters[std::size_t(i)]);
                break;
            }
            case Op::ConvTranspose:
                conv_transpose2d_forward(dst, src, s.weight(i), s.bias(i), l.stride, l.pad);
                break;
            case Op::InstanceNorm: {
                const Shape st{src.shape.n, src.shape.c, 1, 1};
                s.mean[std::size_t(i)].ensure(st);
                s.inv_std[std::size_t(i)].ensure(st);
                ConstView<T> gamma, beta;
                if (l.affine) {
                    gamma = s.weight(i);
                    beta = s.bias(i);
                }
                detail::instance_norm_forward_fused(dst, s.mean[std::size_t(i)].view(), s.inv_std[std::size_t(i)].view(),
                                                    src, gamma, beta, l.eps, bool(s.plan.fused_relu[std::size_t(i)]));
                break;
            }
            case Op::Relu: relu_forward(dst, src); break;
            case Op::Tanh: tanh_forward(dst, src, l.scale); break;
            case Op::MaxPool:
            case Op::AvgPool:
                pool2d_forward(dst, src, l.kernel, l.stride, l.ceil_mode, l.op == Op::MaxPool ? Pooling::Max : Pooling::Avg);
                break;
            case Op::Upsample: upsample_nearest_forward(dst, src, l.factor); break;
            case Op::Pad: pad_forward(dst, src, l.pad, l.pad_mode); break;
            case Op::Add:
                add_cropped_forward(dst, src, l.from < 0 ? in : ConstView<T>(s.out(l.from)));
                break;
        }
    }
    s.have_activations = for_backward;
    return s.out(L - 1);
}

template <typename T>
void Network<T>::backward(ConstView<T> dy, TensorView<T> dx, T* grads) {
    Impl& s = *m;
    NST_REQUIRE(s.have_activations, "cpu::Network::backward needs a preceding forward(x, true)");
    const int L = int(s.desc.layers.size());
    NST_REQUIRE(dy.shape == s.plan.shapes.back(), "cpu::Network::backward: dy " + dy.shape.str() + " for output " +
                                                      s.plan.shapes.back().str());
    NST_REQUIRE(dx.empty() || dx.shape == s.plan.input, "cpu::Network::backward: dx " + dx.shape.str());
    const ConstView<T> in = s.input.cview();
    auto shape_of = [&](int j) { return j < 0 ? s.plan.input : s.plan.shapes[std::size_t(j)]; };
    auto act = [&](int j) { return j < 0 ? in : ConstView<T>(s.out(j)); };
    std::vector<int> gs(std::size_t(L) + 1, -1);  // gs[j + 1]: buffer holding d/d output j
    s.gfree.clear();
    for (std::size_t g = 0; g < s.gbufs.size(); ++g) s.gfree.push_back(int(g));
    gs[std::size_t(L)] = s.acquire(dy.numel());
    copy_into(s.gview(gs[std::size_t(L)], dy.shape), dy);
    auto param = [&](std::ptrdiff_t off, Shape shape) -> TensorView<T> {
        if (!grads || off < 0) return {};
        return {grads + off, shape};
    };

    for (int i = L - 1; i >= 0; --i) {
        const LayerSpec& l = s.desc.layers[std::size_t(i)];
        const int gy = gs[std::size_t(i) + 1];
        NST_REQUIRE(gy >= 0, "cpu::Network::backward: no gradient reaches layer " + l.name);
        gs[std::size_t(i) + 1] = -1;
        if (s.plan.skip[std::size_t(i)]) {  // the ReLU fused into layer i - 1: its mask is applied there
            gs[std::size_t(i)] = gy;
            continue;
        }
        const Shape ys = shape_of(i), xs = shape_of(i - 1);
        const ConstView<T> g_out = s.gview(gy, ys);
        const ConstView<T> x_in = act(i - 1);
        const bool want_dx = i > 0 || !dx.empty();
        const bool elementwise = l.op == Op::Relu || l.op == Op::Tanh || l.op == Op::InstanceNorm || l.op == Op::Add;
        // Where this layer's input gradient goes: the incoming buffer (elementwise, nothing there
        // yet), a fresh buffer, or a scratch buffer added to what is there.
        int target = -1;
        bool accumulate = false;
        if (want_dx) {
            if (gs[std::size_t(i)] >= 0) {
                accumulate = true;
                target = l.op == Op::Add ? -1 : s.acquire(xs.numel());
            } else {
                target = elementwise ? gy : s.acquire(xs.numel());
            }
        }
        const TensorView<T> gx = target >= 0 ? s.gview(target, xs) : TensorView<T>();
        switch (l.op) {
            case Op::Conv: {
                const ConvGeometry g = geometry(l);
                if (grads)
                    conv2d_backward_params(param(s.w_off[std::size_t(i)], s.w_shape[std::size_t(i)]),
                                           param(s.b_off[std::size_t(i)], Shape{1, l.channels, 1, 1}), g_out, x_in, g);
                if (want_dx) detail::conv2d_backward_data_with(gx, g_out, s.weight(i), g, &s.filters[std::size_t(i)]);
                break;
            }
            case Op::ConvTranspose:
                if (grads)
                    conv_transpose2d_backward_params(param(s.w_off[std::size_t(i)], s.w_shape[std::size_t(i)]),
                                                     param(s.b_off[std::size_t(i)], Shape{1, l.channels, 1, 1}), g_out,
                                                     x_in, l.stride, l.pad);
                if (want_dx) conv_transpose2d_backward_data(gx, g_out, s.weight(i), l.stride, l.pad);
                break;
            case Op::InstanceNorm: {
                const Shape cs{1, xs.c, 1, 1};
                ConstView<T> gamma;
                TensorView<T> dgamma, dbeta;
                if (l.affine) {
                    gamma = s.weight(i);
                    dgamma = param(s.w_off[std::size_t(i)], cs);
                    dbeta = param(s.b_off[std::size_t(i)], cs);
                }
                const ConstView<T> relu_out = s.plan.fused_relu[std::size_t(i)] ? ConstView<T>(s.out(i + 1)) : ConstView<T>();
                // The parameter sums need a pass even when no input gradient is wanted.
                TensorView<T> dst = gx;
                int tmp = -1;
                if (dst.empty()) {
                    tmp = s.acquire(xs.numel());
                    dst = s.gview(tmp, xs);
                }
                detail::instance_norm_backward_fused(dst, dgamma, dbeta, g_out, relu_out, x_in,
                                                     ConstView<T>(s.mean[std::size_t(i)].view()),
                                                     ConstView<T>(s.inv_std[std::size_t(i)].view()), gamma);
                if (tmp >= 0) s.release(tmp);
                break;
            }
            case Op::Relu:
                if (want_dx) relu_backward(gx, g_out, ConstView<T>(s.out(i)));
                break;
            case Op::Tanh:
                if (want_dx) tanh_backward(gx, g_out, ConstView<T>(s.out(i)), l.scale);
                break;
            case Op::MaxPool:
            case Op::AvgPool:
                if (want_dx)
                    pool2d_backward(gx, g_out, x_in, l.kernel, l.stride, l.ceil_mode,
                                    l.op == Op::MaxPool ? Pooling::Max : Pooling::Avg);
                break;
            case Op::Upsample:
                if (want_dx) upsample_nearest_backward(gx, g_out, l.factor);
                break;
            case Op::Pad:
                if (want_dx) pad_backward(gx, g_out, l.pad, l.pad_mode);
                break;
            case Op::Add: {
                // The source's share, into its accumulator (zeroed when new).
                int& acc = gs[std::size_t(l.from) + 1];
                if (acc < 0) {
                    acc = s.acquire(shape_of(l.from).numel());
                    std::fill_n(s.gbufs[std::size_t(acc)].data(), shape_of(l.from).numel(), T(0));
                }
                add_cropped_backward_source(s.gview(acc, shape_of(l.from)), g_out);
                break;
            }
        }
        if (l.op == Op::Add) {
            // The pass-through: the input's gradient is g_out itself, added to what is there
            // (including the source's share just added when the source is the input itself).
            if (want_dx && gs[std::size_t(i)] < 0) {
                gs[std::size_t(i)] = gy;
                continue;
            }
            if (want_dx) add_into(s.gview(gs[std::size_t(i)], xs), g_out);
            s.release(gy);
            continue;
        }
        if (accumulate) {
            add_into(s.gview(gs[std::size_t(i)], xs), ConstView<T>(gx));
            s.release(target);
        } else if (target >= 0) {
            gs[std::size_t(i)] = target;
        }
        if (target != gy) s.release(gy);
    }
    if (!dx.empty()) copy_into(dx, ConstView<T>(s.gview(gs[0], dx.shape)));
}

template <typename T>
std::size_t Network<T>::buffer_bytes(Shape input, bool for_backward) const {
    const Plan p = make_plan(m->desc, input, for_backward);
    std::size_t elems = 0, largest = 0;
    for (std::size_t e : p.slot_elems) elems += e;
    for (std::size_t i = 0; i < p.shapes.size(); ++i) {
        largest = std::max(largest, p.shapes[i].numel());
        if (m->desc.layers[i].op == Op::InstanceNorm) elems += 2 * std::size_t(p.shapes[i].n) * p.shapes[i].c;
    }
    // Backward: the input copy, and gradient buffers; at most three activation-sized ones are
    // live at a time in a chain with residual adds (incoming, outgoing, the shortcut's).
    if (for_backward) elems += input.numel() + 3 * largest;
    return elems * sizeof(T);
}

template class Network<float>;
template class Network<double>;

}  // namespace nst::cpu
