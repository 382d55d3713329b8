// SPDX-License-Identifier: MIT
// One full style-transfer iteration on the CPU backend: VGG19 forward to relu5_1, content +
// style + TV losses, backward to the image, one L-BFGS step (jcjohnson preset, random weights,
// deterministic synthetic images). bench/torch_iteration.py runs the same problem in PyTorch.
#include <benchmark/benchmark.h>

#include "core/rng.h"
#include "engine/engine.h"
#include "engine/presets.h"

namespace {

nst::Tensor<float> synthetic_image(int h, int w, std::uint64_t stream) {
    // Smooth content in caffe space (values ~ +-100), so ReLU patterns resemble a photograph's.
    nst::Tensor<float> x(nst::Shape{1, 3, h, w});
    for (int c = 0; c < 3; ++c)
        for (int y = 0; y < h; ++y)
            for (int i = 0; i < w; ++i)
                x.view().at(0, c, y, i) = float(60 * std::sin(0.05 * (y + 2 * c) * (1 + stream)) * std::cos(0.07 * i) +
                                                10 * nst::rng::normal(7, stream, (std::size_t(c) * h + y) * w + i));
    return x;
}

void BM_iteration(benchmark::State& state) {
    const int h = int(state.range(0)), w = int(state.range(1));
    const nst::PresetDefaults& preset = nst::preset_defaults(nst::Preset::JcJohnson);
    nst::ProblemSpec spec;
    spec.content = synthetic_image(h, w, 1);
    spec.styles.push_back(synthetic_image(h, w, 2));
    spec.style_blend = {1.0};
    spec.init = spec.content.clone();
    spec.loss.preset = preset.preset;
    spec.loss.content_layers = {nst::layer_index("relu4_2")};
    spec.loss.style_layers = nst::parse_layer_list(preset.style_layers, "--style-layers");
    spec.loss.style_layer_weights.assign(spec.loss.style_layers.size(), 1.0);
    spec.loss.content_weight = preset.content_weight;
    spec.loss.style_weight = preset.style_weight;
    spec.loss.tv_weight = preset.tv_weight;
    spec.pooling = nst::Pooling::Max;
    spec.lbfgs_history = 100;
    auto engine = nst::make_cpu_engine(nst::random_weights(0), std::move(spec));
    engine->iterate();  // warm-up: buffers allocated, first L-BFGS step taken
    for (auto _ : state) benchmark::DoNotOptimize(engine->iterate().total);
    state.counters["s_per_iter"] = benchmark::Counter(double(state.iterations()), benchmark::Counter::kIsRate |
                                                                                      benchmark::Counter::kInvert);
}

}  // namespace

// Args: height, width.
BENCHMARK(BM_iteration)->Args({96, 128})->Args({256, 256})->Unit(benchmark::kMillisecond)->MinTime(3)->UseRealTime();
