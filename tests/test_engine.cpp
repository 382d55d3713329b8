// SPDX-License-Identifier: MIT
// The Engine interface on the CPU backend: batched advance() + take_records() must be the same
// run as one iterate() at a time (the CLI batches iterations between print points), and the
// CUDA-only settings are refused by the CPU engine.
#include <doctest/doctest.h>

#include <cstring>

#include "engine/engine.h"
#include "nn/vgg19_layers.h"
#include "test_errors.h"
#include "test_util.h"

using namespace nst;
using namespace nst::test;

namespace {

ProblemSpec small_problem() {
    ProblemSpec spec;
    spec.content = random_tensor<float>(Shape{1, 3, 24, 20}, 11, -50, 50);
    spec.styles.push_back(random_tensor<float>(Shape{1, 3, 20, 28}, 12, -50, 50));
    spec.style_blend = {1.0};
    spec.init = random_tensor<float>(Shape{1, 3, 24, 20}, 13, -1, 1);
    spec.loss.content_layers = {layer_index("relu2_1")};
    spec.loss.style_layers = {layer_index("relu1_1"), layer_index("relu2_1")};
    spec.lbfgs_history = 3;  // small, so that 7 iterations wrap the ring
    return spec;
}

ProblemSpec clone(const ProblemSpec& s) {
    ProblemSpec c;
    c.content = s.content.clone();
    for (const auto& t : s.styles) c.styles.push_back(t.clone());
    c.style_blend = s.style_blend;
    c.init = s.init.clone();
    c.loss = s.loss;
    c.pooling = s.pooling;
    c.optimizer = s.optimizer;
    c.learning_rate = s.learning_rate;
    c.lbfgs_history = s.lbfgs_history;
    c.cuda = s.cuda;
    return c;
}

}  // namespace

TEST_CASE("engine: batched advance gives the iterations of one-at-a-time iterate bit for bit") {
    const Vgg19Weights w = he_weights(5, 0.01, 3);
    const ProblemSpec spec = small_problem();
    auto one = make_cpu_engine(w, clone(spec));
    auto batched = make_cpu_engine(w, clone(spec));
    std::vector<double> totals;
    for (int i = 0; i < 7; ++i) totals.push_back(one->iterate().total);

    batched->advance(3);
    std::vector<IterationRecord> r = batched->take_records();
    batched->advance(4);
    const std::vector<IterationRecord> r2 = batched->take_records();
    r.insert(r.end(), r2.begin(), r2.end());
    CHECK(batched->take_records().empty());
    REQUIRE(r.size() == 7);
    for (int i = 0; i < 7; ++i) {
        INFO("iteration " << i + 1);
        CHECK(r[i].iter == i + 1);
        CHECK(r[i].terms.total == totals[i]);  // same arithmetic, so the same bits
        CHECK_FALSE(r[i].stopped);
        if (i > 0) CHECK(r[i].seconds >= r[i - 1].seconds);
    }
    const Tensor<float> a = one->current(), b = batched->current();
    CHECK(std::memcmp(a.data(), b.data(), a.numel() * sizeof(float)) == 0);
}

TEST_CASE("engine: the cpu engine refuses reduced precision") {
    const Vgg19Weights w = he_weights(5, 0.01, 3);
    for (Precision p : {Precision::Tf32, Precision::Bf16}) {
        ProblemSpec spec = small_problem();
        spec.cuda.precision = p;
        const std::string msg = error_of([&] { make_cpu_engine(w, std::move(spec)); }, ExitCode::Usage);
        CHECK(contains(msg, "precision"));
    }
}

TEST_CASE("engine: precision names round-trip and unknown names are usage errors") {
    for (Precision p : {Precision::Fp32, Precision::Tf32, Precision::Bf16}) CHECK(parse_precision(precision_name(p)) == p);
    CHECK(contains(error_of([] { parse_precision("fp16"); }, ExitCode::Usage), "fp16"));
}
