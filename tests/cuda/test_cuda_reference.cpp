// SPDX-License-Identifier: MIT
// The CUDA backend against PyTorch float64, through the fixtures of tools/make_reference.py
// (tests/data, tests/reference_fixture.h; tests/README.md describes the problems). The same
// tolerances as the CPU reference test (tests/test_reference.cpp), all relative:
//   activations at the 16 ReLU taps (cuda::Vgg19Net, fp32): rel_l2 <= 1e-5;
//   every loss term and the total (CUDA engine's evaluate at the point): <= 1e-5;
//   gradient: rel_l2 <= 1e-4;  each of the first 10 L-BFGS totals: <= 1e-4.
// Set NST_REFERENCE_REPORT=1 to print every measured error.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "cuda/vgg19_cuda.h"
#include "cuda_test_util.h"
#include "reference_fixture.h"
#include "test_util.h"

using namespace nst;
using namespace nst::test::reference;
using nst::test::rel_l2;
namespace gpu = nst::test::gpu;

TEST_CASE("cuda reference: activations at every ReLU tap match PyTorch") {
    const Tensor<float> x = make_image(kPoint);
    const Tensor<float> xd = gpu::upload(x.cview());
    for (Pooling pooling : {Pooling::Max, Pooling::Avg}) {
        cuda::Vgg19Net net(gpu::context(), weights(), pooling, Precision::Fp32, nst::CudaOptions{}.workspace_limit);
        net.set_taps(layer_indices(kReluTaps));
        net.prepare(x.shape().h, x.shape().w);
        net.forward(xd.cview());
        double worst = 0;
        for (const std::string& layer : kReluTaps) {
            INFO("pooling " << pooling_name(pooling) << ", " << layer);
            const Tensor<float> out = gpu::download(net.output(layer_index(layer)));
            const SafetensorsTensor& ref = activation_fixture(layer, pooling).tensor("act." + layer, out.numel());
            const Shape s = out.shape();
            REQUIRE(ref.shape == std::vector<std::int64_t>{s.n, s.c, s.h, s.w});
            const double err = rel_l2(out.data(), ref.data.data(), out.numel());
            worst = std::max(worst, err);
            report("cuda reference", std::string("activation ") + pooling_name(pooling) + " " + layer, err, kTolActivation);
            CHECK(err <= kTolActivation);
        }
        MESSAGE("CUDA activations vs PyTorch float64, " << pooling_name(pooling) << ": worst rel L2 " << worst);
    }
}

TEST_CASE("cuda reference: every loss term and the total and gradient match PyTorch") {
    for (const Config& cfg : configs()) {
        INFO(cfg.name());
        const json& r = results(cfg);
        const Fixture& fx = fixture(pooling_name(cfg.pooling));
        auto engine = make_cuda_engine(weights(), problem_spec(cfg), 0);
        const Tensor<float> x = make_image(kPoint);
        Tensor<float> grad(x.shape());
        const LossTerms terms = engine->evaluate(x.cview(), grad.view());

        double worst = 0;
        auto check_term = [&](const std::string& what, double value, const json& ref_json) {
            INFO(what);
            const double ref = number(fx, ref_json, cfg.name() + " " + what);
            const double err = rel_err(value, ref);
            worst = std::max(worst, err);
            report("cuda reference", cfg.name() + " " + what, err, kTolLoss);
            CHECK(err <= kTolLoss);
        };
        REQUIRE(terms.content.size() == kContentLayers.size());
        for (std::size_t i = 0; i < kContentLayers.size(); ++i)
            check_term("content " + kContentLayers[i], terms.content[i], r.at("content").at(kContentLayers[i]));
        REQUIRE(terms.style.size() == kStyleLayers.size());
        for (std::size_t j = 0; j < kStyleLayers.size(); ++j)
            check_term("style " + kStyleLayers[j], terms.style[j], r.at("style").at(kStyleLayers[j]));
        if (cfg.preset == Preset::JcJohnson)
            check_term("tv", terms.tv, r.at("tv"));
        else
            CHECK(terms.tv == 0.0);
        check_term("total", terms.total, r.at("total"));

        const SafetensorsTensor& ref_grad = fx.tensor(std::string("grad.") + preset_name(cfg.preset), grad.numel());
        const double err = rel_l2(grad.data(), ref_grad.data.data(), grad.numel());
        report("cuda reference", cfg.name() + " gradient", err, kTolGradient);
        CHECK(err <= kTolGradient);
        MESSAGE("CUDA " << cfg.name() << " vs PyTorch float64: worst term " << worst << ", gradient " << err);
    }
}

TEST_CASE("cuda reference: the first 10 L-BFGS totals match torch.optim.LBFGS") {
    for (const Config& cfg : configs()) {
        INFO(cfg.name());
        const Fixture& fx = fixture(pooling_name(cfg.pooling));
        const json& totals = results(cfg).at("lbfgs_totals");
        if (!totals.is_array() || totals.size() != std::size_t(kLbfgsIterations))
            FAIL("fixture " << fx.path << " is missing or stale (lbfgs_totals for " << cfg.name() << "): " << kRegenerate);
        auto engine = make_cuda_engine(weights(), problem_spec(cfg), 0);
        // All 10 iterations queued at once, as the run loop does, then read back together.
        engine->advance(kLbfgsIterations);
        const std::vector<IterationRecord> records = engine->take_records();
        REQUIRE(records.size() == std::size_t(kLbfgsIterations));
        double worst = 0;
        for (int it = 0; it < kLbfgsIterations; ++it) {
            INFO("evaluation " << it + 1);
            CHECK(records[std::size_t(it)].iter == it + 1);
            const double err =
                rel_err(records[std::size_t(it)].terms.total, number(fx, totals.at(it), cfg.name() + " lbfgs_totals"));
            worst = std::max(worst, err);
            report("cuda reference", cfg.name() + " L-BFGS total " + std::to_string(it + 1), err, kTolLbfgs);
            CHECK(err <= kTolLbfgs);
        }
        CHECK_FALSE(engine->converged());  // torch ran all 10 without its g.d > 1 stop
        MESSAGE("CUDA " << cfg.name() << " L-BFGS totals vs torch float64: worst of 10 " << worst);
    }
}
