// SPDX-License-Identifier: MIT
// Each VGG19 convolution at its real shape for a 256x256 (and 128x128) input, both algorithms,
// forward (with fused bias + ReLU) and backward-data (with the ReLU-backward mask), as run by
// Vgg19Net. The FLOP rate uses the direct convolution's count 2*O*I*9*H*W for every algorithm, so the
// numbers compare on one scale (Winograd's "effective" rate).
//
//   BM_conv_forward/<conv>/<size>/<algo>   conv 0..15 (conv1_1..conv5_4), algo 1 Direct, 2 Winograd
//   BM_conv_backward/<conv>/<size>/<algo>
#include <benchmark/benchmark.h>

#include <chrono>
#include <cmath>

#include "core/rng.h"
#include "nn/conv2d_impl.h"
#include "nn/vgg19_layers.h"

using namespace nst;

namespace {

struct ConvSetup {
    int in, out, h, w;
    Tensor<float> weight, bias, x, y, mask;
};

ConvSetup make_setup(int conv, int size) {
    ConvSetup s;
    s.in = conv_in_channels(conv);
    s.out = conv_out_channels(conv);
    int h, w;
    layer_output_size(conv_layer_index(conv), size, size, h, w);
    s.h = h;
    s.w = w;
    s.weight = Tensor<float>(Shape{s.out, s.in, 3, 3});
    const double sd = std::sqrt(2.0 / (s.out * 9.0));
    for (std::size_t j = 0; j < s.weight.numel(); ++j) s.weight[j] = float(sd * rng::normal(1, conv, j));
    s.bias = filled(Shape{1, s.out, 1, 1}, 0.01f);
    return s;
}

void fill(Tensor<float>& t, std::uint64_t seed) {
    for (std::size_t j = 0; j < t.numel(); ++j) t[j] = float(rng::normal(seed, 0, j));
}

void run(benchmark::State& state, bool backward) {
    const int conv = int(state.range(0)), size = int(state.range(1));
    const auto algo = cpu::ConvAlgo(state.range(2));
    ConvSetup s = make_setup(conv, size);
    cpu::detail::Conv3x3Layer<float> layer(s.weight.cview(), s.bias.cview(), algo);
    const int cin = backward ? s.out : s.in, cout = backward ? s.in : s.out;
    s.x = Tensor<float>(Shape{1, cin, s.h, s.w});
    s.y = Tensor<float>(Shape{1, cout, s.h, s.w});
    s.mask = Tensor<float>(Shape{1, cout, s.h, s.w});
    fill(s.x, 2);
    fill(s.mask, 3);
    auto once = [&]() {
        if (backward)
            layer.backward(s.y.view(), s.x.cview(), s.mask.data());
        else
            layer.forward(s.y.view(), s.x.cview(), true);
        benchmark::DoNotOptimize(s.y.data());
    };
    once();
    // Validate once before timing: the algorithm under test against Direct.
    {
        cpu::detail::Conv3x3Layer<float> ref_layer(s.weight.cview(), s.bias.cview(), cpu::ConvAlgo::Direct);
        Tensor<float> ref(s.y.shape());
        if (backward)
            ref_layer.backward(ref.view(), s.x.cview(), s.mask.data());
        else
            ref_layer.forward(ref.view(), s.x.cview(), true);
        double num = 0, den = 0;
        for (std::size_t j = 0; j < ref.numel(); ++j) {
            num += double(s.y[j] - ref[j]) * double(s.y[j] - ref[j]);
            den += double(ref[j]) * double(ref[j]);
        }
        if (!(std::sqrt(num) <= 1e-5 * std::sqrt(den))) {
            state.SkipWithError("result differs from Direct");
            return;
        }
    }
    for (auto _ : state) {
        const auto t0 = std::chrono::steady_clock::now();
        once();
        state.SetIterationTime(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    const double flops = 2.0 * s.out * s.in * 9.0 * s.h * s.w;
    // Shown as FLOP=<n>G/s: direct-convolution FLOPs per second of wall time.
    state.counters["FLOP"] = benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate);
    state.SetLabel(conv_name(conv) + (backward ? " bwd " : " fwd ") + std::to_string(s.h) + "x" + std::to_string(s.w));
}

void BM_conv_forward(benchmark::State& state) { run(state, false); }
void BM_conv_backward(benchmark::State& state) { run(state, true); }

void shapes(benchmark::internal::Benchmark* b) {
    // conv1_1..conv5_1 (the convs of one iteration to relu5_1); distinct shapes only.
    for (int size : {256, 128})
        for (int conv : {0, 1, 2, 3, 4, 5, 8, 9, 12})
            for (int algo : {1, 2}) b->Args({conv, size, algo});
    b->ArgNames({"conv", "size", "algo"})->UseManualTime()->Unit(benchmark::kMillisecond);
}

}  // namespace

BENCHMARK(BM_conv_forward)->Apply(shapes);
BENCHMARK(BM_conv_backward)->Apply(shapes);
