// SPDX-License-Identifier: MIT
// One full style-transfer iteration on the CPU backend: VGG19 forward to relu5_1, content +
// style + TV losses, backward to the image, one L-BFGS step (jcjohnson preset, random weights,
// deterministic synthetic images). bench/torch_iteration.py runs the same problem in PyTorch.
// BM_iteration_controls prices the spatial and scale controls against the same plain iteration
// (docs/perceptual_controls_spatial.md quotes the ratios).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>

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

nst::ProblemSpec plain_spec(int h, int w) {
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
    return spec;
}

void run_iterations(benchmark::State& state, nst::ProblemSpec spec) {
    auto engine = nst::make_cpu_engine(nst::random_weights(0), std::move(spec));
    engine->iterate();  // warm-up: buffers allocated, first L-BFGS step taken
    for (auto _ : state) benchmark::DoNotOptimize(engine->iterate().total);
    state.counters["s_per_iter"] = benchmark::Counter(double(state.iterations()), benchmark::Counter::kIsRate |
                                                                                      benchmark::Counter::kInvert);
}

void BM_iteration(benchmark::State& state) {
    run_iterations(state, plain_spec(int(state.range(0)), int(state.range(1))));
}

// A soft vertical boundary (8 px ramp) at `frac` of the width: 1 left of it, 0 right (or inverted).
nst::Tensor<float> half_mask(int h, int w, double frac, bool right) {
    nst::Tensor<float> m(nst::Shape{1, 1, h, w});
    for (int y = 0; y < h; ++y)
        for (int i = 0; i < w; ++i) {
            const double v = std::min(1.0, std::max(0.0, (frac * w - i) / 8.0 + 0.5));
            m.view().at(0, 0, y, i) = float(right ? 1.0 - v : v);
        }
    return m;
}

// Arg 0: 0 plain with two style images (blended), 1 guided Grams: two content regions and two
// style masks, 2 layer sets (style 1 gives relu1_1 and relu2_1, style 2 the rest), 3 edit mask.
void BM_iteration_controls(benchmark::State& state) {
    const int variant = int(state.range(0)), h = int(state.range(1)), w = int(state.range(2));
    nst::ProblemSpec spec = plain_spec(h, w);
    spec.styles.push_back(synthetic_image(h, w, 3));
    spec.style_blend = {1.0, 1.0};
    switch (variant) {
        case 1:
            spec.content_masks.push_back(half_mask(h, w, 0.4, false));
            spec.content_masks.push_back(half_mask(h, w, 0.4, true));
            spec.style_masks.push_back(half_mask(h, w, 0.5, false));
            spec.style_masks.push_back(half_mask(h, w, 0.3, true));
            state.SetLabel("guided Grams, 2 regions");
            break;
        case 2:
            spec.loss.style_layer_sets = {nst::parse_layer_list("relu1_1,relu2_1", "sets"),
                                          nst::parse_layer_list("relu3_1,relu4_1,relu5_1", "sets")};
            state.SetLabel("layer sets");
            break;
        case 3:
            spec.edit_mask = half_mask(h, w, 0.5, false);
            state.SetLabel("edit mask");
            break;
        default: state.SetLabel("plain, 2 styles blended"); break;
    }
    run_iterations(state, std::move(spec));
}

}  // namespace

// Args: height, width.
BENCHMARK(BM_iteration)->Args({96, 128})->Args({256, 256})->Args({512, 512})->Unit(benchmark::kMillisecond)->MinTime(3)->UseRealTime();
// Args: variant, height, width.
BENCHMARK(BM_iteration_controls)
    ->Args({0, 512, 512})
    ->Args({1, 512, 512})
    ->Args({2, 512, 512})
    ->Args({3, 512, 512})
    ->Unit(benchmark::kMillisecond)
    ->MinTime(3)
    ->UseRealTime();
