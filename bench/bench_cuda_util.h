// SPDX-License-Identifier: MIT
// What the CUDA benchmarks share: device inputs from nst's RNG and the event timing of a call on
// a context's stream (bench_cuda_network.cpp, bench_cuda_adain.cpp). CUDA builds only.
#pragma once
#include <benchmark/benchmark.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "core/device_memory.h"
#include "core/rng.h"
#include "core/tensor.h"
#include "cuda/check.h"
#include "cuda/context.h"
#include "cuda/device_stats.h"

namespace nst::bench {

// scale * uniform [0, 1) values (rng stream (seed, stream)) of shape s, on the device.
inline Tensor<float> device_uniform(Shape s, float scale, std::uint64_t seed, std::uint64_t stream) {
    Tensor<float> h(s);
    for (std::size_t i = 0; i < h.numel(); ++i) h[i] = float(scale * rng::uniform(seed, stream, i));
    Tensor<float> d(s, Device::Cuda);
    device_memory::copy(d.data(), h.data(), h.numel() * sizeof(float), true, false);
    return d;
}

// Times `once` on the context's stream with CUDA events, one benchmark iteration per call, after
// one untimed warm-up call (buffers, cuDNN algorithm choice). Counters: ms_per_iter, fps, the
// device peak since the last cuda::reset_device_peak().
template <class F>
void time_on_stream(benchmark::State& state, cuda::Context& ctx, F&& once) {
    once();
    ctx.synchronize();
    cudaEvent_t start = nullptr, stop = nullptr;
    NST_CUDA_CHECK(cudaEventCreate(&start));
    NST_CUDA_CHECK(cudaEventCreate(&stop));
    double total = 0, iters = 0;
    for (auto _ : state) {
        NST_CUDA_CHECK(cudaEventRecord(start, ctx.stream()));
        once();
        NST_CUDA_CHECK(cudaEventRecord(stop, ctx.stream()));
        NST_CUDA_CHECK(cudaEventSynchronize(stop));
        float ms = 0;
        NST_CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
        state.SetIterationTime(ms / 1e3);
        total += ms / 1e3;
        iters += 1;
    }
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
    if (iters > 0) {
        state.counters["ms_per_iter"] = total / iters * 1e3;
        state.counters["fps"] = iters / total;
    }
    state.counters["peak_MiB"] = double(cuda::device_bytes_peak()) / double(1 << 20);
    state.SetLabel(ctx.name() + ", fp32");
}

}  // namespace nst::bench
