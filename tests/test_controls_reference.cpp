// SPDX-License-Identifier: MIT
// The spatial and scale controls against PyTorch (float64): tests/data/ref_guided.safetensors,
// written by `tools/make_reference.py --parts guided` from the definitions (mask propagation by
// torch pooling operators, guided Grams, per-region style terms, style masks, layer sets,
// gradient by autograd). Inputs are regenerated here from nst's RNG and integer mask formulas;
// the fixture holds only PyTorch's outputs. Settings, loader and problems: tests/controls_fixture.h
// (shared with the CUDA test, tests/cuda/test_cuda_controls_reference.cpp).
//
// Compared: layer guides of three masks in five (mode, grow) settings (exact up to the float32
// storage); guided Grams of two regions at relu1_1 and relu2_1 (rel_l2 <= 1e-5, the Gram
// tolerance of test_reference.cpp); terms (<= 1e-5) and gradient (rel_l2 <= 1e-4) of three
// configurations through the production CPU engine (float32, Winograd); the terms through
// Objective<double> (<= 1e-10).
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "controls_fixture.h"
#include "loss/guides.h"
#include "loss/losses.h"
#include "reference_fixture.h"
#include "test_util.h"

using namespace nst;
using namespace nst::test::reference;

TEST_CASE("controls reference: layer guides match the PyTorch propagation") {
    const GuidedFixture& fx = guided_fixture();
    for (const std::string& name : kGuideMasks) {
        const Tensor<float> mask = make_mask(name);
        for (const std::string& layer : kGStyleLayers)
            for (const auto& [mode, grow] : kGuideModes) {
                const std::string key = "guide." + name + "." + layer + "." + mode + "." + std::to_string(grow);
                CAPTURE(key);
                const Tensor<double> g = propagate_guide(mask.cview(), layer_index(layer), {parse_guide_propagation(mode), grow});
                const SafetensorsTensor& ref = fx.tensor(key, g.numel());
                double worst = 0;
                for (std::size_t i = 0; i < g.numel(); ++i) worst = std::max(worst, std::fabs(g[i] - double(ref.data[i])));
                CHECK(worst <= 6e-8);  // float32 storage of values in [0, 1]
            }
    }
}

TEST_CASE("controls reference: guided Grams of two regions match PyTorch") {
    const GuidedFixture& fx = guided_fixture();
    const GuidedConfig& cfg = guided_configs()[0];
    cpu::Vgg19Net<float> net(weights(), cfg.pooling);
    net.set_taps(layer_indices(kGramLayers));
    const Tensor<float> x = make_image(kGPoint);
    net.forward(x.cview());
    for (const std::string& layer : kGramLayers) {
        const ConstView<float> f = net.output(layer_index(layer));
        const int c = f.shape.c;
        for (std::size_t k = 0; k < cfg.content_masks.size(); ++k) {
            CAPTURE(layer);
            CAPTURE(k);
            Tensor<double> guide = propagate_guide(make_mask(cfg.content_masks[k]).cview(), layer_index(layer), {});
            REQUIRE(normalize_guide(guide));
            const Tensor<float> t = cast<float, double>(guide.cview());
            Tensor<float> g(Shape{1, 1, c, c}), ft(f.shape);
            cpu::guided_gram(g.view(), f, t.cview(), 1.0 / (double(c) * double(f.shape.plane())), ft.view());
            const SafetensorsTensor& ref = fx.tensor("gram." + layer + ".region" + std::to_string(k + 1),
                                                     std::size_t(c) * (c + 1) / 2);
            std::vector<float> upper;
            for (int i = 0; i < c; ++i)
                for (int j = i; j < c; ++j) upper.push_back(g[std::size_t(i) * c + j]);
            const double err = test::rel_l2(upper.data(), ref.data.data(), upper.size());
            report("controls", "guided Gram " + layer + " region " + std::to_string(k + 1), err, kTolGram);
            CHECK(err <= kTolGram);
        }
    }
}

TEST_CASE("controls reference: terms and gradient of the CPU engine match PyTorch") {
    const GuidedFixture& fx = guided_fixture();
    for (const GuidedConfig& cfg : guided_configs()) {
        CAPTURE(cfg.name);
        if (!fx.results.contains(cfg.name)) FAIL("fixture " << fx.path << " has no results for " << cfg.name);
        const json& r = fx.results.at(cfg.name);
        auto check_terms = [&](const LossTerms& t, double tol, const std::string& what) {
            const double worst = worst_term_error(t, r);
            report("controls", cfg.name + " terms (" + what + ")", worst, tol);
            CHECK(worst <= tol);
        };
        // The production path: the CPU engine (Vgg19Net<float> with Winograd, Objective<float>).
        ProblemSpec spec = guided_spec(cfg);
        const Tensor<float> x = spec.init.clone();
        std::unique_ptr<Engine> engine = make_cpu_engine(weights(), std::move(spec));
        Tensor<float> grad(x.shape());
        const LossTerms t = engine->evaluate(x.cview(), grad.view());
        check_terms(t, kTolLoss, "float");
        const SafetensorsTensor& ref_grad = fx.tensor("grad." + cfg.name, grad.numel());
        const double gerr = test::rel_l2(grad.data(), ref_grad.data.data(), grad.numel());
        report("controls", cfg.name + " gradient", gerr, kTolGradient);
        CHECK(gerr <= kTolGradient);

        // In double the objective must agree with PyTorch's float64 to rounding.
        const ProblemSpec sd = guided_spec(cfg);
        cpu::Vgg19Net<double> netd(weights(), cfg.pooling, cpu::ConvAlgo::Direct);
        cpu::Objective<double> objd(netd, sd.loss);
        objd.set_content(cast<double, float>(sd.content.cview()));
        std::vector<Tensor<double>> styles;
        std::vector<ConstView<double>> style_views;
        std::vector<ConstView<float>> smasks, cmasks;
        for (const auto& s : sd.styles) styles.push_back(cast<double, float>(s.cview()));
        for (const auto& s : styles) style_views.push_back(s.cview());
        for (const auto& m : sd.style_masks) smasks.push_back(m.cview());
        for (const auto& m : sd.content_masks) cmasks.push_back(m.cview());
        objd.set_styles(style_views, sd.style_blend, smasks);
        objd.set_content_masks(cmasks);
        Tensor<double> gd(x.shape());
        check_terms(objd.evaluate(cast<double, float>(x.cview()), gd.view()), 1e-10, "double");
        const double gderr = test::rel_l2(gd.data(), ref_grad.data.data(), gd.numel());
        report("controls", cfg.name + " gradient (double)", gderr, 1e-6);
        CHECK(gderr <= 1e-6);  // the fixture's float32 rounding
    }
}
