// SPDX-License-Identifier: MIT
// Engine::next_frame on the CPU engine (video, issue #14): later frames on the first frame's
// engine equal new engines bit for bit, with and without new style images; refused updates.
// The CUDA twin: tests/cuda/test_cuda_temporal.cpp (the same checks, next_frame_check.h).
#include <doctest/doctest.h>

#include "engine/engine.h"
#include "next_frame_check.h"
#include "test_util.h"

using namespace nst;

namespace {

const Vgg19Weights& weights() {
    static const Vgg19Weights w = test::he_weights(71, 0.02, vgg19_layers()[layer_index("conv3_1")].conv);
    return w;
}

// 40x32 frames, taps up to relu3_1, soft consistency weights (the second target blind at the top).
ProblemSpec frame_problem(int frame, int temporal, int style) {
    const Shape image{1, 3, 32, 40};
    const std::uint64_t f = std::uint64_t(frame) * 100;
    ProblemSpec p;
    p.content = test::random_tensor<float>(image, 1 + f, -100, 120);
    p.styles.push_back(test::random_tensor<float>(Shape{1, 3, 36, 30}, 50 + std::uint64_t(style), -90, 110));
    p.style_blend = {1.0};
    p.init = test::random_tensor<float>(image, 2 + f, -60, 60);
    p.loss.content_layers = {layer_index("relu2_2")};
    p.loss.style_layers = {layer_index("relu1_1"), layer_index("relu2_1"), layer_index("relu3_1")};
    p.loss.temporal_weight = 1e3;
    p.lbfgs_history = 5;
    for (int j = 0; j < temporal; ++j) {
        TemporalFrame t;
        t.warped = test::random_tensor<float>(image, 10 + f + std::uint64_t(j), -100, 100);
        t.weight = test::random_tensor<float>(Shape{1, 1, image.h, image.w}, 20 + f + std::uint64_t(j), 0, 1);
        if (j == 1)
            for (int i = 0; i < 4 * image.w; ++i) t.weight[std::size_t(i)] = 0;
        p.temporal.push_back(std::move(t));
    }
    return p;
}

std::unique_ptr<Engine> make(ProblemSpec p) { return make_cpu_engine(weights(), std::move(p)); }

}  // namespace

TEST_CASE("engine next_frame: later frames on one cpu engine equal new engines bit for bit") {
    test::check_next_frame(make, frame_problem);
}

TEST_CASE("engine next_frame: refused updates are errors and leave the cpu engine's problem") {
    test::check_next_frame_refusals(make, frame_problem);
}
