// SPDX-License-Identifier: MIT
// The temporal term (video, issue #14) through the CUDA engine: ProblemSpec::temporal reaches
// cuda::Objective (kernels/temporal_loss.h in the term slot after TV), the records follow the
// CPU engine along an L-BFGS run, the graph (captured once, replayed) gives the same bits as
// running without one, the tiled evaluation the untiled one's terms, and too many previous
// frames are a usage error as on the CPU. Engine::next_frame (one engine for a clip) equals new
// engines bit for bit, as on the CPU (tests/test_engine_next_frame.cpp, tests/next_frame_check.h). The objective-level comparison with the double CPU
// objective is in test_cuda_objective.cpp ("temporal targets match the CPU objective").
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "cuda_test_util.h"
#include "engine/engine.h"
#include "loss/tiling.h"
#include "next_frame_check.h"
#include "test_errors.h"
#include "test_util.h"
#if defined(NST_EMU_BACKEND)
#include "cuda_runtime_emu.h"
#endif

using namespace nst;
using namespace nst::test::gpu;

namespace {

const Vgg19Weights& weights() {
    static const Vgg19Weights w = test::he_weights(93, 0.02, vgg19_layers()[layer_index("conv3_1")].conv);
    return w;
}

const Shape kImage{1, 3, 48, 36};

// Taps up to relu3_1; two previous frames with soft weights (the second blind in its top rows).
ProblemSpec problem(int frames, int tile_rows = 0, bool graph = true) {
    ProblemSpec p;
    p.content = test_image(kImage, 1, 256, -128);
    p.styles.push_back(test_image(Shape{1, 3, 40, 44}, 2, 256, -64));
    p.style_blend = {1.0};
    p.init = test_image(kImage, 3, 128, -64);
    p.loss.content_layers = layers_by_name({"relu2_2"});
    p.loss.style_layers = layers_by_name({"relu1_1", "relu2_1", "relu3_1"});
    p.lbfgs_history = 5;
    p.tile_rows = tile_rows;
    p.cuda.graph = graph;
    for (int j = 0; j < frames; ++j) {
        TemporalFrame f;
        f.warped = test_image(kImage, 10 + std::uint64_t(j), 256, -100);
        f.weight = Tensor<float>(Shape{1, 1, kImage.h, kImage.w});
        for (int y = 0; y < kImage.h; ++y)
            for (int x = 0; x < kImage.w; ++x)
                f.weight[std::size_t(y) * kImage.w + x] = (j == 1 && y < 6) ? 0.0f : float(0.2 + 0.1 * ((x + y + j) % 9));
        p.temporal.push_back(std::move(f));
    }
    return p;
}

std::vector<IterationRecord> run(ProblemSpec p, int iterations, bool cuda) {
    auto engine = cuda ? make_cuda_engine(weights(), std::move(p), 0) : make_cpu_engine(weights(), std::move(p));
    engine->advance(iterations);
    std::vector<IterationRecord> r = engine->take_records();
    REQUIRE(int(r.size()) == iterations);
    return r;
}

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }
double rel(double a, double b) { return a == b ? 0.0 : std::fabs(a - b) / std::fabs(b); }

}  // namespace

TEST_CASE("cuda engine temporal: follows the CPU engine and replays its graph bit for bit") {
    const int n = 4;
#if defined(NST_EMU_BACKEND)
    const emu::RuntimeStats before = emu::runtime_stats();
#endif
    const std::vector<IterationRecord> on = run(problem(2), n, true);
#if defined(NST_EMU_BACKEND)
    CHECK(emu::runtime_stats().failed_captures == before.failed_captures);
    CHECK(emu::runtime_stats().illegal_calls_during_capture == before.illegal_calls_during_capture);
    CHECK(emu::runtime_stats().graphs_instantiated == before.graphs_instantiated + 1);
#endif
    const std::vector<IterationRecord> off = run(problem(2, 0, false), n, true);
    const std::vector<IterationRecord> cpu = run(problem(2), n, false);
    double worst_total = 0, worst_temporal = 0;
    for (int i = 0; i < n; ++i) {
        CAPTURE(i + 1);
        const LossTerms &g = on[std::size_t(i)].terms, &c = cpu[std::size_t(i)].terms;
        CHECK(same_bits(g.total, off[std::size_t(i)].terms.total));
        CHECK(same_bits(g.temporal, off[std::size_t(i)].terms.temporal));
        CHECK(g.temporal > 0);
        const double sum = g.content_sum() + g.style_sum() + g.tv + g.temporal;
        CHECK(std::fabs(g.total - sum) <= 1e-12 * sum);
        worst_total = std::max(worst_total, rel(g.total, c.total));
        worst_temporal = std::max(worst_temporal, rel(g.temporal, c.temporal));
    }
    MESSAGE("CUDA vs CPU engine with temporal targets over " << n << " iterations: worst total rel " << worst_total
                                                             << ", worst temporal rel " << worst_temporal
                                                             << "; temporal " << on.front().terms.temporal << " -> "
                                                             << on.back().terms.temporal);
    CHECK(worst_total <= 1e-4);
    CHECK(worst_temporal <= 1e-4);
    CHECK(on.back().terms.temporal < on.front().terms.temporal);
}

TEST_CASE("cuda engine temporal: tiled runs give the untiled terms") {
    const int rows = 16;
    REQUIRE(plan_strips(kImage.h, rows, layer_index("relu3_1")).size() >= 3);
    const std::vector<IterationRecord> whole = run(problem(2), 2, true), tiled = run(problem(2, rows), 2, true);
    // Iteration 1 is at the same x: the temporal term is the same whole-image kernel.
    CHECK(same_bits(tiled[0].terms.temporal, whole[0].terms.temporal));
    for (std::size_t i = 0; i < 2; ++i) {
        CAPTURE(i + 1);
        CHECK(rel(tiled[i].terms.total, whole[i].terms.total) <= 1e-4);
        CHECK(rel(tiled[i].terms.temporal, whole[i].terms.temporal) <= 1e-4);
    }
    MESSAGE("tiled vs untiled, iteration 2: total rel " << rel(tiled[1].terms.total, whole[1].terms.total)
                                                        << ", temporal rel "
                                                        << rel(tiled[1].terms.temporal, whole[1].terms.temporal));
}

TEST_CASE("cuda engine temporal: more previous frames than the kernel takes is a usage error") {
    const std::string msg =
        test::error_of([] { make_cuda_engine(weights(), problem(kMaxTemporalFrames + 1), 0); }, ExitCode::Usage);
    CHECK(test::contains(msg, "at most 8"));
}

namespace {

// problem()'s frames for next_frame_check.h: another content, start point and targets per frame,
// and a second style image.
ProblemSpec frame_problem(int frame, int temporal, int style) {
    ProblemSpec p = problem(temporal);
    const std::uint64_t f = std::uint64_t(frame) * 100;
    p.content = test_image(kImage, 1 + f, 256, -128);
    p.init = test_image(kImage, 3 + f, 128, -64);
    if (style == 1) p.styles[0] = test_image(Shape{1, 3, 44, 38}, 5, 256, -64);
    for (int j = 0; j < temporal; ++j) p.temporal[std::size_t(j)].warped = test_image(kImage, 10 + f + std::uint64_t(j), 256, -100);
    return p;
}

std::unique_ptr<Engine> make_cuda(ProblemSpec p) { return make_cuda_engine(weights(), std::move(p), 0); }

}  // namespace

TEST_CASE("cuda engine temporal: later frames on one engine equal new engines bit for bit") {
#if defined(NST_EMU_BACKEND)
    const emu::RuntimeStats before = emu::runtime_stats();
#endif
    test::check_next_frame(make_cuda, frame_problem);
#if defined(NST_EMU_BACKEND)
    // Every frame's targets are new pointers: each frame captures its own graph, none fails.
    CHECK(emu::runtime_stats().failed_captures == before.failed_captures);
    CHECK(emu::runtime_stats().graphs_instantiated - before.graphs_instantiated == 5);
#endif
}

TEST_CASE("cuda engine temporal: refused next-frame updates leave the engine's problem") {
    test::check_next_frame_refusals(make_cuda, frame_problem);
}
