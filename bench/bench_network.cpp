// SPDX-License-Identifier: MIT
// cpu::Network on TransformerNet (pytorch/examples layout, full width, torch-default init): the
// two shapes issue #12 sets targets for, against bench/torch_transformer.py on the same machine
// with the same thread count (OMP_NUM_THREADS=N here, --threads N there).
//
//   BM_transformer_forward/<layout>/<H>/<W>      inference, batch 1 (forward(x, false))
//   BM_transformer_train/<layout>/<N>/<H>/<W>    forward(x, true) + backward to every parameter
//                                                (dy = output / numel, no input gradient)
// layout 0 = PytorchExamples, 1 = JcjohnsonInstanceNorm. Wall-clock time.
#include <benchmark/benchmark.h>

#include <cmath>

#include "core/rng.h"
#include "nn/net_model.h"
#include "nn/network.h"
#include "nn/transformer_net.h"

using namespace nst;

namespace {

NetDesc bench_desc(int layout) {
    return transformer_net_desc(layout == 0 ? TransformerLayout::PytorchExamples : TransformerLayout::JcjohnsonInstanceNorm);
}

Tensor<float> bench_image(Shape s) {
    Tensor<float> x(s);
    for (std::size_t i = 0; i < x.numel(); ++i) x[i] = float(255 * rng::uniform(5, 0, i));
    return x;
}

void BM_transformer_forward(benchmark::State& state) {
    const NetDesc d = bench_desc(int(state.range(0)));
    const std::vector<float> p = init_params(d, 1);
    cpu::Network<float> net(d, p.data());
    const Tensor<float> x = bench_image(Shape{1, 3, int(state.range(1)), int(state.range(2))});
    net.forward(x.cview(), false);  // plan and buffers
    for (auto _ : state) {
        const ConstView<float> y = net.forward(x.cview(), false);
        benchmark::DoNotOptimize(y.data);
    }
}

void BM_transformer_train(benchmark::State& state) {
    const NetDesc d = bench_desc(int(state.range(0)));
    const std::vector<float> p = init_params(d, 1);
    cpu::Network<float> net(d, p.data());
    const Tensor<float> x = bench_image(Shape{int(state.range(1)), 3, int(state.range(2)), int(state.range(3))});
    std::vector<float> grads(param_count(d));
    Tensor<float> dy;
    auto step = [&] {
        const ConstView<float> y = net.forward(x.cview(), true);
        dy.ensure(y.shape);
        const float s = 1.0f / float(y.numel());
        for (std::size_t i = 0; i < y.numel(); ++i) dy[i] = s * y[i];
        std::fill(grads.begin(), grads.end(), 0.0f);
        net.backward(dy.cview(), TensorView<float>(), grads.data());
    };
    step();
    for (auto _ : state) {
        step();
        benchmark::DoNotOptimize(grads.data());
    }
}

}  // namespace

BENCHMARK(BM_transformer_forward)->Args({0, 512, 512})->Args({1, 512, 512})->Args({0, 256, 256})
    ->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_transformer_train)->Args({0, 4, 256, 256})->Unit(benchmark::kMillisecond)->UseRealTime();
