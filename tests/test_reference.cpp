// SPDX-License-Identifier: MIT
// The CPU engine against an independent implementation: PyTorch, float64, through the fixtures
// of tools/make_reference.py (tests/README.md: what is stored, tolerances, regeneration).
// Inputs are regenerated here from nst's RNG; the fixtures hold only PyTorch's outputs.
//
// What runs is the production path: random_weights(), Vgg19Net<float> with ConvAlgo::Auto
// (Winograd where it is faster), gram_matrix, and make_cpu_engine's Objective<float> and
// Lbfgs<float>. Tolerances (issue "Reference outputs from PyTorch"), all relative:
//   activations and Grams: rel_l2 <= 1e-5;  loss terms and total: |d|/|ref| <= 1e-5;
//   gradient: rel_l2 <= 1e-4;  each of the first 10 L-BFGS totals: |d|/|ref| <= 1e-4.
// Added: the same L-BFGS totals with the engine in double, <= 1e-10 (see that test).
// Fixture JSON is read with .at(): const operator[] on a missing key is undefined behaviour.
// Set NST_REFERENCE_REPORT=1 to print every measured error (tests/README.md quotes them).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/rng.h"
#include "loss/losses.h"
#include "loss/objective.h"
#include "nn/vgg19.h"
#include "optim/lbfgs.h"
#include "reference_fixture.h"
#include "test_util.h"

using namespace nst;
using namespace nst::test::reference;
using nst::test::rel_l2;

TEST_CASE("reference: the fixtures exist and match the settings of this test") {
    for (const char* part : {"common", "max", "avg"}) {
        const Fixture& fx = fixture(part);
        CHECK(fx.settings == expected_settings());
        if (report_enabled())
            std::printf("reference %s: made by PyTorch %s\n", fx.path.c_str(),
                        fx.generator.value("torch", std::string("?")).c_str());
    }
}

// Catches drift between src/core/rng.h and tools/nst_rng.py, which would otherwise show up as
// an unexplained mismatch of every engine output.
TEST_CASE("reference: the C++ RNG reproduces tools/nst_rng.py") {
    const Fixture& fx = fixture("common");
    const json& chk = fx.extra;
    REQUIRE(chk.contains("samples"));
    for (const json& s : chk.at("samples")) {
        const std::uint64_t seed = s.at("seed").get<std::uint64_t>(), stream = s.at("stream").get<std::uint64_t>(),
                            i = s.at("index").get<std::uint64_t>();
        INFO("rng sample seed " << seed << " stream " << stream << " index " << i);
        char hex[32];
        std::snprintf(hex, sizeof hex, "0x%016llx", (unsigned long long)rng::bits(seed, stream, i));
        CHECK(std::string(hex) == s.at("bits").get<std::string>());
        // Integer arithmetic and exact conversions: bit-identical everywhere.
        CHECK(rng::uniform(seed, stream, i) == s.at("uniform").get<double>());
        // log and cos come from the C library on both sides: identical on one machine, but
        // another libm may round the last bit differently, hence 1e-15 rather than equality.
        const double n = s.at("normal").get<double>();
        CHECK(std::fabs(rng::normal(seed, stream, i) - n) <= 1e-15 * std::max(1.0, std::fabs(n)));
    }

    // The weights and images as the tests build them: exact probes, and sums against Python's
    // correctly rounded math.fsum (a long double sum of these sizes is good to ~1e-16).
    auto check_summary = [&](const json& j, const float* v, std::size_t n, const std::string& what) {
        INFO(what);
        long double sum = 0;
        for (std::size_t k = 0; k < n; ++k) sum += v[k];
        const double ref = number(fx, j.at("sum"), what + ".sum");
        CHECK(std::fabs(double(sum) - ref) <= 1e-12 * std::max(1.0, std::fabs(ref)));
        for (const json& p : j.at("probes")) {
            const std::size_t k = p.at(0).get<std::size_t>();
            REQUIRE(k < n);
            CHECK(double(v[k]) == p.at(1).get<double>());
        }
    };
    REQUIRE(chk.at("weights").size() == std::size_t(kNumConvs));
    for (int k = 0; k < kNumConvs; ++k) {
        const Tensor<float>& w = weights().conv[k].weight;
        check_summary(chk.at("weights").at(k), w.data(), w.numel(), "weights of " + conv_name(k));
    }
    for (const ImageSpec* s : {&kContent, &kStyle, &kPoint, &kStart}) {
        const Tensor<float> x = make_image(*s);
        check_summary(chk.at("images").at(s->name), x.data(), x.numel(), std::string("image ") + s->name);
    }
}

TEST_CASE("reference: activations at every ReLU tap match PyTorch") {
    const Tensor<float> x = make_image(kPoint);
    for (Pooling pooling : {Pooling::Max, Pooling::Avg}) {
        cpu::Vgg19Net<float> net(weights(), pooling, cpu::ConvAlgo::Auto);
        net.set_taps(layer_indices(kReluTaps));
        net.forward(x.cview());
        for (const std::string& layer : kReluTaps) {
            INFO("pooling " << pooling_name(pooling) << ", " << layer);
            ConstView<float> out = net.output(layer_index(layer));
            const SafetensorsTensor& ref = activation_fixture(layer, pooling).tensor("act." + layer, out.numel());
            REQUIRE(ref.shape == std::vector<std::int64_t>{out.shape.n, out.shape.c, out.shape.h, out.shape.w});
            const double err = rel_l2(out.data, ref.data.data(), out.numel());
            report("reference", std::string("activation ") + pooling_name(pooling) + " " + layer, err, kTolActivation);
            CHECK(err <= kTolActivation);
        }
    }
}

// Each preset's Gram (jcjohnson F F^T / (C M), gatys F F^T) of the engine's own activations,
// against PyTorch's; the fixtures store F F^T / (C M) once per pooling, the presets differing by
// the known factor C M.
TEST_CASE("reference: Gram matrices of the style layers match PyTorch") {
    const Tensor<float> x = make_image(kPoint);
    for (Pooling pooling : {Pooling::Max, Pooling::Avg}) {
        cpu::Vgg19Net<float> net(weights(), pooling, cpu::ConvAlgo::Auto);
        net.set_taps(layer_indices(kStyleLayers));
        net.forward(x.cview());
        for (Preset preset : {Preset::JcJohnson, Preset::Gatys}) {
            for (const std::string& layer : kStyleLayers) {
                INFO(std::string(preset_name(preset)) << ", pooling " << pooling_name(pooling) << ", " << layer);
                ConstView<float> f = net.output(layer_index(layer));
                const int c = f.shape.c;
                const long long m = (long long)f.shape.plane();
                Tensor<float> g(Shape{1, 1, c, c});
                cpu::gram_matrix(g.view(), f, loss_scales(preset, c, m).gram);
                std::vector<double> ref = reference_gram(layer, pooling, c);
                const double to_preset = preset == Preset::Gatys ? double(c) * double(m) : 1.0;
                for (double& v : ref) v *= to_preset;
                const double err = rel_l2(g.data(), ref.data(), ref.size());
                report("reference", std::string("gram ") + preset_name(preset) + " " + pooling_name(pooling) + " " + layer, err,
                       kTolGram);
                CHECK(err <= kTolGram);
            }
        }
    }
}

TEST_CASE("reference: every loss term and the total and gradient match PyTorch") {
    for (const Config& cfg : configs()) {
        INFO(cfg.name());
        auto engine = make_cpu_engine(weights(), problem_spec(cfg));
        check_evaluation("reference", cfg, *engine);
    }
}

TEST_CASE("reference: the first 10 L-BFGS totals match torch.optim.LBFGS") {
    for (const Config& cfg : configs()) {
        INFO(cfg.name());
        auto engine = make_cpu_engine(weights(), problem_spec(cfg));
        std::vector<double> totals;
        for (int it = 0; it < kLbfgsIterations; ++it) totals.push_back(engine->iterate().total);
        check_lbfgs_totals("reference", cfg, totals);
        CHECK_FALSE(engine->converged());  // torch ran all 10 without its g.d > 1 stop
    }
}

// The same trajectory with every piece in double (Vgg19Net<double> with the Direct convolution,
// Objective<double>, Lbfgs<double>) against torch in float64: without float32 rounding the
// iterates must be torch's to near double precision, which shows that the engine's L-BFGS is
// torch's algorithm step for step and not merely close to it. 1e-10 leaves four orders of
// magnitude for summation-order differences amplified along the trajectory.
TEST_CASE("reference: L-BFGS in double follows torch.optim.LBFGS in float64 to 1e-10") {
    constexpr double kTolLbfgsDouble = 1e-10;
    for (const Config& cfg : configs()) {
        INFO(cfg.name());
        const Fixture& fx = fixture(pooling_name(cfg.pooling));
        const json& totals = results(cfg).at("lbfgs_totals");
        if (!totals.is_array() || totals.size() != std::size_t(kLbfgsIterations))
            FAIL("fixture " << fx.path << " is missing or stale (lbfgs_totals for " << cfg.name() << "): " << kRegenerate);
        const ProblemSpec spec = problem_spec(cfg);
        cpu::Vgg19Net<double> net(weights(), cfg.pooling, cpu::ConvAlgo::Direct);
        cpu::Objective<double> objective(net, spec.loss);
        set_double_targets(objective, spec);
        Tensor<double> x = cast<double>(spec.init.cview());
        Tensor<double> g(x.shape());
        cpu::Lbfgs<double> lbfgs(x.numel(), cpu::LbfgsOptions{spec.learning_rate, spec.lbfgs_history});
        double worst = 0;
        for (int it = 0; it < kLbfgsIterations; ++it) {
            INFO("evaluation " << it + 1);
            const LossTerms t = objective.evaluate(x.cview(), g.view());
            const double err = rel_err(t.total, number(fx, totals.at(it), cfg.name() + " lbfgs_totals"));
            worst = std::max(worst, err);
            CHECK(err <= kTolLbfgsDouble);
            REQUIRE(lbfgs.step(x.data(), g.data()));
        }
        report("reference", cfg.name() + " L-BFGS (double engine) worst of 10", worst, kTolLbfgsDouble);
    }
}
