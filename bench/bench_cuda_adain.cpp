// SPDX-License-Identifier: MIT
// AdaIN style transfer on the GPU (issue #13): the CUDA twin of bench_adain.cpp and the nst side
// of `bench/torch_adain.py --device cuda` (tools/gpu_check.sh adain). Built only with the CUDA
// backend; without a device each case reports "no CUDA device" and is skipped.
//
//   BM_cuda_adain/size:S/style:1   the whole transfer as BM_adain_cpu: encode the S x S style,
//                                  its statistics, encode the S x S content, AdaIN, decode
//   BM_cuda_adain/size:S/style:0   one video frame: the style's statistics computed once
//                                  beforehand, then encode content + AdaIN + decode. This is what
//                                  the AdaIN paper's 15 FPS at 512^2 on a Pascal Titan X (56 FPS at
//                                  256^2) counts (§7.1: "excluding the style encoding").
//   BM_cuda_adain_engine/size:S    `nst stylize --backend cuda`'s path for one more content image
//                                  (engine/adain_stylize.h AdainStylizer::run on CudaAdainBackend,
//                                  the style encoded once): the image up, encode, AdaIN, decode,
//                                  the result back to the host, clamped and cropped. Wall time
//                                  (run() returns a host tensor, so it has synchronised).
//
// cuda::Network on adain_encoder_desc() / adain_decoder_desc() with init_params' random weights,
// kernels::adain_channel_stats + kernels::adain_blend with the port's statistics (unbiased
// variance + 1e-5 on both sides). fp32, cuDNN without TF32, as nst computes. Timing: CUDA events
// around the work on the context's stream (UseManualTime); counters ms_per_iter, fps and peak_MiB
// (nst's device allocations).
#ifdef NST_HAVE_CUDA
#include <benchmark/benchmark.h>
#include <cuda_runtime.h>

#include <chrono>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "bench_cuda_util.h"
#include "core/device_memory.h"
#include "core/rng.h"
#include "cuda/check.h"
#include "cuda/context.h"
#include "cuda/device_stats.h"
#include "cuda/adain_cuda.h"
#include "cuda/network_cuda.h"
#include "engine/adain_stylize.h"
#include "engine/engine.h"
#include "kernels/adain.h"
#include "nn/adain_net.h"
#include "nn/net_model.h"

namespace {

// Uniform [0, 1) RGB on the device: what the encoder reads.
nst::Tensor<float> device_rgb01(int size, std::uint64_t stream) {
    return nst::bench::device_uniform(nst::Shape{1, 3, size, size}, 1, 7, stream);
}

void BM_cuda_adain(benchmark::State& state) {
    if (nst::cuda_device_count() == 0) {
        state.SkipWithError("no CUDA device");
        return;
    }
    const int size = int(state.range(0));
    const bool with_style = state.range(1) != 0;
    try {
        nst::cuda::Context ctx(0);
        nst::cuda::reset_device_peak();
        const std::size_t ws = nst::CudaOptions{}.workspace_limit;
        const nst::NetDesc ed = nst::adain_encoder_desc(), dd = nst::adain_decoder_desc();
        nst::cuda::Network encoder(ctx, ed, nst::init_params(ed, 1).data(), ws);
        nst::cuda::Network decoder(ctx, dd, nst::init_params(dd, 2).data(), ws);
        const nst::Tensor<float> content = device_rgb01(size, 0), style = device_rgb01(size, 1);
        const int channels = 512;
        nst::Tensor<float> mean(nst::Shape{1, channels, 1, 1}, nst::Device::Cuda);
        nst::Tensor<float> sigma(nst::Shape{1, channels, 1, 1}, nst::Device::Cuda);
        nst::Tensor<float> t(nst::Shape{1, channels, size / 8, size / 8}, nst::Device::Cuda);
        const std::size_t plane = std::size_t(size / 8) * std::size_t(size / 8);
        nst::kernels::AdainWeights one;
        one.count = 1;
        one.w[0] = 1.0;
        auto style_stats = [&] {
            const nst::ConstView<float> fs = encoder.forward(style.cview(), false);
            nst::kernels::adain_channel_stats(mean.data(), sigma.data(), fs.data, 1, channels, plane, true, 1e-5,
                                              ctx.stream());
        };
        auto frame = [&] {
            const nst::ConstView<float> fc = encoder.forward(content.cview(), false);
            nst::kernels::adain_blend(t.data(), fc.data, mean.data(), sigma.data(), one, 1.0, 1, channels, plane, 1,
                                      true, ctx.stream());
            benchmark::DoNotOptimize(decoder.forward(t.cview(), false).data);
        };
        auto once = [&] {
            if (with_style) style_stats();
            frame();
        };
        style_stats();  // the statistics a style:0 frame uses; also the warm-up of the encoder
        nst::bench::time_on_stream(state, ctx, once);
    } catch (const std::exception& e) {
        state.SkipWithError(e.what());
    }
}

void BM_cuda_adain_engine(benchmark::State& state) {
    if (nst::cuda_device_count() == 0) {
        state.SkipWithError("no CUDA device");
        return;
    }
    const int size = int(state.range(0));
    try {
        nst::NetModel enc, dec;
        enc.desc = nst::adain_encoder_desc();
        enc.params = nst::init_params(enc.desc, 1);
        dec.desc = nst::adain_decoder_desc();
        dec.params = nst::init_params(dec.desc, 2);
        nst::cuda::reset_device_peak();
        nst::cuda::CudaAdainBackend backend(0, enc, dec);
        nst::AdainSettings settings;
        settings.style_size = 0;  // the style as given (S x S)
        nst::Tensor<float> content(nst::Shape{1, 3, size, size}), style(nst::Shape{1, 3, size, size});
        for (std::size_t i = 0; i < content.numel(); ++i) {
            content[i] = float(nst::rng::uniform(7, 0, i));
            style[i] = float(nst::rng::uniform(7, 1, i));
        }
        std::vector<nst::Tensor<float>> styles;
        styles.push_back(std::move(style));
        nst::AdainStylizer stylizer(backend, settings, std::move(styles), {"style"}, false);
        benchmark::DoNotOptimize(stylizer.run(content.cview(), "content").data());  // warm-up
        double total = 0;
        for (auto _ : state) {
            const auto t0 = std::chrono::steady_clock::now();
            benchmark::DoNotOptimize(stylizer.run(content.cview(), "content").data());
            total += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        }
        if (total > 0) {
            state.counters["ms_per_iter"] = total / double(state.iterations()) * 1e3;
            state.counters["fps"] = double(state.iterations()) / total;
        }
        state.counters["peak_MiB"] = double(nst::cuda::device_bytes_peak()) / double(1 << 20);
    } catch (const std::exception& e) {
        state.SkipWithError(e.what());
    }
}

}  // namespace

BENCHMARK(BM_cuda_adain_engine)
    ->ArgsProduct({{512, 256}})
    ->ArgNames({"size"})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond)
    ->MinTime(0.5);
BENCHMARK(BM_cuda_adain)
    ->ArgsProduct({{512, 256}, {1, 0}})
    ->ArgNames({"size", "style"})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->MinTime(0.5);

#endif  // NST_HAVE_CUDA
