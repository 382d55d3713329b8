// SPDX-License-Identifier: MIT
// The perceptual controls of the CUDA backend against PyTorch float64: the fixture of
// tests/controls_fixture.h (tools/make_reference.py --parts guided: content regions, style
// masks, layer sets, simple / inside / all propagation and grow), evaluated by the CUDA engine at
// the fixture's point with the tolerances of the CPU test (tests/test_controls_reference.cpp):
// terms and total <= 1e-5, gradient rel_l2 <= 1e-4. Every configuration with our Gram kernel, the
// first (regions, a style mask, layer sets) with the cuBLAS SSYRK and SGEMM paths too.
// Set NST_REFERENCE_REPORT=1 to print every measured error.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "controls_fixture.h"
#include "cuda_test_util.h"
#include "test_util.h"

using namespace nst;
using namespace nst::test::reference;

TEST_CASE("cuda controls reference: terms and gradient of the CUDA engine match PyTorch") {
    const GuidedFixture& fx = guided_fixture();
    const std::vector<GuidedConfig>& configs = guided_configs();
    for (std::size_t i = 0; i < configs.size(); ++i)
        for (GramImpl impl : {GramImpl::Own, GramImpl::CublasSyrk, GramImpl::CublasGemm}) {
            if (i > 0 && impl != GramImpl::Own) continue;
            const GuidedConfig& cfg = configs[i];
            const std::string what = cfg.name + " gram " + gram_impl_name(impl);
            CAPTURE(what);
            if (!fx.results.contains(cfg.name)) FAIL("fixture " << fx.path << " has no results for " << cfg.name);
            const json& r = fx.results.at(cfg.name);
            ProblemSpec spec = guided_spec(cfg);
            spec.cuda.gram_impl = impl;
            const Tensor<float> x = spec.init.clone();
            std::unique_ptr<Engine> engine = make_cuda_engine(weights(), std::move(spec), 0);
            Tensor<float> grad(x.shape());
            const LossTerms t = engine->evaluate(x.cview(), grad.view());
            const double worst = worst_term_error(t, r);
            report("cuda controls", what + " terms", worst, kTolLoss);
            CHECK(worst <= kTolLoss);
            const SafetensorsTensor& ref_grad = fx.tensor("grad." + cfg.name, grad.numel());
            const double gerr = test::rel_l2(grad.data(), ref_grad.data.data(), grad.numel());
            report("cuda controls", what + " gradient", gerr, kTolGradient);
            CHECK(gerr <= kTolGradient);
        }
}
