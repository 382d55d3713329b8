// SPDX-License-Identifier: MIT
// One style-transfer iteration of the CPU network: VGG19 forward to relu5_1 and backward to the
// image (losses and the optimiser are small next to it). The reference point is PyTorch 1.13 on
// the same machine (oneDNN, 2 threads, forward to relu5_1 + backward to the input):
// 0.80 s at 256x256, 0.25 s at 128x128. Wall-clock time (the work is multi-threaded).
//
//   BM_vgg19_step/<algo>/<H>/<W>     algo 0 = Auto (production), 1 = Direct (im2col + GEMM)
//   BM_vgg19_step_style/...          the default style+content taps (relu1_1..relu5_1, relu4_2)
#include <benchmark/benchmark.h>

#include <chrono>
#include <cmath>

#include "core/rng.h"
#include "nn/vgg19.h"

using namespace nst;

namespace {

Vgg19Weights bench_weights() {
    Vgg19Weights wts;
    for (int c = 0; c < kNumConvs; ++c) {
        const int out = conv_out_channels(c), in = conv_in_channels(c);
        wts.conv[c].weight = Tensor<float>(Shape{out, in, 3, 3});
        wts.conv[c].bias = filled(Shape{1, out, 1, 1}, 0.0f);
        const double sd = std::sqrt(2.0 / (out * 9.0));
        for (std::size_t j = 0; j < wts.conv[c].weight.numel(); ++j)
            wts.conv[c].weight[j] = float(sd * rng::normal(1, rng::kStreamWeights + c, j));
    }
    return wts;
}

void run_step(benchmark::State& state, const std::vector<std::string>& tap_names) {
    static const Vgg19Weights wts = bench_weights();
    const auto algo = state.range(0) == 0 ? cpu::ConvAlgo::Auto : cpu::ConvAlgo::Direct;
    const int h = int(state.range(1)), w = int(state.range(2));
    cpu::Vgg19Net<float> net(wts, Pooling::Max, algo);
    std::vector<int> taps;
    for (const auto& n : tap_names) taps.push_back(layer_index(n));
    net.set_taps(taps);
    Tensor<float> x(Shape{1, 3, h, w}), dx(Shape{1, 3, h, w});
    for (std::size_t j = 0; j < x.numel(); ++j) x[j] = float(100 * rng::normal(2, 0, j));
    auto step = [&]() {
        net.forward(x.cview());
        net.zero_grads();
        for (int t : taps) {
            // d(mean(y^2))/dy, as the PyTorch probe's loss.
            auto y = net.output(t);
            auto g = net.grad(t);
            const float s = 2.0f / float(y.numel());
            for (std::size_t j = 0; j < y.numel(); ++j) g[j] += s * y[j];
        }
        net.backward(dx.view());
        benchmark::DoNotOptimize(dx.data());
    };
    step();  // allocate buffers, transform filters
    for (auto _ : state) {
        const auto t0 = std::chrono::steady_clock::now();
        step();
        state.SetIterationTime(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
}

void BM_vgg19_step(benchmark::State& state) { run_step(state, {"relu5_1"}); }
void BM_vgg19_step_style(benchmark::State& state) {
    run_step(state, {"relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu4_2", "relu5_1"});
}

void sizes(benchmark::internal::Benchmark* b) {
    for (int algo : {0, 1})
        for (auto hw : {std::pair{128, 96}, std::pair{128, 128}, std::pair{256, 256}})
            b->Args({algo, hw.first, hw.second});
    b->ArgNames({"algo", "h", "w"})->UseManualTime()->Unit(benchmark::kMillisecond)->MinTime(2.0);
}

}  // namespace

BENCHMARK(BM_vgg19_step)->Apply(sizes);
BENCHMARK(BM_vgg19_step_style)->Apply(sizes);
