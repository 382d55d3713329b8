// SPDX-License-Identifier: MIT
// cpu::Network on whole TransformerNets (both layouts, narrow): input and parameter gradients
// against central differences in double of <R, net(x)>, float against double forward, the
// inference plan (in-place layers, reused buffers) against the training one, accumulation of
// parameter gradients, and the input error for an image too small for the network.
#include <doctest/doctest.h>

#include <cmath>

#include "core/rng.h"
#include "nn/net_model.h"
#include "nn/network.h"
#include "nn/transformer_net.h"
#include "test_errors.h"
#include "test_util.h"

using namespace nst;
using nst::test::random_tensor;
using nst::test::rel_l2;

namespace {

// torch's init, with the norms' gamma and beta moved off 1 and 0 so that their paths matter.
std::vector<float> test_params(const NetDesc& d, std::uint64_t seed) {
    std::vector<float> p = init_params(d, seed);
    for (const ParamInfo& info : param_layout(d)) {
        if (d.layers[std::size_t(info.layer)].op != Op::InstanceNorm) continue;
        for (std::size_t j = 0; j < info.shape.numel(); ++j)
            p[info.offset + j] += float(0.3 * (rng::uniform(seed, 999, info.offset + j) - 0.5));
    }
    return p;
}

double dot(ConstView<double> a, const Tensor<double>& b) {
    double s = 0;
    for (std::size_t i = 0; i < a.numel(); ++i) s += a[i] * b[i];
    return s;
}

void check_network_gradients(const NetDesc& d, Shape in) {
    const std::vector<float> p = test_params(d, 3);
    cpu::Network<double> net(d, p.data());
    auto x = random_tensor<double>(in, 11, -1, 1);
    const Shape out = output_shapes(d, in).back();
    auto r = random_tensor<double>(out, 12);
    auto loss = [&] { return dot(net.forward(x, false), r); };
    net.forward(x, true);
    Tensor<double> dx(in);
    std::vector<double> grads(param_count(d), 0.0);
    net.backward(r, dx, grads.data());

    // Relative to the largest gradient of the tensor checked (a ReLU kink crossed by one step
    // perturbs a difference by far less than that), plus the rounding noise of the difference
    // quotient: ~1e-16 |terms of the loss| / eps. (Biases before a norm have gradient 0, and
    // their differences are that noise.)
    double magnitude = 0;
    {
        const ConstView<double> y = net.forward(x, false);
        for (std::size_t i = 0; i < y.numel(); ++i) magnitude += std::abs(y[i] * r[i]);
    }
    const double noise = 100 * 1e-16 * magnitude / 1e-6;
    auto close = [&](double num, double ana, double scale) { return std::abs(num - ana) <= 1e-6 * scale + noise; };
    double dx_scale = 0;
    for (double v : dx) dx_scale = std::max(dx_scale, std::abs(v));
    int bad = 0;
    for (std::size_t i = 5; i < x.numel(); i += x.numel() / 12) {
        const double num = test::central_difference(loss, x[i], 1e-6);
        if (!close(num, dx[i], dx_scale)) {
            ++bad;
            MESSAGE("dx[" << i << "]: " << dx[i] << " vs " << num);
        }
    }
    CHECK(bad == 0);
    // Two entries of every parameter tensor.
    double* params = net.params();
    const auto info = param_layout(d);
    for (std::size_t t = 0; t < info.size(); ++t) {
        double scale = 0;
        for (std::size_t j = 0; j < info[t].shape.numel(); ++j)
            scale = std::max(scale, std::abs(grads[info[t].offset + j]));
        for (std::size_t k = 0; k < 2; ++k) {
            const std::size_t j = info[t].offset + (t * 7919 + k * 104729) % info[t].shape.numel();
            const double num = test::central_difference(loss, params[j], 1e-6 * std::max(1.0, std::abs(params[j])));
            if (!close(num, grads[j], scale)) {
                ++bad;
                MESSAGE(info[t].name << "[" << j - info[t].offset << "]: " << grads[j] << " vs " << num);
            }
        }
    }
    CHECK(bad == 0);
}

}  // namespace

TEST_CASE("network: pytorch transformer gradients match finite differences") {
    check_network_gradients(transformer_net_desc(TransformerLayout::PytorchExamples, 4), Shape{2, 3, 18, 22});
}

TEST_CASE("network: jcjohnson transformer gradients match finite differences") {
    check_network_gradients(transformer_net_desc(TransformerLayout::JcjohnsonInstanceNorm, 4), Shape{2, 3, 42, 45});
}

TEST_CASE("network: float forward agrees with double and inference matches training") {
    for (auto layout : {TransformerLayout::PytorchExamples, TransformerLayout::JcjohnsonInstanceNorm}) {
        const NetDesc d = transformer_net_desc(layout, 8);
        const std::vector<float> p = test_params(d, 5);
        const Shape in{2, 3, 45, 51};
        auto x = random_tensor<double>(in, 21, 0, 255);
        auto xf = cast<float, double>(x.cview());
        cpu::Network<double> nd(d, p.data());
        cpu::Network<float> nf(d, p.data());
        const ConstView<double> yd = nd.forward(x, true);
        const Tensor<double> ref = cast<double, double>(yd);
        const ConstView<float> yf = nf.forward(xf, false);
        CHECK(yf.shape == ref.shape());
        CHECK(rel_l2(yf.data, ref.data(), ref.numel()) < 1e-5);
        const ConstView<double> yi = nd.forward(x, false);
        CHECK(rel_l2(yi.data, ref.data(), ref.numel()) < 1e-15);
        // Float backward (Winograd data gradients) against double.
        auto r = random_tensor<double>(ref.shape(), 22);
        auto rf = cast<float, double>(r.cview());
        nd.forward(x, true);
        Tensor<double> dxd(in);
        std::vector<double> gd(param_count(d), 0.0);
        nd.backward(r, dxd, gd.data());
        nf.forward(xf, true);
        Tensor<float> dxf(in);
        std::vector<float> gf(param_count(d), 0.0f);
        nf.backward(rf, dxf, gf.data());
        CHECK(rel_l2(dxf.data(), dxd.data(), dxd.numel()) < 1e-4);
        CHECK(rel_l2(gf.data(), gd.data(), gd.size()) < 1e-4);
        CHECK(nd.buffer_bytes(in, false) < nd.buffer_bytes(in, true));
    }
}

TEST_CASE("network: parameter gradients accumulate and dx is optional") {
    const NetDesc d = transformer_net_desc(TransformerLayout::PytorchExamples, 4);
    const std::vector<float> p = test_params(d, 9);
    cpu::Network<double> net(d, p.data());
    auto x = random_tensor<double>(Shape{1, 3, 13, 10}, 31);
    const Shape out = output_shapes(d, x.shape()).back();
    auto r = random_tensor<double>(out, 32);
    std::vector<double> once(param_count(d), 0.0), twice(param_count(d), 0.0);
    net.forward(x, true);
    net.backward(r, TensorView<double>(), once.data());
    net.backward(r, TensorView<double>(), twice.data());
    net.backward(r, TensorView<double>(), twice.data());
    for (auto& v : once) v *= 2;
    CHECK(rel_l2(twice.data(), once.data(), once.size()) < 1e-14);
}

TEST_CASE("network: an input too small for the network is an input error") {
    const NetDesc d = transformer_net_desc(TransformerLayout::PytorchExamples, 4);
    const std::vector<float> p = init_params(d, 1);
    cpu::Network<float> net(d, p.data());
    Tensor<float> x(Shape{1, 3, 4, 40});
    const std::string msg = test::error_of([&] { net.forward(x, false); });
    CHECK(test::contains(msg, "conv1.conv2d"));
    const NetDesc j = transformer_net_desc(TransformerLayout::JcjohnsonInstanceNorm, 4);
    const std::vector<float> pj = init_params(j, 1);
    cpu::Network<float> netj(j, pj.data());
    Tensor<float> xj(Shape{1, 3, 30, 64});
    test::error_of([&] { netj.forward(xj, true); });
}

TEST_CASE("network: other layer mixes match finite differences") {
    // Adds whose source is the layer just before and the network input, pools in both modes,
    // a non-affine norm, an unfused ReLU after a conv, zero-padded pad layer, stride-2 conv.
    auto layer = [](const std::string& name, Op op) {
        LayerSpec l;
        l.name = name;
        l.op = op;
        return l;
    };
    NetDesc d;
    d.arch = "test-mix";
    LayerSpec c0 = layer("c0", Op::Conv);
    c0.channels = 3;
    c0.kernel = 3;
    c0.pad = 1;
    c0.pad_mode = PadMode::Reflect;
    LayerSpec a0 = layer("a0", Op::Add);
    a0.from = 0;
    LayerSpec r0 = layer("r0", Op::Relu);
    LayerSpec a1 = layer("a1", Op::Add);
    a1.from = -1;
    LayerSpec p0 = layer("p0", Op::Pad);
    p0.pad = 2;
    LayerSpec c1 = layer("c1", Op::Conv);
    c1.channels = 5;
    c1.kernel = 3;
    c1.stride = 2;
    LayerSpec n1 = layer("n1", Op::InstanceNorm);
    n1.affine = false;
    LayerSpec m1 = layer("m1", Op::MaxPool);
    m1.kernel = 3;
    m1.stride = 2;
    m1.ceil_mode = true;
    LayerSpec u1 = layer("u1", Op::Upsample);
    LayerSpec v1 = layer("v1", Op::AvgPool);
    v1.kernel = 2;
    v1.stride = 2;
    LayerSpec t1 = layer("t1", Op::Tanh);
    t1.scale = 3;
    d.layers = {c0, a0, r0, a1, p0, c1, n1, m1, u1, v1, t1};
    validate(d);
    check_network_gradients(d, Shape{2, 3, 13, 11});
}
