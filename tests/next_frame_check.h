// SPDX-License-Identifier: MIT
// Engine::next_frame (video, issue #14) against its definition: a frame given to the engine of
// the previous one runs exactly as on a new engine made with the frame's problem. Shared by the
// CPU suite (test_engine_next_frame.cpp) and the CUDA one (tests/cuda/test_cuda_temporal.cpp,
// run through the emulator), with the backend's make function and a problem builder.
#pragma once
#include <doctest/doctest.h>

#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "test_errors.h"

namespace nst::test {

using MakeEngine = std::function<std::unique_ptr<Engine>(ProblemSpec)>;
// A frame's problem: `frame` selects its content, start point and targets, `temporal` the number of
// previous frames, `style` which style image (0 or 1) it uses.
using FrameProblem = std::function<ProblemSpec(int frame, int temporal, int style)>;

struct FrameRun {
    std::vector<IterationRecord> records;
    Tensor<float> x;
};

inline FrameRun finish(Engine& e, int iterations) {
    FrameRun r;
    // Two chunks: the CUDA engine's first iteration is eager, the later ones a (new) graph.
    e.advance(1);
    e.advance(iterations - 1);
    r.records = e.take_records();
    r.x = e.current();
    return r;
}

inline bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

inline void check_same_run(const FrameRun& a, const FrameRun& b) {
    REQUIRE(a.records.size() == b.records.size());
    for (std::size_t i = 0; i < a.records.size(); ++i) {
        CAPTURE(i + 1);
        const LossTerms &ta = a.records[i].terms, &tb = b.records[i].terms;
        CHECK(a.records[i].iter == b.records[i].iter);
        CHECK(same_bits(ta.total, tb.total));
        CHECK(same_bits(ta.temporal, tb.temporal));
        REQUIRE(ta.style.size() == tb.style.size());
        for (std::size_t k = 0; k < ta.style.size(); ++k) CHECK(same_bits(ta.style[k], tb.style[k]));
        REQUIRE(ta.content.size() == tb.content.size());
        for (std::size_t k = 0; k < ta.content.size(); ++k) CHECK(same_bits(ta.content[k], tb.content[k]));
    }
    REQUIRE(a.x.shape() == b.x.shape());
    CHECK(std::memcmp(a.x.data(), b.x.data(), a.x.numel() * sizeof(float)) == 0);
}

inline FrameUpdate update_of(ProblemSpec p, bool styles) {
    FrameUpdate u{std::move(p.content), std::move(p.init), std::move(p.temporal), {}};
    if (styles) u.styles = std::move(p.styles);
    return u;
}

// Frame 1 (no temporal targets) runs 3 iterations; then frames 2 and 3 (2 previous frames each,
// frame 3 with the other style image) on the same engine equal fresh engines bit for bit.
inline void check_next_frame(const MakeEngine& make, const FrameProblem& problem, int iterations = 4) {
    std::unique_ptr<Engine> video = make(problem(0, 0, 0));
    finish(*video, 3);

    video->next_frame(update_of(problem(1, 2, 0), false));
    const FrameRun second = finish(*video, iterations);
    CHECK(second.records.front().terms.temporal > 0);
    {
        INFO("frame 2 (same styles) vs a new engine");
        check_same_run(second, finish(*make(problem(1, 2, 0)), iterations));
    }
    video->next_frame(update_of(problem(2, 2, 1), true));
    const FrameRun third = finish(*video, iterations);
    {
        INFO("frame 3 (new style image) vs a new engine");
        check_same_run(third, finish(*make(problem(2, 2, 1)), iterations));
    }
    // Frame 3 really has other targets than frame 2: not a replay of a stale problem.
    CHECK_FALSE(same_bits(third.records.front().terms.total, second.records.front().terms.total));
}

// A refused update (wrong sizes) is an error of its kind and leaves the engine's problem as it was.
inline void check_next_frame_refusals(const MakeEngine& make, const FrameProblem& problem) {
    std::unique_ptr<Engine> video = make(problem(0, 0, 0));
    FrameUpdate small = update_of(problem(1, 2, 0), false);
    const Shape s = small.content.shape();
    small.content = Tensor<float>(Shape{1, 3, s.h - 2, s.w});
    const std::string msg = error_of([&] { video->next_frame(std::move(small)); }, ExitCode::Input);
    CHECK(contains(msg, "next frame: content"));
    FrameUpdate blind = update_of(problem(1, 2, 0), false);
    blind.temporal[1].weight = Tensor<float>(Shape{1, 1, s.h, s.w + 1});
    CHECK(contains(error_of([&] { video->next_frame(std::move(blind)); }, ExitCode::Usage), "weight map"));
    FrameUpdate styles = update_of(problem(1, 2, 0), true);
    styles.styles.push_back(styles.styles.front().clone());
    CHECK(contains(error_of([&] { video->next_frame(std::move(styles)); }, ExitCode::Usage), "style images"));
    // Still frame 1's problem: its run equals a fresh engine's.
    check_same_run(finish(*video, 3), finish(*make(problem(0, 0, 0)), 3));
}

}  // namespace nst::test
