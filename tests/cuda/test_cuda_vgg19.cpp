// SPDX-License-Identifier: MIT
// cuda::Vgg19Net against the CPU oracle: the output of every one of the 37 layers (conv, ReLU and
// pool taps) for two odd sizes and both poolings, and the data-gradient backward from gradients
// injected at conv, pool and ReLU taps; then the same comparisons in tf32 and bf16 with loose
// bounds, printing the measured accuracy cost.
//
// Oracle: cpu::Vgg19Net<double> with the Direct convolution (the float weights converted
// exactly), so that the measured error is the CUDA net's alone rather than the sum of its and the
// float CPU net's (~2e-6 at relu5_4, tests/README.md). The backward oracle follows the CUDA
// forward's ReLU / max-pool decisions (cuda_test_util.h says why).
//
// Tolerances, relative L2 per tensor:
//   fp32: 1e-5 (TF32 disabled, so cuDNN must compute in true fp32; the float CPU net is at
//         2e-6 against PyTorch float64 at relu5_4, the CUDA net gets the same budget as the
//         reference test against PyTorch).
//   tf32: 2e-2. Operands rounded to a 10-bit mantissa (relative 2^-11 ~ 4.9e-4) give ~5e-4 per
//         convolution; over 16 convolutions in sequence a few 1e-3.
//   bf16: 1e-1. An 8-bit mantissa (2^-8 ~ 3.9e-3) gives ~4e-3 per convolution, a few 1e-2 at
//         the deepest layers. bf16 must also be measurably *less* accurate than fp32 (> 1e-4 at
//         conv5_1): otherwise the precision option was ignored.
// A real bug (wrong weight layout, padding, pooling window, bias, mask) gives errors of order 1.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "core/rng.h"
#include "cuda/vgg19_cuda.h"
#include "cuda_test_util.h"
#include "nn/vgg19.h"
#include "test_util.h"

using namespace nst;
using namespace nst::test::gpu;
using nst::test::rel_l2;

namespace {

const std::size_t kWorkspace = nst::CudaOptions{}.workspace_limit;

// He-normal weights for all 16 convs (the 37-layer tests reach conv5_4) with small biases.
const Vgg19Weights& weights() {
    static const Vgg19Weights w = test::he_weights(21, 0.05);
    return w;
}

std::vector<int> all_layers() {
    std::vector<int> k(kNumLayers);
    for (int i = 0; i < kNumLayers; ++i) k[i] = i;
    return k;
}

const char* pooling_str(Pooling p) { return p == Pooling::Max ? "max" : "avg"; }

// Sizes with odd sides at every level: 35x33 -> 17x16 -> 8x8 -> 4x4 -> 2x2 -> 1x1 and
// 70x51 -> 35x25 -> 17x12 -> 8x6 -> 4x3 -> 2x1: every pool drops a row or a column somewhere
// and pool5 still has an output, so all 37 layers can be tapped.
struct Size {
    int h, w;
};
const Size kSizes[] = {{35, 33}, {70, 51}};

// Image-like input: values spread over +-120 like a caffe-preprocessed photograph.
Tensor<float> input(const Size& s, std::uint64_t stream) { return test_image(Shape{1, 3, s.h, s.w}, stream, 240, -120); }

// The double oracle's outputs at all 37 layers.
struct Oracle {
    cpu::Vgg19Net<double> net;
    Oracle(Pooling pooling, const Tensor<float>& x) : net(weights(), pooling, cpu::ConvAlgo::Direct) {
        net.set_taps(all_layers());
        const Tensor<double> xd = cast<double, float>(x.cview());
        net.forward(xd.cview());
    }
};

// Compares the CUDA net's 37 outputs with the oracle; returns the worst error, checks each.
Worst compare_forward(cuda::Vgg19Net& net, Oracle& oracle, double tol, const std::string& what) {
    Worst worst;
    for (int k = 0; k < kNumLayers; ++k) {
        const std::string layer = vgg19_layers()[k].name;
        INFO(what << " layer " << layer);
        const Tensor<float> out = download(net.output(k));
        ConstView<double> ref = oracle.net.output(k);
        REQUIRE(out.shape() == ref.shape);
        const double err = rel_l2(out.data(), ref.data, ref.numel());
        worst.add(err, layer);
        CHECK(err <= tol);
    }
    return worst;
}

// Random tap gradients for the given layers, shaped like the oracle's outputs there.
std::map<int, Tensor<double>> random_tap_grads(const std::vector<int>& layers, Oracle& oracle, std::uint64_t seed) {
    std::map<int, Tensor<double>> r;
    for (int l : layers) {
        Tensor<double> t(oracle.net.output(l).shape);
        // Unit norm per tap: He weights roughly preserve norms through the backward pass, so
        // every tap contributes to dx alike and none hides behind a larger one.
        const double scale = 1.0 / std::sqrt(double(t.numel()));
        for (std::size_t j = 0; j < t.numel(); ++j) t[j] = scale * rng::normal(seed, std::uint64_t(l), j);
        r.emplace(l, std::move(t));
    }
    return r;
}

// Injects the tap gradients into a CUDA net (after zero_grads) and runs its backward.
Tensor<float> cuda_backward(cuda::Vgg19Net& net, const std::map<int, Tensor<double>>& taps, Shape x_shape) {
    net.zero_grads();
    for (const auto& [layer, g] : taps) {
        const Tensor<float> gf = cast<float, double>(g.cview());
        upload_into(net.grad(layer), gf.cview());
    }
    Tensor<float> dx(x_shape, Device::Cuda);
    net.backward(dx.view());
    return download(dx.cview());
}

std::map<int, Tensor<float>> relu_outputs(cuda::Vgg19Net& net, int deepest) {
    std::map<int, Tensor<float>> m;
    for (int k : relu_layers_upto(deepest)) m.emplace(k, download(net.output(k)));
    return m;
}

// Tap sets for the backward tests: a conv tap (pre-ReLU), pool taps and ReLU taps, deepest last.
// conv1_1 sends its gradient straight into the first layer's backward (no ReLU below it).
const std::vector<std::vector<std::string>> kInjections = {
    {"relu1_2", "pool2", "conv3_1", "relu4_2", "relu5_1"},
    {"conv1_1", "relu2_2", "pool4", "conv4_4"},
};

struct BackwardResult {
    double err_all_taps = 0;    // net tapped at every ReLU (decisions read from it)
    double err_production = 0;  // net tapped only where gradients are injected
};

// Backward through a CUDA net against the double oracle following that net's decisions; then
// a second net tapped only at the injection layers (the production configuration, in which
// untapped ReLUs are fused) against the same oracle.
BackwardResult check_backward(Precision precision, Pooling pooling, const Size& size, const std::vector<int>& inj,
                              std::uint64_t seed, double tol, const std::string& what) {
    const Tensor<float> x = input(size, seed);
    const Shape xs = x.shape();
    Oracle oracle(pooling, x);
    const std::map<int, Tensor<double>> taps = random_tap_grads(inj, oracle, seed + 1);
    const int deepest = *std::max_element(inj.begin(), inj.end());
    const Tensor<float> xd = upload(x.cview());
    BackwardResult res;

    cuda::Vgg19Net net(context(), weights(), pooling, precision, kWorkspace);
    net.set_taps(merge_layers(inj, relu_layers_upto(deepest)));
    net.prepare(size.h, size.w);
    net.forward(xd.cview());
    const std::map<int, Tensor<float>> decisions = relu_outputs(net, deepest);
    const Tensor<float> dx = cuda_backward(net, taps, xs);
    const Tensor<double> ref = reference_backward(weights(), pooling, size.h, size.w, decisions, taps);
    res.err_all_taps = rel_l2(dx.data(), ref.data(), ref.numel());
    {
        INFO(what << ": every ReLU tapped");
        CHECK(res.err_all_taps <= tol);
    }

    cuda::Vgg19Net prod(context(), weights(), pooling, precision, kWorkspace);
    prod.set_taps(inj);
    prod.prepare(size.h, size.w);
    prod.forward(xd.cview());
    const Tensor<float> dx2 = cuda_backward(prod, taps, xs);
    res.err_production = rel_l2(dx2.data(), ref.data(), ref.numel());
    if (res.err_production > tol) {
        // Diagnose before failing: the oracle follows the first net's decisions, which are the
        // second net's only if both forwards agree bit for bit at the taps they share.
        bool same_forward = true;
        for (int l : inj) {
            const Tensor<float> a = download(net.output(l)), b = download(prod.output(l));
            same_forward = same_forward && std::equal(a.begin(), a.end(), b.begin());
        }
        MESSAGE(what << ": production taps: the two nets' forward outputs at the injection taps are "
                     << (same_forward ? "bit-identical (so the backward itself differs)"
                                      : "NOT bit-identical (a ReLU / max-pool decision may differ)"));
    }
    {
        INFO(what << ": only the injection layers tapped");
        CHECK(res.err_production <= tol);
    }
    return res;
}

}  // namespace

TEST_CASE("cuda vgg19: fp32 outputs of all 37 layers match the double CPU net") {
    cuda::Context& ctx = context();
    for (Pooling pooling : {Pooling::Max, Pooling::Avg}) {
        for (const Size& size : kSizes) {
            const std::string what = std::string(pooling_str(pooling)) + " " + std::to_string(size.h) + "x" +
                                     std::to_string(size.w);
            const Tensor<float> x = input(size, 1);
            Oracle oracle(pooling, x);
            cuda::Vgg19Net net(ctx, weights(), pooling, Precision::Fp32, kWorkspace);
            net.set_taps(all_layers());
            CHECK(net.deepest() == kNumLayers - 1);
            net.prepare(size.h, size.w);
            const Tensor<float> xd = upload(x.cview());
            net.forward(xd.cview());
            const Worst w = compare_forward(net, oracle, 1e-5, what);
            MESSAGE("fp32 forward " << what << ": worst rel L2 " << w.err << " at " << w.what);
        }
    }
}

TEST_CASE("cuda vgg19: a second forward and another size reuse the net correctly") {
    // Buffers and cuDNN choices are cached per shape: switching sizes back and forth and
    // changing the taps must give the same results as a fresh net.
    cuda::Context& ctx = context();
    cuda::Vgg19Net net(ctx, weights(), Pooling::Max, Precision::Fp32, kWorkspace);
    const std::vector<int> taps = layers_by_name({"relu1_1", "pool3", "relu5_1"});
    net.set_taps(taps);
    CHECK(net.deepest() == layer_index("relu5_1"));
    for (const Size& size : {kSizes[1], kSizes[0], kSizes[1]}) {
        const Tensor<float> x = input(size, 7);
        Oracle oracle(Pooling::Max, x);
        net.prepare(size.h, size.w);
        const Tensor<float> xd = upload(x.cview());
        net.forward(xd.cview());
        for (int l : taps) {
            INFO(size.h << "x" << size.w << " " << vgg19_layers()[l].name);
            const Tensor<float> out = download(net.output(l));
            ConstView<double> ref = oracle.net.output(l);
            REQUIRE(out.shape() == ref.shape);
            CHECK(rel_l2(out.data(), ref.data, ref.numel()) <= 1e-5);
        }
    }
    // The image too small for the deepest tap is an input error, as on the CPU.
    CHECK_THROWS_AS(net.prepare(15, 40), Error);
}

TEST_CASE("cuda vgg19: fp32 backward from conv and pool and relu taps matches the double oracle") {
    for (Pooling pooling : {Pooling::Max, Pooling::Avg}) {
        for (std::size_t i = 0; i < kInjections.size(); ++i) {
            const Size& size = kSizes[i % 2];
            const std::string what = std::string("fp32 backward ") + pooling_str(pooling) + " " +
                                     std::to_string(size.h) + "x" + std::to_string(size.w) + " injection set " +
                                     std::to_string(i);
            const BackwardResult r =
                check_backward(Precision::Fp32, pooling, size, layers_by_name(kInjections[i]), 30 + i, 1e-5, what);
            MESSAGE(what << ": rel L2 " << r.err_all_taps << " (all ReLUs tapped) / " << r.err_production
                         << " (production taps)");
        }
    }
}

TEST_CASE("cuda vgg19: tf32 and bf16 stay within their bounds and report the accuracy cost") {
    cuda::Context& ctx = context();
    struct P {
        Precision precision;
        double tol;
    };
    const P precisions[] = {{Precision::Tf32, 2e-2}, {Precision::Bf16, 1e-1}};
    for (const P& p : precisions) {
        for (Pooling pooling : {Pooling::Max, Pooling::Avg}) {
            const Size& size = kSizes[0];
            const std::string what = std::string(precision_name(p.precision)) + " " + pooling_str(pooling);
            const Tensor<float> x = input(size, 3);
            Oracle oracle(pooling, x);
            cuda::Vgg19Net net(ctx, weights(), pooling, p.precision, kWorkspace);
            net.set_taps(all_layers());
            net.prepare(size.h, size.w);
            const Tensor<float> xd = upload(x.cview());
            net.forward(xd.cview());
            const Worst w = compare_forward(net, oracle, p.tol, what);
            // Per block, the error at each block's first ReLU, for the accuracy report.
            std::string per_block;
            for (const char* l : {"relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"}) {
                const Tensor<float> out = download(net.output(layer_index(l)));
                ConstView<double> ref = oracle.net.output(layer_index(l));
                char buf[64];
                std::snprintf(buf, sizeof buf, " %s %.2e", l, rel_l2(out.data(), ref.data, ref.numel()));
                per_block += buf;
            }
            MESSAGE(what << " forward: worst rel L2 " << w.err << " at " << w.what << ";" << per_block);
            if (p.precision == Precision::Bf16) {
                const Tensor<float> out = download(net.output(layer_index("conv5_1")));
                ConstView<double> ref = oracle.net.output(layer_index("conv5_1"));
                const double err = rel_l2(out.data(), ref.data, ref.numel());
                INFO("bf16 must round: error at conv5_1 " << err);
                CHECK(err > 1e-4);
            }
            const BackwardResult r =
                check_backward(p.precision, pooling, size, layers_by_name(kInjections[0]), 50, p.tol, what);
            MESSAGE(what << " backward: rel L2 " << r.err_all_taps << " (all ReLUs tapped) / " << r.err_production
                         << " (production taps)");
        }
    }
}
