// SPDX-License-Identifier: MIT
// AdaIN style transfer on the CPU (issue #13's speed target: >= 1.5x PyTorch CPU at 512x512),
// the nst side of bench/torch_adain.py; bench/adain_side_by_side.py runs both and records them.
//
//   BM_adain_cpu/<S>          the whole transfer of one S x S content with one S x S style:
//                             encode the style (relu4_1), its channel statistics, encode the
//                             content, AdaIN (alpha 1), decode -> (1, 3, S, S)
//   BM_adain_cpu_encode/<S>   the encoder alone on one S x S image (the transfer runs it twice)
//   BM_adain_cpu_op/<S>       the AdaIN operation alone on relu4_1 features of an S x S image
//                             (1, 512, S/8, S/8): the style's statistics and the blend
//   BM_adain_cpu_decode/<S>   the decoder alone from (1, 512, S/8, S/8) features
//   BM_adain_engine/<S>/<style>  what `nst stylize` runs (engine/adain_stylize.h: AdainStylizer on
//                             CpuAdainBackend): style 1 = the whole transfer (the stylizer built,
//                             which encodes the style, then run); style 0 = run() alone with the
//                             style encoded once (a video frame), plus the host-side steps
//                             (constant-image check, clamping, cropping)
//
// The BM_adain_cpu* cases call the layers nst stylize is built from: cpu::Network<float> on
// adain_encoder_desc() / adain_decoder_desc() with init_params' random weights (torch's default
// init, as torch_adain.py uses; the timing does not depend on the values, the shapes are the
// port's), cpu::adain_channel_stats + cpu::adain_blend with the port's statistics. Inference only (forward(x, false)). Wall-clock time; the CPU column is the process's
// (all threads), the steadier figure on a shared machine. Run under OMP_NUM_THREADS equal to
// torch_adain.py's --threads.
#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "core/rng.h"
#include "engine/adain_stylize.h"
#include "nn/adain.h"
#include "nn/adain_net.h"
#include "nn/net_model.h"
#include "nn/network.h"

using namespace nst;

namespace {

// Uniform [0, 1) RGB: what the encoder reads (ToTensor range).
Tensor<float> bench_rgb01(Shape s, std::uint64_t stream) {
    Tensor<float> x(s);
    for (std::size_t i = 0; i < x.numel(); ++i) x[i] = float(rng::uniform(7, stream, i));
    return x;
}

// Features of the encoder's scale: relu-like, non-negative, not constant per channel.
Tensor<float> bench_features(int size, std::uint64_t stream) {
    Tensor<float> f(Shape{1, 512, size / 8, size / 8});
    for (std::size_t i = 0; i < f.numel(); ++i) f[i] = float(4 * rng::uniform(7, stream, i));
    return f;
}

// The encoder and decoder with their random weights, built once per benchmark.
struct AdainNets {
    cpu::Network<float> encoder;
    cpu::Network<float> decoder;
    AdainNets()
        : encoder(adain_encoder_desc(), init_params(adain_encoder_desc(), 1).data()),
          decoder(adain_decoder_desc(), init_params(adain_decoder_desc(), 2).data()) {}
};

// One transfer. The style is encoded first so that the content's features (the encoder's
// buffer, valid until its next forward) go straight into the blend without a copy.
ConstView<float> transfer(AdainNets& nets, ConstView<float> content, ConstView<float> style, Tensor<float>& mean,
                          Tensor<float>& std, Tensor<float>& t) {
    const ConstView<float> fs = nets.encoder.forward(style, false);  // (1, 512, S/8, S/8)
    mean.ensure(Shape{1, fs.shape.c, 1, 1});
    std.ensure(Shape{1, fs.shape.c, 1, 1});
    cpu::adain_channel_stats(mean.view(), std.view(), fs, cpu::AdainStats::Port, cpu::AdainRole::Style);
    const ConstView<float> fc = nets.encoder.forward(content, false);
    t.ensure(fc.shape);
    cpu::adain_blend(t.view(), fc, {{mean.cview(), std.cview()}}, {1.0}, 1.0, cpu::AdainStats::Port);
    return nets.decoder.forward(t.cview(), false);  // (1, 3, S, S)
}

void BM_adain_cpu(benchmark::State& state) {
    const int size = int(state.range(0));
    AdainNets nets;
    const Tensor<float> content = bench_rgb01(Shape{1, 3, size, size}, 0);
    const Tensor<float> style = bench_rgb01(Shape{1, 3, size, size}, 1);
    Tensor<float> mean, std, t;
    transfer(nets, content.cview(), style.cview(), mean, std, t);  // plans and buffers
    for (auto _ : state) benchmark::DoNotOptimize(transfer(nets, content.cview(), style.cview(), mean, std, t).data);
}

void BM_adain_cpu_encode(benchmark::State& state) {
    const int size = int(state.range(0));
    cpu::Network<float> encoder(adain_encoder_desc(), init_params(adain_encoder_desc(), 1).data());
    const Tensor<float> x = bench_rgb01(Shape{1, 3, size, size}, 0);
    encoder.forward(x.cview(), false);
    for (auto _ : state) benchmark::DoNotOptimize(encoder.forward(x.cview(), false).data);
}

void BM_adain_cpu_op(benchmark::State& state) {
    const int size = int(state.range(0));
    const Tensor<float> fc = bench_features(size, 0), fs = bench_features(size, 1);
    Tensor<float> mean(Shape{1, 512, 1, 1}), std(Shape{1, 512, 1, 1}), t(fc.shape());
    for (auto _ : state) {
        cpu::adain_channel_stats(mean.view(), std.view(), fs.cview(), cpu::AdainStats::Port, cpu::AdainRole::Style);
        cpu::adain_blend(t.view(), fc.cview(), {{mean.cview(), std.cview()}}, {1.0}, 1.0, cpu::AdainStats::Port);
        benchmark::DoNotOptimize(t.data());
    }
}

void BM_adain_cpu_decode(benchmark::State& state) {
    const int size = int(state.range(0));
    cpu::Network<float> decoder(adain_decoder_desc(), init_params(adain_decoder_desc(), 2).data());
    const Tensor<float> f = bench_features(size, 0);
    decoder.forward(f.cview(), false);
    for (auto _ : state) benchmark::DoNotOptimize(decoder.forward(f.cview(), false).data);
}

NetModel random_model(const NetDesc& d, std::uint64_t seed) {
    NetModel m;
    m.desc = d;
    m.params = init_params(d, seed);
    return m;
}

void BM_adain_engine(benchmark::State& state) {
    const int size = int(state.range(0));
    const bool with_style = state.range(1) != 0;
    const NetModel enc = random_model(adain_encoder_desc(), 1), dec = random_model(adain_decoder_desc(), 2);
    CpuAdainBackend backend(enc, dec);
    AdainSettings settings;
    settings.style_size = 0;  // the style as given (S x S), as BM_adain_cpu
    const Tensor<float> content = bench_rgb01(Shape{1, 3, size, size}, 0);
    const Tensor<float> style = bench_rgb01(Shape{1, 3, size, size}, 1);
    auto stylizer = [&] {
        std::vector<Tensor<float>> styles;
        styles.push_back(style.clone());
        return std::make_unique<AdainStylizer>(backend, settings, std::move(styles), std::vector<std::string>{"style"},
                                               false);
    };
    auto cached = stylizer();
    benchmark::DoNotOptimize(cached->run(content.cview(), "content").data());  // plans and buffers
    for (auto _ : state) {
        if (with_style) {
            auto s = stylizer();
            benchmark::DoNotOptimize(s->run(content.cview(), "content").data());
        } else {
            benchmark::DoNotOptimize(cached->run(content.cview(), "content").data());
        }
    }
}

}  // namespace

BENCHMARK(BM_adain_engine)->Args({512, 1})->Args({512, 0})->Args({256, 1})->Unit(benchmark::kMillisecond)
    ->UseRealTime()->MeasureProcessCPUTime();
BENCHMARK(BM_adain_cpu)->Arg(512)->Arg(256)->Unit(benchmark::kMillisecond)->UseRealTime()->MeasureProcessCPUTime();
BENCHMARK(BM_adain_cpu_encode)->Arg(512)->Arg(256)->Unit(benchmark::kMillisecond)->UseRealTime()->MeasureProcessCPUTime();
BENCHMARK(BM_adain_cpu_op)->Arg(512)->Arg(256)->Unit(benchmark::kMillisecond)->UseRealTime()->MeasureProcessCPUTime();
BENCHMARK(BM_adain_cpu_decode)->Arg(512)->Arg(256)->Unit(benchmark::kMillisecond)->UseRealTime()->MeasureProcessCPUTime();
