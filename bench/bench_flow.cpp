// SPDX-License-Identifier: MIT
// Optical-flow time per frame pair (video/flow.h): each DIS preset at 256 and 512 px (long side)
// on a photograph of ../shared/images and the same photograph moved by (3.4, 1.7) px. One flow
// per iteration (nst video computes two per pair: forward and backward).
#include <benchmark/benchmark.h>

#include <string>

#include "io/image.h"
#include "video/flow.h"
#include "video/warp.h"

namespace {

using namespace nst;

struct Pair {
    Tensor<float> a, b;
};

Pair moved_photo(int long_side) {
    const Tensor<float> full = load_image(std::string(NST_SHARED_IMAGES) + "/tubingen.jpg");
    int h, w;
    target_size(full.shape().h, full.shape().w, long_side, SizeRule::Max, h, w);
    Pair p{resize_image(full.cview(), h, w), Tensor<float>()};
    Tensor<float> flow(Shape{1, 2, h, w});
    for (std::size_t i = 0; i < flow.shape().plane(); ++i) flow[i] = -3.4f, flow[flow.shape().plane() + i] = -1.7f;
    p.b = warp(p.a.cview(), flow.cview());  // b(x) = a(x - d): the content moved by d
    return p;
}

void BM_flow(benchmark::State& state) {
    const FlowMethod method = FlowMethod(state.range(0));
    const Pair p = moved_photo(int(state.range(1)));
    state.SetLabel(std::string(flow_method_name(method)) + " " + std::to_string(p.a.shape().w) + "x" +
                   std::to_string(p.a.shape().h));
    if (!have_flow_estimator()) {
        state.SkipWithError("built without OpenCV's video module");
        return;
    }
    for (auto _ : state) {
        Tensor<float> f = estimate_flow(p.a.cview(), p.b.cview(), method);
        benchmark::DoNotOptimize(f.data());
    }
}
BENCHMARK(BM_flow)
    ->ArgsProduct({{int(FlowMethod::DisUltrafast), int(FlowMethod::DisFast), int(FlowMethod::DisMedium)}, {256, 512}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
