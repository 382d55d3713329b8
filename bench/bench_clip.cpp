// SPDX-License-Identifier: MIT
// Video files through FFmpeg (video/clip.h), frames per second at 512x288 (512 px wide, 16:9):
//
//   BM_clip_encode/<codec>   open_video_encoder + 16 write() + finish() of float RGB frames
//                            (quantising, RGB->codec pixels, encoding, muxing, atomic rename)
//   BM_clip_decode/<codec>   decode_video of that file to float RGB (1, 3, H, W) frames
//   BM_clip_probe/<codec>    probe_clip of that file (decoding without colour conversion)
//
// codec 0 = .mp4 (H.264, CRF 18), 1 = .mkv (FFV1 lossless), 2 = .webm (VP9). items/s = frames/s
// of wall-clock time (the encoders run threads of their own, so CPU time of the caller misleads).
// Files go to the current directory as bench_clip.<ext>. Skipped without FFmpeg.
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "video/clip.h"

using namespace nst;

namespace {

constexpr int kW = 512, kH = 288, kFrames = 16;
const char* const kPaths[] = {"bench_clip.mp4", "bench_clip.mkv", "bench_clip.webm"};

// Moving colour waves, so that inter-frame codecs have motion to code.
std::vector<Tensor<float>> frames() {
    std::vector<Tensor<float>> out;
    const std::size_t plane = std::size_t(kW) * kH;
    for (int t = 0; t < kFrames; ++t) {
        Tensor<float> f(Shape{1, 3, kH, kW});
        for (int y = 0; y < kH; ++y)
            for (int x = 0; x < kW; ++x) {
                const std::size_t i = std::size_t(y) * kW + x;
                f[i] = float(0.5 + 0.4 * std::sin(0.05 * x + 0.3 * t));
                f[plane + i] = float(0.5 + 0.4 * std::cos(0.07 * y - 0.2 * t));
                f[2 * plane + i] = float(0.5 + 0.3 * std::sin(0.03 * (x + y) + 0.5 * t));
            }
        out.push_back(std::move(f));
    }
    return out;
}

void encode(const char* path, const std::vector<Tensor<float>>& fs) {
    auto enc = open_video_encoder(path, kW, kH, 25, 1, 18);
    for (const auto& f : fs) enc->write(f);
    enc->finish();
}

void BM_clip_encode(benchmark::State& state) {
    if (!have_video_codecs()) return state.SkipWithError("built without FFmpeg");
    const auto fs = frames();
    for (auto _ : state) encode(kPaths[state.range(0)], fs);
    state.SetItemsProcessed(state.iterations() * kFrames);
}

void BM_clip_decode(benchmark::State& state) {
    if (!have_video_codecs()) return state.SkipWithError("built without FFmpeg");
    encode(kPaths[state.range(0)], frames());
    for (auto _ : state) {
        double sum = 0;
        decode_video(kPaths[state.range(0)], [&](int, Tensor<float>&& f) { sum += f[0]; });
        benchmark::DoNotOptimize(sum);
    }
    state.SetItemsProcessed(state.iterations() * kFrames);
}

void BM_clip_probe(benchmark::State& state) {
    if (!have_video_codecs()) return state.SkipWithError("built without FFmpeg");
    encode(kPaths[state.range(0)], frames());
    for (auto _ : state) benchmark::DoNotOptimize(probe_clip(kPaths[state.range(0)]).frames);
    state.SetItemsProcessed(state.iterations() * kFrames);
}

}  // namespace

BENCHMARK(BM_clip_encode)->DenseRange(0, 2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_clip_decode)->DenseRange(0, 2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_clip_probe)->DenseRange(0, 2)->Unit(benchmark::kMillisecond)->UseRealTime();
