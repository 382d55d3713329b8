// SPDX-License-Identifier: MIT
// cuda::VggNet on VGG16 weights against the CPU oracle (cpu::VggNet<double>, Direct
// convolutions): the output of each of the 31 layers with max pooling, and with average pooling
// the data-gradient backward from gradients injected at a conv, a ReLU and pool5. Tolerance fp32
// 1e-5 relative L2 as test_cuda_vgg19.cpp; average pooling leaves no max-pool decision to differ,
// and the rare ReLU flips of float rounding stay far below it in a whole-tensor L2.
#include <doctest/doctest.h>

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

// random16 weights with small biases, so the bias path is exercised.
const VggWeights& weights16() {
    static const VggWeights w = [] {
        VggWeights r = random_weights(31, VggArch::Vgg16);
        for (int k = 0; k < r.num_convs(); ++k)
            for (std::size_t o = 0; o < r.conv[std::size_t(k)].bias.numel(); ++o)
                r.conv[std::size_t(k)].bias.data()[o] = float(0.05 * rng::normal(31, 500 + std::uint64_t(k), o));
        return r;
    }();
    return w;
}

}  // namespace

TEST_CASE("cuda vgg16: every layer and the backward match the double CPU net") {
    cuda::Context& ctx = context();
    const VggLayers& table = vgg_layers(VggArch::Vgg16);
    const int h = 35, w = 33;  // 17x16, 8x8, 4x4, 2x2, 1x1 after the pools
    const Tensor<float> x = test_image(Shape{1, 3, h, w}, 7, 240, -120);
    const Tensor<double> xd = cast<double, float>(x.cview());
    const Tensor<float> xdev = upload(x.cview());

    std::vector<int> all(std::size_t(table.size()));
    for (int k = 0; k < table.size(); ++k) all[std::size_t(k)] = k;
    {
        cpu::VggNet<double> oracle(weights16(), Pooling::Max, cpu::ConvAlgo::Direct);
        oracle.set_taps(all);
        oracle.forward(xd.cview());
        cuda::VggNet net(ctx, weights16(), Pooling::Max, Precision::Fp32, nst::CudaOptions{}.workspace_limit);
        CHECK(net.arch() == VggArch::Vgg16);
        net.set_taps(all);
        CHECK(net.deepest() == 30);
        net.prepare(h, w);
        net.forward(xdev.cview());
        for (int k = 0; k < table.size(); ++k) {
            const Tensor<float> out = download(net.output(k));
            const ConstView<double> ref = oracle.output(k);
            CAPTURE(table[std::size_t(k)].name);
            REQUIRE(out.shape() == ref.shape);
            CHECK(rel_l2(out.data(), ref.data, ref.numel()) < 1e-5);
        }
    }

    const std::vector<int> taps = {layer_index("conv3_3", VggArch::Vgg16), layer_index("relu4_3", VggArch::Vgg16),
                                   layer_index("pool5", VggArch::Vgg16)};
    cpu::VggNet<double> oracle(weights16(), Pooling::Avg, cpu::ConvAlgo::Direct);
    oracle.set_taps(taps);
    oracle.forward(xd.cview());
    std::vector<Tensor<double>> r;
    for (std::size_t t = 0; t < taps.size(); ++t)
        r.push_back(test::random_tensor<double>(oracle.output(taps[t]).shape, 60 + t));
    auto inject = [&](int layer, double* g, std::size_t n) {
        for (std::size_t t = 0; t < taps.size(); ++t)
            if (taps[t] == layer)
                for (std::size_t j = 0; j < n; ++j) g[j] += r[t][j];
    };
    Tensor<double> dx_ref(Shape{1, 3, h, w});
    oracle.backward(dx_ref.view(), [&](int layer, TensorView<double> g) { inject(layer, g.data, g.numel()); });

    cuda::VggNet net(ctx, weights16(), Pooling::Avg, Precision::Fp32, nst::CudaOptions{}.workspace_limit);
    net.set_taps(taps);
    net.prepare(h, w);
    net.forward(xdev.cview());
    net.zero_grads();
    for (std::size_t t = 0; t < taps.size(); ++t) {
        Tensor<float> gh(r[t].shape());
        for (std::size_t j = 0; j < gh.numel(); ++j) gh[j] = float(r[t][j]);
        upload_into(net.grad(taps[t]), gh.cview());
    }
    Tensor<float> dx(Shape{1, 3, h, w}, Device::Cuda);
    net.backward(dx.view());
    const Tensor<double> got = download_double(dx.cview());
    CHECK(rel_l2(got.data(), dx_ref.data(), dx_ref.numel()) < 1e-5);
}
