// SPDX-License-Identifier: MIT
// One style-transfer iteration of the CPU network: VGG19 forward to relu5_1 and backward to the
// image (losses and the optimiser are small next to it). The reference point is PyTorch 1.13 on
// the same machine (oneDNN, 2 threads, forward to relu5_1 + backward to the input):
// 0.80 s at 256x256, 0.25 s at 128x128. Wall-clock time (the work is multi-threaded).
//
//   BM_vgg19_step/<algo>/<H>/<W>     algo 0 = Auto (production), 1 = Direct (im2col + GEMM)
//   BM_vgg19_step_style/...          the default style+content taps (relu1_1..relu5_1, relu4_2)
//   BM_vgg19_step_style_tapgrad/...  the same through backward(dx, TapGrad) (no tap gradient buffers)
//   BM_vgg16_step_perceptual/...   VGG16 (random16 weights) to relu4_3 with pytorch/examples' perceptual
//                                    taps relu1_2, relu2_2, relu3_3, relu4_3, TapGrad form: the loss network of
//                                    feed-forward training, per image
//   BM_vgg19_memory/<tapgrad>/<H>/<W>  one step with the default taps (tapgrad 1: TapGrad form,
//                                    0: grad buffers), for its memory: run it alone in a process
//                                    (--benchmark_filter) so that peak_rss is the network's
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <chrono>
#include <cmath>

#include "core/buffer.h"
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

const std::vector<std::string> kStyleTaps = {"relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu4_2", "relu5_1"};

// One forward and backward of `net` from x: the tap gradients d(mean(y^2))/dy, as the PyTorch
// probe's loss, through per-tap gradient buffers or the TapGrad callback.
void step(cpu::Vgg19Net<float>& net, const std::vector<int>& taps, const Tensor<float>& x, Tensor<float>& dx,
          bool tapgrad) {
    net.forward(x.cview());
    auto add_loss_grad = [&](int t, TensorView<float> g) {
        const auto y = net.output(t);
        const float s = 2.0f / float(y.numel());
        for (std::size_t j = 0; j < y.numel(); ++j) g[j] += s * y[j];
    };
    if (tapgrad) {
        net.backward(dx.view(), add_loss_grad);
    } else {
        net.zero_grads();
        for (int t : taps) add_loss_grad(t, net.grad(t));
        net.backward(dx.view());
    }
    benchmark::DoNotOptimize(dx.data());
}

std::vector<int> tap_indices(const std::vector<std::string>& names, VggArch arch = VggArch::Vgg19) {
    std::vector<int> taps;
    for (const auto& n : names) taps.push_back(layer_index(n, arch));
    return taps;
}

Tensor<float> bench_input(int h, int w) {
    Tensor<float> x(Shape{1, 3, h, w});
    for (std::size_t j = 0; j < x.numel(); ++j) x[j] = float(100 * rng::normal(2, 0, j));
    return x;
}

void run_step(benchmark::State& state, const std::vector<std::string>& tap_names, bool tapgrad = false,
              VggArch arch = VggArch::Vgg19) {
    static const Vgg19Weights wts = bench_weights();
    static const VggWeights wts16 = random_weights(1, VggArch::Vgg16);
    const auto algo = state.range(0) == 0 ? cpu::ConvAlgo::Auto : cpu::ConvAlgo::Direct;
    const int h = int(state.range(1)), w = int(state.range(2));
    cpu::VggNet<float> net(arch == VggArch::Vgg19 ? wts : wts16, Pooling::Max, algo);
    const std::vector<int> taps = tap_indices(tap_names, arch);
    net.set_taps(taps);
    const Tensor<float> x = bench_input(h, w);
    Tensor<float> dx(x.shape());
    auto step = [&]() { ::step(net, taps, x, dx, tapgrad); };
    step();  // allocate buffers, transform filters
    for (auto _ : state) {
        const auto t0 = std::chrono::steady_clock::now();
        step();
        state.SetIterationTime(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
}

void BM_vgg19_step(benchmark::State& state) { run_step(state, {"relu5_1"}); }
void BM_vgg19_step_style(benchmark::State& state) { run_step(state, kStyleTaps); }
void BM_vgg19_step_style_tapgrad(benchmark::State& state) { run_step(state, kStyleTaps, true); }
void BM_vgg16_step_perceptual(benchmark::State& state) {
    run_step(state, {"relu1_2", "relu2_2", "relu3_3", "relu4_3"}, true, VggArch::Vgg16);
}

void BM_vgg19_memory(benchmark::State& state) {
    const bool tapgrad = state.range(0) != 0;
    const int h = int(state.range(1)), w = int(state.range(2));
    const Vgg19Weights wts = bench_weights();
    cpu::Vgg19Net<float> net(wts, Pooling::Max);
    const std::vector<int> taps = tap_indices(kStyleTaps);
    net.set_taps(taps);
    const Tensor<float> x = bench_input(h, w);
    Tensor<float> dx(x.shape());
    for (auto _ : state) {
        const auto t0 = std::chrono::steady_clock::now();
        step(net, taps, x, dx, tapgrad);
        state.SetIterationTime(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    const double pixels = double(h) * w;
    state.counters["peak_rss_MiB"] = double(ru.ru_maxrss) / 1024.0;
    state.counters["peak_buffers_MiB"] = double(host_bytes_peak()) / double(1 << 20);
    state.counters["net_bytes_per_px"] = double(cpu::Vgg19Net<float>::buffer_bytes(taps, h, w)) / pixels;
    state.counters["scratch_per_thread_MiB"] =
        double(cpu::Vgg19Net<float>::scratch_bytes_per_thread(taps, h, w)) / double(1 << 20);
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
BENCHMARK(BM_vgg19_step_style_tapgrad)->Apply(sizes);
BENCHMARK(BM_vgg16_step_perceptual)->Apply(sizes);
BENCHMARK(BM_vgg19_memory)
    ->Args({1, 1536, 2048})
    ->Args({0, 1536, 2048})
    ->Args({1, 768, 1024})
    ->Args({0, 768, 1024})
    ->ArgNames({"tapgrad", "h", "w"})
    ->UseManualTime()
    ->Unit(benchmark::kSecond)
    ->Iterations(1);
