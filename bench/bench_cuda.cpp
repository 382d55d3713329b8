// SPDX-License-Identifier: MIT
// CUDA benchmarks (built only with the CUDA backend; without a device each case reports
// "no CUDA device" and is skipped):
//
//   BM_cuda_iteration/size:S/precision:P   one full style-transfer iteration on the CUDA engine
//       (jcjohnson preset, random weights, S x S synthetic images, L-BFGS history 100), P = 0 fp32,
//       1 tf32, 2 bf16. Iterations are queued K = 10 at a time with advance(10) and read back with
//       take_records(), as `nst run` does; the time reported is per iteration.
//   BM_cuda_vgg19/size:S/precision:P       the network alone: forward to relu5_1 with the preset's
//       taps (relu1_1 .. relu5_1, relu4_2), zero tap gradients, backward to the image.
//   BM_cuda_gram/layer:L/size:S/impl:I/guided:G   one Gram matrix G = (F o T)(F o T)^T / M of a
//       VGG style layer's shape (L = 0..4: relu1_1 .. relu5_1, C x M for an S x S image) by our
//       kernel (I = 0, kernels/gram.h), cuBLAS SSYRK + mirror (1) or cuBLAS SGEMM + mirror (2),
//       pedantic fp32 (cuda/gram_cublas.h); G = 1 with a soft guide T (ours fuses it into the
//       loads, cuBLAS first writes F o T), 0 without. The side by side that --gram-impl selects.
//
// Timing is manual (UseManualTime). The network case brackets its work with CUDA events on its
// own stream. The engine keeps its stream to itself, so its case takes the host clock around
// advance(K) + take_records(), which waits for the last iteration: the interval covers the same
// device work plus the host's launch and read-back, which is what a run pays.
//
// Counters (Gram): us_per_gram, and TFLOP_per_s on the useful work C (C + 1) M (the upper
// triangle, 2 flops per multiply-add: what SYRK computes; a GEMM does twice as many).
// Counters: TFLOP/s on the convolution count 2 * 9 * Cin * Cout * H * W per conv forward plus
// the same for its backward-data (conv1_1 included: dx needs it), convs up to conv5_1; ms/iter;
// peak device MiB (the engine's peak_memory_bytes(), or nst's device allocations for the net).
#ifdef NST_HAVE_CUDA
#include <benchmark/benchmark.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <exception>
#include <string>
#include <vector>

#include "core/device_memory.h"
#include "core/rng.h"
#include "cuda/check.h"
#include "cuda/context.h"
#include "cuda/device_stats.h"
#include "cuda/gram_cublas.h"
#include "cuda/vgg19_cuda.h"
#include "engine/engine.h"
#include "engine/presets.h"
#include "kernels/gram.h"

namespace {

constexpr int kBatch = 10;  // iterations per advance() in the engine case

const nst::Vgg19Weights& bench_weights() {
    static const nst::Vgg19Weights w = nst::random_weights(0);
    return w;
}

// Smooth fields plus noise in caffe space (about +-100), so that ReLU patterns resemble a
// photograph's rather than white noise's.
nst::Tensor<float> synthetic_image(int h, int w, std::uint64_t stream) {
    nst::Tensor<float> x(nst::Shape{1, 3, h, w});
    for (int c = 0; c < 3; ++c)
        for (int y = 0; y < h; ++y)
            for (int i = 0; i < w; ++i)
                x.view().at(0, c, y, i) = float(55 * std::sin(0.045 * (y + 3 * c) * (1 + stream)) * std::cos(0.06 * i) +
                                                12 * nst::rng::normal(9, stream, (std::size_t(c) * h + y) * w + i));
    return x;
}

// Forward + backward-data convolution FLOPs of the convs up to `deepest` for an h x w input.
double conv_flops(int h, int w, int deepest) {
    double f = 0;
    for (int c = 0; c < nst::kNumConvs; ++c) {
        const int layer = nst::conv_layer_index(c);
        if (layer > deepest) break;
        int oh = 0, ow = 0;
        nst::layer_output_size(layer, h, w, oh, ow);
        f += 2.0 * 2.0 * 9.0 * nst::conv_in_channels(c) * nst::conv_out_channels(c) * double(oh) * ow;
    }
    return f;
}

nst::LossSpec preset_loss() {
    const nst::PresetDefaults& preset = nst::preset_defaults(nst::Preset::JcJohnson);
    nst::LossSpec loss;
    loss.preset = preset.preset;
    loss.content_layers = nst::parse_layer_list(preset.content_layers, "--content-layers");
    loss.style_layers = nst::parse_layer_list(preset.style_layers, "--style-layers");
    loss.style_layer_weights.assign(loss.style_layers.size(), 1.0);
    loss.content_weight = preset.content_weight;
    loss.style_weight = preset.style_weight;
    loss.tv_weight = preset.tv_weight;
    return loss;
}

void set_counters(benchmark::State& state, double flops_per_iter, double seconds, double iters, std::size_t peak) {
    if (seconds <= 0 || iters <= 0) return;
    const double per_iter = seconds / iters;
    state.counters["ms_per_iter"] = per_iter * 1e3;
    state.counters["TFLOP_per_s"] = flops_per_iter / per_iter / 1e12;
    state.counters["peak_MiB"] = double(peak) / double(1 << 20);
}

void BM_cuda_iteration(benchmark::State& state) {
    if (nst::cuda_device_count() == 0) {
        state.SkipWithError("no CUDA device");
        return;
    }
    const int size = int(state.range(0));
    const auto precision = nst::Precision(state.range(1));
    try {
        nst::ProblemSpec spec;
        spec.content = synthetic_image(size, size, 1);
        spec.styles.push_back(synthetic_image(size, size, 2));
        spec.style_blend = {1.0};
        spec.init = spec.content.clone();
        spec.loss = preset_loss();
        spec.pooling = nst::Pooling::Max;
        spec.optimizer = nst::OptimizerKind::Lbfgs;
        spec.lbfgs_history = 100;
        spec.cuda.precision = precision;
        const double flops = conv_flops(size, size, nst::loss_taps(spec.loss).back());
        auto engine = nst::make_cuda_engine(bench_weights(), std::move(spec), 0);
        // Warm-up: buffers, cuDNN algorithm choice, graph capture, the first L-BFGS steps.
        engine->advance(kBatch);
        engine->take_records();
        double total = 0, iters = 0;
        for (auto _ : state) {
            const auto t0 = std::chrono::steady_clock::now();
            engine->advance(kBatch);
            const std::vector<nst::IterationRecord> records = engine->take_records();
            const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            benchmark::DoNotOptimize(records.back().terms.total);
            state.SetIterationTime(s / kBatch);
            total += s;
            iters += kBatch;
        }
        set_counters(state, flops, total, iters, engine->peak_memory_bytes());
        state.SetLabel(engine->device_description());
    } catch (const std::exception& e) {
        state.SkipWithError(e.what());
    }
}

void BM_cuda_vgg19(benchmark::State& state) {
    if (nst::cuda_device_count() == 0) {
        state.SkipWithError("no CUDA device");
        return;
    }
    const int size = int(state.range(0));
    const auto precision = nst::Precision(state.range(1));
    try {
        nst::cuda::Context ctx(0);
        nst::cuda::reset_device_peak();
        const nst::LossSpec loss = preset_loss();
        const std::vector<int> taps = nst::loss_taps(loss);
        nst::cuda::Vgg19Net net(ctx, bench_weights(), nst::Pooling::Max, precision, nst::CudaOptions{}.workspace_limit);
        net.set_taps(taps);
        net.prepare(size, size);
        const nst::Tensor<float> xh = synthetic_image(size, size, 1);
        nst::Tensor<float> x(xh.shape(), nst::Device::Cuda), dx(xh.shape(), nst::Device::Cuda);
        nst::device_memory::copy(x.data(), xh.data(), xh.numel() * sizeof(float), true, false);
        cudaEvent_t start = nullptr, stop = nullptr;
        cudaEventCreate(&start);
        cudaEventCreate(&stop);
        auto once = [&] {
            net.zero_grads();
            net.forward(x.cview());
            net.backward(dx.view());
        };
        once();
        ctx.synchronize();
        double total = 0, iters = 0;
        for (auto _ : state) {
            cudaEventRecord(start, ctx.stream());
            once();
            cudaEventRecord(stop, ctx.stream());
            cudaEventSynchronize(stop);
            float ms = 0;
            cudaEventElapsedTime(&ms, start, stop);
            state.SetIterationTime(ms / 1e3);
            total += ms / 1e3;
            iters += 1;
        }
        ctx.synchronize();
        cudaEventDestroy(start);
        cudaEventDestroy(stop);
        set_counters(state, conv_flops(size, size, net.deepest()), total, iters, nst::cuda::device_bytes_peak());
        state.SetLabel(ctx.name() + std::string(", ") + nst::precision_name(precision));
    } catch (const std::exception& e) {
        state.SkipWithError(e.what());
    }
}

// The style layers the preset uses (relu1_1 .. relu5_1).
constexpr const char* kGramLayers[] = {"relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"};

void BM_cuda_gram(benchmark::State& state) {
    if (nst::cuda_device_count() == 0) {
        state.SkipWithError("no CUDA device");
        return;
    }
    const int layer = nst::layer_index(kGramLayers[state.range(0)]);
    const int size = int(state.range(1));
    const auto impl = nst::GramImpl(state.range(2));
    const bool guided = state.range(3) != 0;
    try {
        nst::cuda::Context ctx(0);
        int h = 0, w = 0;
        nst::layer_output_size(layer, size, size, h, w);
        const int c = nst::vgg19_layers()[layer].channels;
        const long long m = (long long)h * w;
        // ReLU-like features (half zeros) and a soft guide in [0, 2].
        nst::Tensor<float> fh(nst::Shape{1, c, h, w}), th(nst::Shape{1, 1, h, w});
        for (std::size_t i = 0; i < fh.numel(); ++i) fh[i] = std::max(0.f, float(nst::rng::normal(5, 1, i)));
        for (std::size_t i = 0; i < th.numel(); ++i) th[i] = float(2 * nst::rng::uniform(5, 2, i));
        nst::Tensor<float> f(fh.shape(), nst::Device::Cuda), t(th.shape(), nst::Device::Cuda);
        nst::Tensor<float> g(nst::Shape{1, 1, c, c}, nst::Device::Cuda);
        nst::device_memory::copy(f.data(), fh.data(), fh.numel() * sizeof(float), true, false);
        nst::device_memory::copy(t.data(), th.data(), th.numel() * sizeof(float), true, false);
        const std::size_t scratch_floats =
            impl == nst::GramImpl::Own ? nst::kernels::gram_scratch_floats(c, m)
                                       : std::max<std::size_t>(1, nst::cuda::gram_cublas_scratch_floats(c, m, guided));
        nst::Tensor<float> scratch(nst::Shape{1, 1, 1, int(scratch_floats)}, nst::Device::Cuda);
        if (impl != nst::GramImpl::Own)
            NST_CUBLAS_CHECK(cublasSetMathMode(ctx.cublas(), nst::cuda::cublas_math_mode(nst::Precision::Fp32)));
        const float* guide = guided ? t.data() : nullptr;
        const double scale = 1.0 / double(m);
        auto once = [&] {
            if (impl == nst::GramImpl::Own)
                nst::kernels::gram(f.data(), guide, c, m, scale, scratch.data(), g.data(), ctx.stream());
            else
                nst::cuda::gram_cublas(ctx, impl, f.data(), guide, c, m, scale, scratch.data(), g.data());
        };
        once();  // warm-up (cuBLAS picks its kernel, our kernels load)
        ctx.synchronize();
        cudaEvent_t start = nullptr, stop = nullptr;
        NST_CUDA_CHECK(cudaEventCreate(&start));
        NST_CUDA_CHECK(cudaEventCreate(&stop));
        constexpr int kRepeat = 20;  // Grams per timed interval: a relu5_1 Gram is a few microseconds
        double total = 0, grams = 0;
        for (auto _ : state) {
            NST_CUDA_CHECK(cudaEventRecord(start, ctx.stream()));
            for (int r = 0; r < kRepeat; ++r) once();
            NST_CUDA_CHECK(cudaEventRecord(stop, ctx.stream()));
            NST_CUDA_CHECK(cudaEventSynchronize(stop));
            float ms = 0;
            NST_CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
            state.SetIterationTime(ms / 1e3 / kRepeat);
            total += ms / 1e3;
            grams += kRepeat;
        }
        cudaEventDestroy(start);
        cudaEventDestroy(stop);
        if (grams > 0) {
            const double per = total / grams;
            state.counters["us_per_gram"] = per * 1e6;
            state.counters["TFLOP_per_s"] = double(c) * double(c + 1) * double(m) / per / 1e12;
        }
        state.SetLabel(std::string(kGramLayers[state.range(0)]) + " C=" + std::to_string(c) + " M=" +
                       std::to_string(m) + " " + nst::gram_impl_name(impl) + (guided ? " guided" : ""));
    } catch (const std::exception& e) {
        state.SkipWithError(e.what());
    }
}

}  // namespace

BENCHMARK(BM_cuda_gram)
    ->ArgsProduct({{0, 1, 2, 3, 4}, {512, 1024}, {0, 1, 2}, {0, 1}})
    ->ArgNames({"layer", "size", "impl", "guided"})
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond)
    ->MinTime(0.2);
BENCHMARK(BM_cuda_iteration)
    ->ArgsProduct({{256, 512}, {0, 1, 2}})
    ->ArgNames({"size", "precision"})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->MinTime(1.0);
BENCHMARK(BM_cuda_vgg19)
    ->ArgsProduct({{256, 512}, {0, 1, 2}})
    ->ArgNames({"size", "precision"})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->MinTime(0.5);

#endif  // NST_HAVE_CUDA
