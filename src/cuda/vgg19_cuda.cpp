// SPDX-License-Identifier: MIT
// VggNet (CUDA): the forward pass to the deepest tap and the data-gradient backward pass,
// with the storage and bookkeeping of the CPU net (nn/vgg19.cpp) so that the two can be
// compared layer by layer:
//   - every ReLU output and every pool output is kept; a conv output only when that conv is
//     tapped, otherwise the ReLU is fused into the conv;
//   - backward walks down from the deepest tap with the gradient in one of two work buffers;
//     at each tap the caller adds the losses' gradient into it (TapGrad), so no tap needs a
//     gradient buffer of its own; a ReLU that is not tapped is applied as the mask epilogue of
//     the conv above it, and a ReLU backward runs in place.
//   - the per-tap gradient buffers of grad()/zero_grads()/backward(dx) exist only once one of
//     them is used (tests of the net; the objective uses the TapGrad form).
// prepare() does the allocation and cuDNN algorithm selection; forward and backward only
// enqueue work on the context's stream (CUDA-graph capturable).
#include "cuda/vgg19_cuda.h"

#include <algorithm>
#include <string>

#include "core/buffer.h"
#include "cuda/check.h"
#include "cuda/conv_cudnn.h"
#include "cuda/device_tensor.h"
#include "cuda/nvtx.h"
#include "kernels/bias_relu.h"
#include "kernels/pool.h"

namespace nst::cuda {

struct VggNet::Impl {
    Context& ctx;
    const VggLayers& layers;  // the weights' architecture
    const int n;              // layers in the table
    Pooling pooling;
    Precision precision;
    std::vector<std::unique_ptr<Conv3x3Cudnn>> convs;  // layers.num_convs()
    std::vector<bool> tapped = std::vector<bool>(std::size_t(n), false);
    int deepest = -1;

    // Per layer: output shape for the current input size, stored output (empty if not kept) and
    // the gradient buffer of taps (only once use_grads). All device memory.
    int in_h = 0, in_w = 0;
    int built_to = -1;  // layers 0..built_to have buffers and algorithms for (in_h, in_w)
    std::vector<Shape> shapes = std::vector<Shape>(std::size_t(n));
    std::vector<Tensor<float>> out = std::vector<Tensor<float>>(std::size_t(n));
    std::vector<Tensor<float>> grads = std::vector<Tensor<float>>(std::size_t(n));
    Tensor<float> work[2];
    bool have_forward = false;
    bool use_grads = false;  // grad()/zero_grads()/backward(dx) used: prepare() sizes `grads` too

    // Shared by all convolutions: cuDNN workspace and, for bf16, the two staging buffers.
    Buffer workspace;
    Tensor<__nv_bfloat16> stage16[2];
    ConvScratch scratch;

    // NVTX range names, built once so that forward and backward never allocate.
    std::vector<std::string> fwd_names, bwd_names;

    Impl(Context& c, const VggLayers& t, Pooling p, Precision prec)
        : ctx(c), layers(t), n(t.size()), pooling(p), precision(prec) {}

    // Elements allocated per buffer (they only grow): a prepare() whose shapes all fit them
    // replaces nothing, so it need not wait for queued work (see prepare()).
    std::vector<std::size_t> out_room = std::vector<std::size_t>(std::size_t(n), 0);
    std::vector<std::size_t> grad_room = std::vector<std::size_t>(std::size_t(n), 0);
    std::size_t work_room = 0, stage_room = 0;

    bool keeps_output(int k) const { return layers[std::size_t(k)].kind != LayerKind::Conv || tapped[k]; }

    TensorView<float> work_view(int i, const Shape& s) { return TensorView<float>(work[i].data(), s, Device::Cuda); }

    template <typename T>
    static void ensure_room(Tensor<T>& t, std::size_t& room, const Shape& shape) {
        ensure_device(t, shape);
        room = std::max(room, shape.numel());
    }

    void ensure_layer(int k) {
        if (keeps_output(k)) ensure_room(out[k], out_room[k], shapes[k]);
        if (use_grads) ensure_grad(k);
    }

    // Tap k's gradient buffer at its current shape; a new one starts at zero.
    void ensure_grad(int k) {
        if (tapped[k] && (grads[k].shape() != shapes[k] || grads[k].device() != Device::Cuda)) {
            ensure_room(grads[k], grad_room[k], shapes[k]);
            NST_CUDA_CHECK(cudaMemsetAsync(grads[k].data(), 0, shapes[k].numel() * sizeof(float), ctx.stream()));
        }
    }

    // From now on the taps have gradient buffers (the net must be prepared).
    void make_grads() {
        use_grads = true;
        for (int k = 0; k <= deepest; ++k) ensure_grad(k);
    }

    // Every buffer of layers 0..deepest at shapes s (and the shared ones) fits what is allocated.
    bool fits(const std::vector<Shape>& s, std::size_t max_numel, std::size_t ws_bytes, std::size_t elems16) const {
        for (int k = 0; k <= deepest; ++k) {
            if (keeps_output(k) && s[k].numel() > out_room[k]) return false;
            if (use_grads && tapped[k] && s[k].numel() > grad_room[k]) return false;
        }
        return max_numel <= work_room && ws_bytes <= workspace.bytes() &&
               (precision != Precision::Bf16 || elems16 <= stage_room);
    }

    void prepare(int h, int w) {
        if (h == in_h && w == in_w && built_to >= deepest) {
            for (int k = 0; k <= deepest; ++k) ensure_layer(k);
            return;
        }
        // Validate and choose the algorithms (host-side, cached per size) before touching any
        // state, so that a rejected size leaves the net usable.
        std::vector<Shape> s = layer_shapes(deepest, h, w, layers.arch());
        std::size_t max_numel = 0;
        for (const Shape& shape : s) max_numel = std::max(max_numel, shape.numel());
        s.resize(std::size_t(n));
        std::size_t ws_bytes = 0, elems16 = 0;
        for (int k = 0; k <= deepest; ++k) {
            if (layers[k].kind != LayerKind::Conv) continue;
            Conv3x3Cudnn& conv = *convs[layers[k].conv];
            ws_bytes = std::max(ws_bytes, conv.prepare(s[k].h, s[k].w));
            const std::size_t channels = std::size_t(std::max(conv.in_channels(), conv.out_channels()));
            elems16 = std::max(elems16, channels * s[k].plane());
        }
        // Buffers may be replaced below: nothing queued may still be reading them. When all fit
        // (a size prepared before, or a smaller one: tiled evaluation switches between its
        // windows' heights inside evaluate()), nothing is replaced, nothing waits, and the call
        // may run while a CUDA graph is being captured.
        if (!fits(s, max_numel, ws_bytes, elems16)) ctx.synchronize();
        have_forward = false;
        built_to = -1;  // until the end: a failed allocation below must not leave a half-built net
        in_h = h;
        in_w = w;
        shapes = s;
        for (int k = 0; k <= deepest; ++k) ensure_layer(k);
        // The backward pass keeps the gradient of the current layer's output in one of these.
        for (auto& wb : work) ensure_device(wb, Shape{1, 1, 1, int(max_numel)});
        work_room = std::max(work_room, max_numel);  // both work buffers alike
        if (ws_bytes > workspace.bytes()) {
            workspace = Buffer();  // free first: the old and new workspace never coexist
            workspace = Buffer(ws_bytes, Device::Cuda);
        }
        scratch = ConvScratch{};
        scratch.workspace = workspace.data();
        scratch.workspace_bytes = workspace.bytes();
        if (precision == Precision::Bf16) {
            for (auto& st : stage16) ensure_device(st, Shape{1, 1, 1, int(elems16)});
            stage_room = std::max(stage_room, elems16);  // both staging buffers alike
            scratch.in16 = stage16[0].data();
            scratch.out16 = stage16[1].data();
            scratch.elems16 = elems16;
        }
        built_to = deepest;
    }
};

VggNet::VggNet(Context& ctx, const VggWeights& weights, Pooling pooling, Precision precision,
               std::size_t workspace_limit)
    : m(std::make_unique<Impl>(ctx, vgg_layers(weights.arch), pooling, precision)) {
    check_vgg_weights(weights);
    const VggArch arch = weights.arch;
    const int nc = m->layers.num_convs();
    m->convs.reserve(std::size_t(nc));
    for (int c = 0; c < nc; ++c) {
        const ConvParams& p = weights.conv[std::size_t(c)];
        m->convs.push_back(std::make_unique<Conv3x3Cudnn>(ctx, conv_name(c, arch), p.weight.cview(), p.bias.cview(),
                                                          precision, workspace_limit));
    }
    m->fwd_names.reserve(std::size_t(m->n));
    m->bwd_names.reserve(std::size_t(m->n));
    for (const LayerInfo& li : m->layers) {
        m->fwd_names.push_back("fwd " + li.name);
        m->bwd_names.push_back("bwd " + li.name);
    }
}

VggNet::~VggNet() = default;

void VggNet::set_taps(const std::vector<int>& layers) {
    std::vector<bool> tapped(std::size_t(m->n), false);
    int deepest = -1;
    for (int k : layers) {
        NST_REQUIRE(k >= 0 && k < m->n, "Vgg19Net::set_taps: layer index " + std::to_string(k));
        tapped[k] = true;
        deepest = std::max(deepest, k);
    }
    m->tapped = tapped;
    m->deepest = deepest;
    m->have_forward = false;
    m->built_to = -1;  // re-derive buffers on the next prepare (cheap: storage and algorithms are kept)
}

int VggNet::deepest() const { return m->deepest; }

VggArch VggNet::arch() const { return m->layers.arch(); }

void VggNet::prepare(int h, int w) {
    NST_REQUIRE(m->deepest >= 0, "Vgg19Net::prepare: no taps set");
    NST_REQUIRE(h > 0 && w > 0, "Vgg19Net::prepare: bad size " + std::to_string(h) + "x" + std::to_string(w));
    m->prepare(h, w);
}

void VggNet::release() {
    Impl& s = *m;
    s.ctx.synchronize();  // queued kernels may still read the buffers
    for (int k = 0; k < s.n; ++k) {
        s.out[k] = Tensor<float>();
        s.grads[k] = Tensor<float>();
        s.out_room[k] = s.grad_room[k] = 0;
    }
    for (auto& wb : s.work) wb = Tensor<float>();
    s.work_room = 0;
    s.in_h = s.in_w = 0;
    s.built_to = -1;
    s.have_forward = false;
}

void VggNet::forward(ConstView<float> x) {
    Impl& s = *m;
    NST_REQUIRE(s.deepest >= 0, "Vgg19Net::forward: no taps set");
    NST_REQUIRE(x.device == Device::Cuda, "Vgg19Net (cuda) needs a device input");
    NST_REQUIRE(s.built_to >= s.deepest && x.shape == (Shape{1, 3, s.in_h, s.in_w}),
                "Vgg19Net::forward: input " + x.shape.str() + " does not match the prepared size " +
                    std::to_string(s.in_h) + "x" + std::to_string(s.in_w) + " (call prepare first)");
    s.have_forward = false;
    const cudaStream_t stream = s.ctx.stream();
    const VggLayers& layers = s.layers;
    ConstView<float> in = x;
    for (int k = 0; k <= s.deepest; ++k) {
        const LayerInfo& li = layers[k];
        NvtxRange range(s.fwd_names[k].c_str());
        switch (li.kind) {
            case LayerKind::Conv: {
                Conv3x3Cudnn& conv = *s.convs[li.conv];
                if (s.tapped[k]) {
                    conv.forward(s.out[k].view(), in, false, s.scratch);
                    in = s.out[k].cview();
                } else {
                    // Not tapped, so the ReLU that follows (k + 1 <= deepest) is fused.
                    conv.forward(s.out[k + 1].view(), in, true, s.scratch);
                    in = s.out[k + 1].cview();
                    ++k;
                }
                break;
            }
            case LayerKind::Relu:  // only reached when the conv before it is tapped
                kernels::relu_forward(s.out[k].data(), s.out[k - 1].data(), s.shapes[k].numel(), stream);
                in = s.out[k].cview();
                break;
            case LayerKind::Pool:
                kernels::pool2x2_forward(s.out[k].data(), in.data, in.shape.c, in.shape.h, in.shape.w, s.pooling,
                                         stream);
                in = s.out[k].cview();
                break;
        }
    }
    s.have_forward = true;
}

ConstView<float> VggNet::output(int layer) const {
    NST_REQUIRE(layer >= 0 && layer < m->n && m->tapped[layer], "Vgg19Net::output: layer is not a tap");
    NST_REQUIRE(m->have_forward, "Vgg19Net::output: no forward pass since the taps were set");
    return m->out[layer].cview();
}

void VggNet::zero_grads() {
    if (m->built_to >= m->deepest)
        m->make_grads();
    else  // shapes are not known yet: clear what exists, the next prepare() makes the rest
        m->use_grads = true;
    for (int k = 0; k < m->n; ++k) {
        Tensor<float>& gk = m->grads[k];
        if (m->tapped[k] && !gk.empty())
            NST_CUDA_CHECK(cudaMemsetAsync(gk.data(), 0, gk.numel() * sizeof(float), m->ctx.stream()));
    }
}

TensorView<float> VggNet::grad(int layer) {
    NST_REQUIRE(layer >= 0 && layer < m->n && m->tapped[layer], "Vgg19Net::grad: layer is not a tap");
    NST_REQUIRE(m->have_forward, "Vgg19Net::grad: no forward pass since the taps were set");
    m->make_grads();
    return m->grads[layer].view();
}

void VggNet::backward(TensorView<float> dx) {
    NST_REQUIRE(m->have_forward, "Vgg19Net::backward: no forward pass since the taps were set");
    m->make_grads();
    backward(dx, [this](int layer, TensorView<float> g) {
        kernels::add_into(g.data, m->grads[layer].data(), g.numel(), m->ctx.stream());
    });
}

void VggNet::backward(TensorView<float> dx, const TapGrad& add_tap_grad) {
    Impl& s = *m;
    NST_REQUIRE(s.have_forward, "Vgg19Net::backward: no forward pass since the taps were set");
    const Shape in_shape{1, 3, s.in_h, s.in_w};
    NST_REQUIRE(dx.device == Device::Cuda && dx.shape == in_shape,
                "Vgg19Net::backward: dx must be a device " + in_shape.str() + ", got " + dx.shape.str());
    const cudaStream_t stream = s.ctx.stream();
    const VggLayers& layers = s.layers;

    // The gradient w.r.t. the output of layer k lives in work[gbuf] (zeros at the deepest tap,
    // where the callback adds the first losses); layer k's backward writes the gradient w.r.t.
    // its input into the other one. masked: the ReLU of layer k was already applied by the conv
    // above it, so the gradient is w.r.t. the conv output below.
    int gbuf = 0;
    NST_CUDA_CHECK(cudaMemsetAsync(s.work[gbuf].data(), 0, s.shapes[s.deepest].numel() * sizeof(float), stream));
    bool masked = false;
    auto add_tap = [&](int k) {
        if (s.tapped[k]) add_tap_grad(k, s.work_view(gbuf, s.shapes[k]));
    };
    auto free_buf = [&]() { return gbuf == 0 ? 1 : 0; };

    for (int k = s.deepest; k >= 0; --k) {
        const LayerInfo& li = layers[k];
        NvtxRange range(s.bwd_names[k].c_str());
        switch (li.kind) {
            case LayerKind::Relu: {
                add_tap(k);
                if (!masked) kernels::relu_mask(s.work[gbuf].data(), s.out[k].data(), s.shapes[k].numel(), stream);
                masked = false;
                break;
            }
            case LayerKind::Conv: {
                add_tap(k);
                Conv3x3Cudnn& conv = *s.convs[li.conv];
                const ConstView<float> dy(s.work[gbuf].data(), s.shapes[k], Device::Cuda);
                if (k == 0) {
                    conv.backward_data(dx, dy, nullptr, s.scratch);
                    break;
                }
                const Shape& below = s.shapes[k - 1];
                const int b = free_buf();
                // Fuse the ReLU below (layer k - 1) unless its own tap gradient must be added
                // before the mask is applied.
                const bool fuse = layers[k - 1].kind == LayerKind::Relu && !s.tapped[k - 1];
                conv.backward_data(s.work_view(b, below), dy, fuse ? s.out[k - 1].data() : nullptr, s.scratch);
                gbuf = b;
                masked = fuse;
                break;
            }
            case LayerKind::Pool: {
                add_tap(k);
                const int b = free_buf();
                const Shape& below = s.shapes[k - 1];
                kernels::pool2x2_backward(s.work[b].data(), s.work[gbuf].data(), s.out[k - 1].data(), below.c, below.h,
                                          below.w, s.pooling, stream);
                gbuf = b;
                break;
            }
        }
    }
}

std::size_t VggNet::workspace_bytes() const { return m->workspace.bytes(); }

}  // namespace nst::cuda
