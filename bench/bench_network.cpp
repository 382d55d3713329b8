// SPDX-License-Identifier: MIT
// cpu::Network on TransformerNet (pytorch/examples layout, full width, torch-default init): the
// two shapes issue #12 sets targets for, against bench/torch_transformer.py on the same machine
// with the same thread count (OMP_NUM_THREADS=N here, --threads N there).
//
//   BM_transformer_forward/<layout>/<H>/<W>      inference, batch 1 (forward(x, false))
//   BM_transformer_train/<layout>/<N>/<H>/<W>    forward(x, true) + backward to every parameter
//                                                (dy = output / numel, no input gradient)
// layout 0 = PytorchExamples, 1 = JcjohnsonInstanceNorm. Wall-clock time.
//
// Measured 2026-12-02 on the development machine (Xeon, 2 cores, AVX-512; PyTorch 1.13 from
// Debian, oneDNN) while other jobs kept the load average at 6-11, so every figure is inflated and
// noisy; min of 2-3 runs, nst and PyTorch alternated within a minute of each other:
//
//   2 threads, OMP_WAIT_POLICY=passive (both sides)   forward 512       train batch 4 @ 256
//     round 2                                        0.90 vs 2.18 s    4.20 vs 5.56 s
//     round 3                                        0.65 vs 1.55 s    3.01 vs 4.07 s
//     PyTorch / nst                                  2.4x              1.32-1.35x
//   2 threads, default wait policy (spinning)        1.47-1.94 vs 3.43-3.56 s (1.8x)
//                                                                      7.7-9.6 vs 6.0-7.7 s (0.6-1.0x)
//   1 thread, process CPU time (steadiest here)      0.46 vs 1.01 s (2.2x)   1.92 vs 2.64 s (1.37x)
//
// On an oversubscribed machine libgomp's spinning at barriers costs nst, which has several
// parallel regions per layer, more than PyTorch; passive waiting removes that. Per layer (1
// thread, CPU time, forward 512): the 10 residual convs (Winograd) ~15 ms each, deconv2 50 ms,
// deconv3 (direct 9x9) 60 ms, conv2 (stride 2, im2col) 41 ms; training is ~80 % backward, most of
// it weight gradients (shifted GEMM for 3x3, direct kernel for 9x9).
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
