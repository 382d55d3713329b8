// SPDX-License-Identifier: MIT
// cuda::Network against cpu::Network<float> with the same parameters: both TransformerNet
// layouts at small width, batch 2, and a small net of every remaining op (pooling in both modes,
// zero padding, a transposed convolution after upsampling, tanh, a residual add, a non-affine
// norm, a convolution without bias). Compared: the forward output, dx, and the gradient of every
// parameter tensor, which backward adds (+=) onto a non-zero starting value.
//
// Tolerance, relative L2 per tensor: 1e-4. Both sides compute in float; cuDNN (fp32, no TF32)
// and the CPU convolutions differ only in summation order, ~1e-7 relative per convolution, and
// the norms' double statistics agree to ~1e-7. Over ~20-35 layers, and through instance-norm
// backward, whose dx is a difference of three terms of similar size (amplifying relative error
// by ~10-100x), the measured differences are a few 1e-6 (printed). A wrong index, weight layout,
// padding or missing term gives errors of order 1. Parameter gradients are compared per layer,
// weight and bias together: the gradient of a bias whose per-channel shift a later instance norm
// removes (a conv followed by a norm; in pytorch-examples' layout also every residual block's
// second norm, whose shift reaches only reflection-padded convs and norms downstream) is zero in
// exact arithmetic, and both sides hold rounding noise of the size of the layer's weight
// gradient times ~1e-7 there; the bias reduction itself is checked in tests/emu.
// forward(x, false) (ping-pong buffers) must equal forward(x, true) bit for bit: same kernels.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "core/rng.h"
#include "cuda/check.h"
#include "cuda/network_cuda.h"
#include "cuda_test_util.h"
#include "engine/engine.h"
#include "nn/net_model.h"
#include "nn/network.h"
#include "nn/transformer_net.h"
#include "test_util.h"

using namespace nst;
using namespace nst::test::gpu;
using nst::test::rel_l2;

namespace {

constexpr double kTol = 1e-4;
const std::size_t kWorkspace = nst::CudaOptions{}.workspace_limit;

// torch's initialisation, with the norms' scale and shift moved off 1 and 0 so that their
// gradients and the affine path matter.
std::vector<float> test_params(const NetDesc& desc, std::uint64_t seed) {
    std::vector<float> p = init_params(desc, seed);
    int t = 0;
    for (const ParamInfo& info : param_layout(desc)) {
        ++t;
        if (desc.layers[std::size_t(info.layer)].op != Op::InstanceNorm) continue;
        const bool bias = info.name.size() > 5 && info.name.compare(info.name.size() - 5, 5, ".bias") == 0;
        for (std::size_t j = 0; j < info.shape.numel(); ++j) {
            const double u = rng::uniform(seed + 7, std::uint64_t(t), j);
            p[info.offset + j] = float(bias ? 0.2 * (2 * u - 1) : 0.5 + u);
        }
    }
    return p;
}

struct Measured {
    double out = 0, dx = 0;
    Worst grad;
};

// Runs both networks on x and compares; returns the measured errors.
Measured compare(const NetDesc& desc, const Tensor<float>& x, std::uint64_t seed) {
    const std::vector<float> params = test_params(desc, seed);
    const std::size_t count = param_count(desc);
    REQUIRE(params.size() == count);

    cpu::Network<float> ref(desc, params.data());
    const ConstView<float> y_ref = ref.forward(x.cview(), true);
    const Shape ys = y_ref.shape;
    const Tensor<float> dy = test_image(ys, seed + 1, 2.0, -1.0);
    Tensor<float> dx_ref(x.shape());
    std::vector<float> g0(count);
    for (std::size_t i = 0; i < count; ++i) g0[i] = float(0.01 * (2 * rng::uniform(seed + 2, 0, i) - 1));
    std::vector<float> g_ref = g0;
    const Tensor<float> y_ref_copy = [&] {
        Tensor<float> t(ys);
        std::copy(y_ref.begin(), y_ref.end(), t.begin());
        return t;
    }();
    ref.backward(dy.cview(), dx_ref.view(), g_ref.data());

    cuda::Network net(context(), desc, params.data(), kWorkspace);
    const Tensor<float> xd = upload(x.cview());
    net.prepare(x.shape(), true);
    const ConstView<float> yd = net.forward(xd.cview(), true);
    REQUIRE(yd.shape == ys);
    const Tensor<float> y = download(yd);
    const Tensor<float> dyd = upload(dy.cview());
    Tensor<float> dxd(x.shape(), Device::Cuda);
    Tensor<float> gd = upload(ConstView<float>(g0.data(), Shape{1, 1, 1, int(count)}));
    net.backward(dyd.cview(), dxd.view(), gd.data());
    const Tensor<float> dx = download(dxd.cview());
    const Tensor<float> g = download(gd.cview());

    Measured m;
    m.out = rel_l2(y.data(), y_ref_copy.data(), y.numel());
    m.dx = rel_l2(dx.data(), dx_ref.data(), dx.numel());
    // The gradients added by backward: g - g0 on both sides, in double.
    std::vector<double> d(count), d_ref(count);
    for (std::size_t i = 0; i < count; ++i) {
        d[i] = double(g[i]) - double(g0[i]);
        d_ref[i] = double(g_ref[i]) - double(g0[i]);
    }
    // Per layer: its weight and bias together (adjacent in the layout).
    std::vector<double> num(desc.layers.size(), 0.0), den(desc.layers.size(), 0.0);
    for (const ParamInfo& info : param_layout(desc))
        for (std::size_t j = info.offset; j < info.offset + info.shape.numel(); ++j) {
            num[std::size_t(info.layer)] += (d[j] - d_ref[j]) * (d[j] - d_ref[j]);
            den[std::size_t(info.layer)] += d_ref[j] * d_ref[j];
        }
    for (std::size_t L = 0; L < desc.layers.size(); ++L)
        if (den[L] > 0) m.grad.add(std::sqrt(num[L] / den[L]), desc.layers[L].name);

    // Inference mode: the same output bit for bit, from the ping-pong buffers.
    const Tensor<float> y_inf = download(net.forward(xd.cview(), false));
    CHECK(std::equal(y_inf.begin(), y_inf.end(), y.begin()));
    // A second backward (after a forward for backward) adds the same gradient again.
    net.forward(xd.cview(), true);
    net.backward(dyd.cview(), TensorView<float>(), gd.data());
    const Tensor<float> g2 = download(gd.cview());
    std::vector<double> twice(count), twice_ref(count);
    for (std::size_t i = 0; i < count; ++i) {
        twice[i] = double(g2[i]) - double(g0[i]);
        twice_ref[i] = 2 * d_ref[i];
    }
    CHECK(rel_l2(twice.data(), twice_ref.data(), count) < kTol);
    return m;
}

void check(const Measured& m, const char* what) {
    std::printf("cuda network %s: rel L2 output %.2e  dx %.2e  worst parameter gradient %.2e (%s)\n", what, m.out, m.dx,
                m.grad.err, m.grad.what.c_str());
    INFO(what << ": worst parameter gradient " << m.grad.what);
    CHECK(m.out < kTol);
    CHECK(m.dx < kTol);
    CHECK(m.grad.err < kTol);
}

}  // namespace

TEST_CASE("cuda network: TransformerNet pytorch-examples layout vs cpu Network") {
    const NetDesc desc = transformer_net_desc(TransformerLayout::PytorchExamples, 4);
    // RGB in [0, 255]; 28 x 20 keeps every stride-2 size even, 2 images.
    const Tensor<float> x = test_image(Shape{2, 3, 28, 20}, 31, 255.0, 0.0);
    check(compare(desc, x, 100), "pytorch-examples");
}

TEST_CASE("cuda network: TransformerNet jcjohnson layout vs cpu Network") {
    const NetDesc desc = transformer_net_desc(TransformerLayout::JcjohnsonInstanceNorm, 4);
    // Caffe space (BGR - mean, about +-120); 44 x 42 with the 40-px reflection pad.
    const Tensor<float> x = test_image(Shape{2, 3, 44, 42}, 32, 240.0, -120.0);
    check(compare(desc, x, 200), "jcjohnson");
}

TEST_CASE("cuda network: every other op vs cpu Network") {
    NetDesc desc;
    desc.arch = "test-ops";
    desc.in_channels = 3;
    auto layer = [&](const char* name, Op op) -> LayerSpec& {
        LayerSpec l;
        l.name = name;
        l.op = op;
        desc.layers.push_back(l);
        return desc.layers.back();
    };
    {
        LayerSpec& l = layer("c1", Op::Conv);
        l.channels = 6, l.kernel = 3, l.stride = 1, l.pad = 1, l.pad_mode = PadMode::Reflect;
    }
    layer("n1", Op::InstanceNorm).affine = false;
    layer("r1", Op::Relu);
    {
        LayerSpec& l = layer("p1", Op::MaxPool);  // 17 x 15 -> 8 x 7 (ceil)
        l.kernel = 3, l.stride = 2, l.ceil_mode = true;
    }
    {
        LayerSpec& l = layer("c2", Op::Conv);
        l.channels = 6, l.kernel = 3, l.stride = 1, l.pad = 1, l.bias = false;
    }
    layer("r2", Op::Relu);
    layer("a1", Op::Add).from = 3;
    layer("u1", Op::Upsample).factor = 2;
    {
        LayerSpec& l = layer("t1", Op::ConvTranspose);
        l.channels = 4, l.kernel = 3, l.stride = 2, l.pad = 1, l.output_padding = 1;
    }
    layer("h1", Op::Tanh).scale = 2.0;
    layer("z1", Op::Pad).pad = 2;
    {
        LayerSpec& l = layer("c3", Op::Conv);
        l.channels = 3, l.kernel = 5, l.stride = 2, l.pad = 0;
    }
    {
        LayerSpec& l = layer("p2", Op::AvgPool);
        l.kernel = 3, l.stride = 2, l.ceil_mode = true;
    }
    validate(desc);
    const Tensor<float> x = test_image(Shape{2, 3, 17, 15}, 33, 2.0, -1.0);
    check(compare(desc, x, 300), "every op");
}

TEST_CASE("cuda network: an input too small is an input error") {
    const NetDesc desc = transformer_net_desc(TransformerLayout::JcjohnsonInstanceNorm, 4);
    cuda::Network net(context(), desc, test_params(desc, 5).data(), kWorkspace);
    // The 40-px reflection pad needs more than 40 rows.
    try {
        net.prepare(Shape{1, 3, 30, 60}, true);
        FAIL("no error for a 30-row input");
    } catch (const Error& e) {
        CHECK(e.code() == ExitCode::Input);
    }
    // The net stays usable after the refusal.
    const Tensor<float> x = test_image(Shape{1, 3, 44, 44}, 34, 240.0, -120.0);
    const Tensor<float> xd = upload(x.cview());
    CHECK(net.forward(xd.cview(), false).shape == (Shape{1, 3, 44, 44}));
}

TEST_CASE("cuda network: forward and backward captured as a CUDA graph replay bit for bit") {
    // A training step enqueues only kernels, cuDNN calls, copies and memsets once prepared, so
    // that a trainer can capture it; the replay must give what the direct calls gave.
    const NetDesc desc = transformer_net_desc(TransformerLayout::PytorchExamples, 4);
    const std::vector<float> params = test_params(desc, 400);
    const std::size_t count = param_count(desc);
    const Shape xs{2, 3, 16, 12};
    const Tensor<float> x = test_image(xs, 41, 255.0, 0.0);
    cuda::Network net(context(), desc, params.data(), kWorkspace);
    net.prepare(xs, true);
    const Tensor<float> xd = upload(x.cview());
    const Tensor<float> dy = test_image(Shape{2, 3, 16, 12}, 42, 2.0, -1.0);
    const Tensor<float> dyd = upload(dy.cview());
    Tensor<float> dxd(xs, Device::Cuda), gd(Shape{1, 1, 1, int(count)}, Device::Cuda);
    const cudaStream_t s = context().stream();
    auto step = [&] {
        NST_CUDA_CHECK(cudaMemsetAsync(gd.data(), 0, count * sizeof(float), s));
        const ConstView<float> y = net.forward(xd.cview(), true);
        net.backward(dyd.cview(), dxd.view(), gd.data());
        return y;
    };
    const ConstView<float> yv = step();
    const Tensor<float> y1 = download(yv), dx1 = download(dxd.cview()), g1 = download(gd.cview());

    NST_CUDA_CHECK(cudaMemsetAsync(dxd.data(), 0, xs.numel() * sizeof(float), s));
    context().synchronize();
    cudaGraph_t graph = nullptr;
    cudaGraphExec_t exec = nullptr;
    NST_CUDA_CHECK(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal));
    step();
    NST_CUDA_CHECK(cudaStreamEndCapture(s, &graph));
    const Tensor<float> dx_captured = download(dxd.cview());  // recorded, not run: still zeros
    CHECK(std::all_of(dx_captured.begin(), dx_captured.end(), [](float v) { return v == 0.f; }));
    NST_CUDA_CHECK(cudaGraphInstantiate(&exec, graph, 0));
    NST_CUDA_CHECK(cudaGraphLaunch(exec, s));
    const Tensor<float> y2 = download(yv), dx2 = download(dxd.cview()), g2 = download(gd.cview());
    NST_CUDA_CHECK(cudaGraphExecDestroy(exec));
    NST_CUDA_CHECK(cudaGraphDestroy(graph));
    CHECK(std::equal(y1.begin(), y1.end(), y2.begin()));
    CHECK(std::equal(dx1.begin(), dx1.end(), dx2.begin()));
    CHECK(std::equal(g1.begin(), g1.end(), g2.begin()));
}
