// SPDX-License-Identifier: MIT
// cuda::Network: any NetDesc on the GPU (see network_cuda.h), layer for layer the CPU network's
// computation (nn/network.h), with cuDNN for the convolutions and kernels/ for the rest.
//
// Storage:
//   - parameters: one device array in param_layout order; convolutions read their weights from
//     it at every call, so an optimiser's in-place update is seen at once;
//   - forward for backward: every layer's output has a buffer of its own (backward reads the
//     inputs and outputs it needs), plus a copy of the network input, the reflection-padded
//     input of each reflect-padded convolution (the filter gradient reads it), and each instance
//     norm's mean and inv_std. An instance norm followed by a ReLU (and not the source of an Add)
//     runs as one kernel whose only output is the ReLU's: the norm's own output is never stored.
//   - forward for inference: outputs alternate between two ping-pong buffers, except those an
//     Add reads later, which keep buffers of their own;
//   - backward: the gradient of the current layer's output in one of two work buffers; an
//     elementwise layer's backward runs in place, any other writes the other buffer. The
//     gradient that an Add sends to its source layer accumulates in a buffer of that layer
//     (zeroed at the start of backward), added in when the walk reaches the layer; the norms'
//     per-plane gradient sums go through one small scratch array (kernels/instance_norm.h).
// prepare() allocates and chooses algorithms (cached per input shape and mode); forward and
// backward only enqueue work on the context's stream.
#include "cuda/network_cuda.h"

#include <algorithm>
#include <string>
#include <vector>

#include "core/buffer.h"
#include "cuda/check.h"
#include "cuda/conv_cudnn_general.h"
#include "cuda/device_tensor.h"
#include "kernels/bias_relu.h"
#include "kernels/conv_bias.h"
#include "kernels/instance_norm.h"
#include "kernels/pooling.h"
#include "kernels/resample.h"
#include "nn/pooling.h"

namespace nst::cuda {

namespace {

constexpr std::size_t kNone = std::size_t(-1);

TensorView<float> view(float* p, const Shape& s) { return TensorView<float>(p, s, Device::Cuda); }
ConstView<float> cview(const float* p, const Shape& s) { return ConstView<float>(p, s, Device::Cuda); }

int planes(const Shape& s) { return s.n * s.c; }

}  // namespace

struct Network::Impl {
    struct Layer {
        std::unique_ptr<ConvCudnn> conv;     // Conv, ConvTranspose
        std::size_t weight = kNone, bias = kNone;  // offsets into params
        bool fused_relu = false;             // InstanceNorm whose ReLU (the next layer) it applies
        bool add_source = false;             // some Add reads this layer's output
        Tensor<float> out;                   // own output buffer (empty: ping-pong or fused)
        Tensor<float> padded;                // reflect-padded input of a Conv (for backward)
        Tensor<float> mean, inv_std;         // InstanceNorm statistics (N, C)
        Tensor<float> skip_grad;             // add_source: the Adds' gradient for this output
    };

    Context& ctx;
    NetDesc desc;
    std::size_t limit;
    Tensor<float> params;                    // (1, 1, 1, count)
    std::vector<Layer> layers;
    bool input_add_source = false;           // an Add reads the network input (from == -1)

    // The prepared state.
    Shape input;
    bool prepared = false, prepared_backward = false;
    std::vector<Shape> shapes;               // output of every layer
    std::vector<Shape> conv_in;              // what cuDNN sees as the convolution's input
    Tensor<float> input_copy;                // backward mode: the network input
    Tensor<float> input_skip_grad;           // input_add_source: the Adds' gradient for the input
    Tensor<float> ping[2];                   // inference mode outputs
    Tensor<float> pad_scratch;               // inference: padded conv input; backward: its gradient
    Tensor<float> work[2];                   // backward gradients
    Tensor<double> norm_partials;            // backward: instance norms' per-plane sums (N, C, 2)
    Buffer workspace;
    bool have_forward = false;               // a forward for backward ran since prepare

    Impl(Context& c, const NetDesc& d, std::size_t l) : ctx(c), desc(d), limit(l) {}

    const float* w(std::size_t off) const { return off == kNone ? nullptr : params.data() + off; }

    bool reflect_conv(int i) const {
        const LayerSpec& L = desc.layers[std::size_t(i)];
        return L.op == Op::Conv && L.pad > 0 && L.pad_mode == PadMode::Reflect;
    }

    // Where layer i's output lives in the current mode (fused norms write their ReLU's).
    float* out_ptr(int i) {
        Layer& l = layers[std::size_t(i)];
        if (!l.out.empty()) return l.out.data();
        return ping[i % 2].data();
    }
    const float* input_ptr(int i, const float* x) {
        return i == 0 ? x : out_ptr(i - 1);
    }
    const float* add_source_ptr(int from, const float* x) { return from < 0 ? x : out_ptr(from); }
    Shape in_shape(int i) const { return i == 0 ? input : shapes[std::size_t(i - 1)]; }

    void prepare(Shape x, bool for_backward);
    void forward(const float* x);
    void backward(const float* dy, float* dx, float* grads);
};

void Network::Impl::prepare(Shape x, bool for_backward) {
    if (prepared && x == input && (prepared_backward || !for_backward)) return;
    if (x.c != desc.in_channels || x.n <= 0 || x.h <= 0 || x.w <= 0)
        throw_input(desc.arch + ": the input must be (N, " + std::to_string(desc.in_channels) + ", H, W), got " +
                    x.str());
    // Shapes and algorithms first (may throw an input or runtime error): a rejected input leaves
    // the network as it was.
    const std::vector<Shape> s = output_shapes(desc, x);
    const int count = int(desc.layers.size());
    std::vector<Shape> cin(static_cast<std::size_t>(count));
    std::size_t ws = 0, max_numel = x.numel(), max_pad = 0, max_norm_planes = 0;
    for (int i = 0; i < count; ++i) {
        const LayerSpec& L = desc.layers[std::size_t(i)];
        const Shape in = i == 0 ? x : s[std::size_t(i - 1)];
        max_numel = std::max(max_numel, s[std::size_t(i)].numel());
        if (L.op == Op::InstanceNorm) max_norm_planes = std::max(max_norm_planes, std::size_t(in.n) * in.c);
        Layer& l = layers[std::size_t(i)];
        if (L.op == Op::Conv) {
            cin[std::size_t(i)] = reflect_conv(i) ? Shape{in.n, in.c, in.h + 2 * L.pad, in.w + 2 * L.pad} : in;
            if (reflect_conv(i)) max_pad = std::max(max_pad, cin[std::size_t(i)].numel());
            NST_REQUIRE(l.conv->output_shape(cin[std::size_t(i)]) == s[std::size_t(i)],
                        "cuda::Network: " + L.name + " output shape disagrees with output_shapes");
            ws = std::max(ws, l.conv->prepare(cin[std::size_t(i)]));
        } else if (L.op == Op::ConvTranspose) {
            // The transposed convolution is conv's backward-data: conv's input is our output.
            cin[std::size_t(i)] = s[std::size_t(i)];
            NST_REQUIRE(l.conv->output_shape(s[std::size_t(i)]) == in,
                        "cuda::Network: " + L.name + " output shape disagrees with output_shapes");
            ws = std::max(ws, l.conv->prepare(s[std::size_t(i)]));
        }
    }

    ctx.synchronize();  // buffers may be replaced: nothing queued may still use them
    prepared = false;
    have_forward = false;
    input = x;
    shapes = s;
    conv_in = cin;
    prepared_backward = for_backward;
    for (int i = 0; i < count; ++i) {
        const LayerSpec& L = desc.layers[std::size_t(i)];
        Layer& l = layers[std::size_t(i)];
        const Shape& si = s[std::size_t(i)];
        // Own output: every one for backward but a fused norm's; inference: Add sources only.
        if ((for_backward && !l.fused_relu) || l.add_source)
            ensure_device(l.out, si);
        else
            l.out = Tensor<float>();
        if (for_backward && reflect_conv(i))
            ensure_device(l.padded, cin[std::size_t(i)]);
        else
            l.padded = Tensor<float>();
        if (L.op == Op::InstanceNorm) {
            ensure_device(l.mean, Shape{si.n, si.c, 1, 1});
            ensure_device(l.inv_std, Shape{si.n, si.c, 1, 1});
        }
        if (for_backward && l.add_source)
            ensure_device(l.skip_grad, si);
        else
            l.skip_grad = Tensor<float>();
    }
    const Shape flat{1, 1, 1, int(max_numel)};
    if (for_backward) {
        ensure_device(input_copy, x);
        if (input_add_source) ensure_device(input_skip_grad, x);
        for (auto& t : work) ensure_device(t, flat);
        for (auto& t : ping) t = Tensor<float>();
        if (max_norm_planes > 0) ensure_device(norm_partials, Shape{1, 1, 1, int(2 * max_norm_planes)});
    } else {
        input_copy = Tensor<float>();
        input_skip_grad = Tensor<float>();
        for (auto& t : work) t = Tensor<float>();
        norm_partials = Tensor<double>();
        for (auto& t : ping) ensure_device(t, flat);
    }
    if (max_pad > 0)
        ensure_device(pad_scratch, Shape{1, 1, 1, int(max_pad)});
    else
        pad_scratch = Tensor<float>();
    if (ws > workspace.bytes()) {
        workspace = Buffer();  // the old and new workspace never coexist
        workspace = Buffer(ws, Device::Cuda);
    }
    prepared = true;
}

void Network::Impl::forward(const float* x) {
    const cudaStream_t stream = ctx.stream();
    const int count = int(desc.layers.size());
    if (prepared_backward) {
        NST_CUDA_CHECK(
            cudaMemcpyAsync(input_copy.data(), x, input.numel() * sizeof(float), cudaMemcpyDeviceToDevice, stream));
        x = input_copy.data();
    }
    for (int i = 0; i < count; ++i) {
        const LayerSpec& L = desc.layers[std::size_t(i)];
        Layer& l = layers[std::size_t(i)];
        const Shape in = in_shape(i), out = shapes[std::size_t(i)];
        const float* src = input_ptr(i, x);
        float* dst = out_ptr(i);
        switch (L.op) {
            case Op::Conv: {
                const float* conv_src = src;
                if (reflect_conv(i)) {
                    float* padded = l.padded.empty() ? pad_scratch.data() : l.padded.data();
                    kernels::pad_forward(padded, src, planes(in), in.h, in.w, L.pad, true, stream);
                    conv_src = padded;
                }
                l.conv->forward(view(dst, out), cview(conv_src, conv_in[std::size_t(i)]), w(l.weight),
                                workspace.data(), workspace.bytes());
                if (l.bias != kNone) kernels::bias_add_batched(dst, dst, w(l.bias), out.n, out.c, out.plane(), stream);
                break;
            }
            case Op::ConvTranspose:
                l.conv->backward_data(view(dst, out), cview(src, in), w(l.weight), workspace.data(),
                                      workspace.bytes());
                if (l.bias != kNone) kernels::bias_add_batched(dst, dst, w(l.bias), out.n, out.c, out.plane(), stream);
                break;
            case Op::Relu:
                kernels::relu_forward(dst, src, out.numel(), stream);
                break;
            case Op::Tanh:
                kernels::tanh_forward(dst, src, out.numel(), L.scale, stream);
                break;
            case Op::MaxPool:
            case Op::AvgPool:
                kernels::pool2d_forward(dst, src, planes(in), in.h, in.w, out.h, out.w, L.kernel, L.stride,
                                        L.op == Op::MaxPool ? Pooling::Max : Pooling::Avg, stream);
                break;
            case Op::InstanceNorm:
                if (l.fused_relu) dst = out_ptr(i + 1);
                kernels::instance_norm_forward(dst, l.mean.data(), l.inv_std.data(), src, w(l.weight), w(l.bias),
                                               out.n, out.c, out.plane(), L.eps, l.fused_relu, stream);
                if (l.fused_relu) ++i;  // the ReLU is done
                break;
            case Op::Upsample:
                kernels::upsample_nearest_forward(dst, src, planes(in), in.h, in.w, L.factor, stream);
                break;
            case Op::Pad:
                kernels::pad_forward(dst, src, planes(in), in.h, in.w, L.pad, L.pad_mode == PadMode::Reflect, stream);
                break;
            case Op::Add: {
                const Shape ss = L.from < 0 ? input : shapes[std::size_t(L.from)];
                kernels::add_cropped_forward(dst, src, add_source_ptr(L.from, x), planes(out), out.h, out.w, ss.h,
                                             ss.w, stream);
                break;
            }
        }
    }
    have_forward = prepared_backward;
}

void Network::Impl::backward(const float* dy, float* dx, float* grads) {
    const cudaStream_t stream = ctx.stream();
    const int count = int(desc.layers.size());
    int cur = 0;
    NST_CUDA_CHECK(cudaMemcpyAsync(work[cur].data(), dy, shapes.back().numel() * sizeof(float),
                                   cudaMemcpyDeviceToDevice, stream));
    for (Layer& l : layers)
        if (!l.skip_grad.empty())
            NST_CUDA_CHECK(cudaMemsetAsync(l.skip_grad.data(), 0, l.skip_grad.numel() * sizeof(float), stream));
    if (!input_skip_grad.empty())
        NST_CUDA_CHECK(cudaMemsetAsync(input_skip_grad.data(), 0, input_skip_grad.numel() * sizeof(float), stream));
    const float* x = input_copy.data();

    for (int i = count - 1; i >= 0; --i) {
        const LayerSpec& L = desc.layers[std::size_t(i)];
        Layer& l = layers[std::size_t(i)];
        const Shape in = in_shape(i), out = shapes[std::size_t(i)];
        float* g = work[cur].data();
        if (l.add_source) kernels::add_into(g, l.skip_grad.data(), out.numel(), stream);
        // A fused norm's ReLU: the norm applies the mask (the gradient stays where it is).
        if (L.op == Op::Relu && i > 0 && layers[std::size_t(i - 1)].fused_relu) continue;

        const float* src = input_ptr(i, x);
        const bool data_grad = i > 0 || dx != nullptr;
        // In-place layers keep the gradient in work[cur]; the others write the other buffer.
        const bool in_place = L.op == Op::Relu || L.op == Op::Tanh || L.op == Op::Add;
        float* dst = i == 0 ? dx : in_place ? g : work[1 - cur].data();
        switch (L.op) {
            case Op::Conv: {
                const bool reflect = reflect_conv(i);
                const float* conv_src = reflect ? l.padded.data() : src;
                if (grads) {
                    l.conv->backward_filter(grads + l.weight, cview(g, out), cview(conv_src, conv_in[std::size_t(i)]),
                                            workspace.data(), workspace.bytes());
                    if (l.bias != kNone) kernels::bias_grad(grads + l.bias, g, out.n, out.c, out.plane(), stream);
                }
                if (!data_grad) break;
                if (reflect) {
                    l.conv->backward_data(view(pad_scratch.data(), conv_in[std::size_t(i)]), cview(g, out), w(l.weight),
                                          workspace.data(), workspace.bytes());
                    kernels::pad_backward(dst, pad_scratch.data(), planes(in), in.h, in.w, L.pad, true, stream);
                } else {
                    l.conv->backward_data(view(dst, in), cview(g, out), w(l.weight), workspace.data(),
                                          workspace.bytes());
                }
                break;
            }
            case Op::ConvTranspose:
                // Conv's roles swapped: its input is our output (gradient g), its output our input.
                if (grads) {
                    l.conv->backward_filter(grads + l.weight, cview(src, in), cview(g, out), workspace.data(),
                                            workspace.bytes());
                    if (l.bias != kNone) kernels::bias_grad(grads + l.bias, g, out.n, out.c, out.plane(), stream);
                }
                if (data_grad)
                    l.conv->forward(view(dst, in), cview(g, out), w(l.weight), workspace.data(), workspace.bytes());
                break;
            case Op::Relu:
                if (data_grad) kernels::relu_backward(dst, g, out_ptr(i), out.numel(), stream);
                break;
            case Op::Tanh:
                if (data_grad) kernels::tanh_backward(dst, g, out_ptr(i), out.numel(), L.scale, stream);
                break;
            case Op::MaxPool:
            case Op::AvgPool:
                if (data_grad)
                    kernels::pool2d_backward(dst, g, src, planes(in), in.h, in.w, out.h, out.w, L.kernel, L.stride,
                                             L.op == Op::MaxPool ? Pooling::Max : Pooling::Avg, stream);
                break;
            case Op::InstanceNorm: {
                float* dgamma = grads && l.weight != kNone ? grads + l.weight : nullptr;
                float* dbeta = grads && l.bias != kNone ? grads + l.bias : nullptr;
                const float* relu_y = l.fused_relu ? out_ptr(i + 1) : nullptr;
                if (data_grad) {
                    kernels::instance_norm_backward(dst, dgamma, dbeta, g, src, l.mean.data(), l.inv_std.data(),
                                                    w(l.weight), relu_y, norm_partials.data(), out.n, out.c,
                                                    out.plane(), stream);
                } else if (dgamma || dbeta) {
                    // Parameter gradients only: dx goes to the free work buffer and is dropped.
                    kernels::instance_norm_backward(work[1 - cur].data(), dgamma, dbeta, g, src, l.mean.data(),
                                                    l.inv_std.data(), w(l.weight), relu_y, norm_partials.data(), out.n,
                                                    out.c, out.plane(), stream);
                }
                break;
            }
            case Op::Upsample:
                if (data_grad) kernels::upsample_nearest_backward(dst, g, planes(in), in.h, in.w, L.factor, stream);
                break;
            case Op::Pad:
                if (data_grad)
                    kernels::pad_backward(dst, g, planes(in), in.h, in.w, L.pad, L.pad_mode == PadMode::Reflect,
                                          stream);
                break;
            case Op::Add: {
                const Shape ss = L.from < 0 ? input : shapes[std::size_t(L.from)];
                float* sg = L.from < 0 ? input_skip_grad.data() : layers[std::size_t(L.from)].skip_grad.data();
                kernels::add_cropped_backward_source(sg, g, planes(out), out.h, out.w, ss.h, ss.w, stream);
                if (i == 0 && dx)
                    NST_CUDA_CHECK(cudaMemcpyAsync(dx, g, out.numel() * sizeof(float), cudaMemcpyDeviceToDevice,
                                                   stream));
                break;
            }
        }
        if (i > 0 && !in_place) cur = 1 - cur;
    }
    if (dx && input_add_source) kernels::add_into(dx, input_skip_grad.data(), input.numel(), stream);
}

Network::Network(Context& ctx, const NetDesc& desc, const float* host_params, std::size_t workspace_limit)
    : m(std::make_unique<Impl>(ctx, desc, workspace_limit)) {
    validate(desc);
    Impl& s = *m;
    const std::size_t n = param_count(desc);
    s.params = Tensor<float>(Shape{1, 1, 1, int(std::max<std::size_t>(n, 1))}, Device::Cuda);
    if (n > 0)
        NST_CUDA_CHECK(cudaMemcpyAsync(s.params.data(), host_params, n * sizeof(float), cudaMemcpyHostToDevice,
                                       ctx.stream()));
    const int count = int(desc.layers.size());
    s.layers.resize(std::size_t(count));
    for (const ParamInfo& p : param_layout(desc)) {
        Impl::Layer& l = s.layers[std::size_t(p.layer)];
        const bool is_bias = p.name.size() >= 5 && p.name.compare(p.name.size() - 5, 5, ".bias") == 0;
        (is_bias ? l.bias : l.weight) = p.offset;
    }
    for (const LayerSpec& L : desc.layers)
        if (L.op == Op::Add) {
            if (L.from < 0)
                s.input_add_source = true;
            else
                s.layers[std::size_t(L.from)].add_source = true;
        }
    int channels = desc.in_channels;
    for (int i = 0; i < count; ++i) {
        const LayerSpec& L = desc.layers[std::size_t(i)];
        Impl::Layer& l = s.layers[std::size_t(i)];
        if (L.op == Op::Conv) {
            const ConvGeometryCudnn g{L.channels, channels, L.kernel, L.stride,
                                      L.pad_mode == PadMode::Zero ? L.pad : 0};
            l.conv = std::make_unique<ConvCudnn>(ctx, L.name, g, workspace_limit);
        } else if (L.op == Op::ConvTranspose) {
            // Weight (I, O, k, k) is the filter of the convolution from O to I channels.
            const ConvGeometryCudnn g{channels, L.channels, L.kernel, L.stride, L.pad};
            l.conv = std::make_unique<ConvCudnn>(ctx, L.name, g, workspace_limit);
        }
        l.fused_relu = L.op == Op::InstanceNorm && i + 1 < count &&
                       desc.layers[std::size_t(i + 1)].op == Op::Relu && !l.add_source;
        if (L.op == Op::Conv || L.op == Op::ConvTranspose) channels = L.channels;
    }
    ctx.synchronize();  // the parameter copy has landed; host_params may go
}

Network::~Network() = default;

const NetDesc& Network::desc() const { return m->desc; }

float* Network::params() { return m->params.data(); }

void Network::prepare(Shape input, bool for_backward) { m->prepare(input, for_backward); }

ConstView<float> Network::forward(ConstView<float> x, bool for_backward) {
    NST_REQUIRE(x.device == Device::Cuda, "cuda::Network::forward needs a device input");
    m->prepare(x.shape, for_backward);
    m->forward(x.data);
    const int last = int(m->desc.layers.size()) - 1;
    if (last < 0) return x;
    return ConstView<float>(m->out_ptr(last), m->shapes.back(), Device::Cuda);
}

void Network::backward(ConstView<float> dy, TensorView<float> dx, float* grads) {
    Impl& s = *m;
    NST_REQUIRE(s.have_forward, "cuda::Network::backward: no forward(x, for_backward = true) since prepare");
    NST_REQUIRE(!s.desc.layers.empty(), "cuda::Network::backward: an empty network");
    NST_REQUIRE(dy.device == Device::Cuda && dy.shape == s.shapes.back(),
                "cuda::Network::backward: dy must be a device " + s.shapes.back().str() + ", got " + dy.shape.str());
    NST_REQUIRE(dx.empty() || (dx.device == Device::Cuda && dx.shape == s.input),
                "cuda::Network::backward: dx must be a device " + s.input.str() + " or empty, got " + dx.shape.str());
    s.backward(dy.data, dx.empty() ? nullptr : dx.data, grads);
}

}  // namespace nst::cuda
