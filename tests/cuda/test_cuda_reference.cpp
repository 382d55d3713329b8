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
        auto engine = make_cuda_engine(weights(), problem_spec(cfg), 0);
        const EvaluationErrors e = check_evaluation("cuda reference", cfg, *engine);
        MESSAGE("CUDA " << cfg.name() << " vs PyTorch float64: worst term " << e.worst_term << ", gradient "
                        << e.gradient);
    }
}

TEST_CASE("cuda reference: the first 10 L-BFGS totals match torch.optim.LBFGS") {
    for (const Config& cfg : configs()) {
        INFO(cfg.name());
        auto engine = make_cuda_engine(weights(), problem_spec(cfg), 0);
        // All 10 iterations queued at once, as the run loop does, then read back together.
        engine->advance(kLbfgsIterations);
        const std::vector<IterationRecord> records = engine->take_records();
        std::vector<double> totals;
        for (std::size_t i = 0; i < records.size(); ++i) {
            CHECK(records[i].iter == int(i) + 1);
            totals.push_back(records[i].terms.total);
        }
        const double worst = check_lbfgs_totals("cuda reference", cfg, totals);
        CHECK_FALSE(engine->converged());  // torch ran all 10 without its g.d > 1 stop
        MESSAGE("CUDA " << cfg.name() << " L-BFGS totals vs torch float64: worst of 10 " << worst);
    }
}
