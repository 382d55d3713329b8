// SPDX-License-Identifier: MIT
// `nst train --method adain --backend cuda`'s step (cuda/adain_train_step_cuda.h) against the
// CPU step (engine/adain_train_step.h, itself held to PyTorch by test_adain_train_reference.cpp)
// on the PyTorch fixture's problem (tests/data/ref_adain_train.safetensors: random encoder and
// decoder from the seed, batch 2 of 32 x 32 content and style images), both conventions:
//   loss terms rel 1e-5 (float on both sides, different summation orders), and also against the
//   fixture's float64 terms rel 2e-5;
//   the decoder gradient per parameter tensor rel L2 <= 5e-3 (measured under emulation <= 2.0e-3:
//   the problem is ill-conditioned in float, PyTorch's own float32 departs from its float64 by
//   2.9e-3, see test_adain_train_reference.cpp);
//   two Adam steps with decay 0.5: each tensor's change rel L2 <= 0.15 (measured <= 0.099: Adam's
//   first steps are nearly lr sign(g), so elements with a gradient near zero differ by up to
//   2 lr; the decay itself is held to PyTorch on the CPU).
#include <doctest/doctest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cuda/adain_train_step_cuda.h"
#include "engine/adain_train_step.h"
#include "nn/adain_net.h"
#include "nn/net_model.h"
#include "nn/safetensors.h"
#include "adain_train_fixture.h"
#include "test_util.h"

using namespace nst;
using nst::test::rel_l2;
using namespace nst::test::adain_train;

namespace {

double rel(double a, double b) { return std::fabs(a - b) / std::max(std::fabs(b), 1e-300); }

}  // namespace

TEST_CASE("cuda adain train: the step equals the CPU step and PyTorch's terms") {
    const NetModel enc = encoder();
    const nlohmann::json reference = results();
    for (AdainLossConvention conv : {AdainLossConvention::Port, AdainLossConvention::Official}) {
        const std::string name = adain_loss_convention_name(conv);
        CAPTURE(name);
        const TrainConfig c = config(conv);
        auto cpu_step = make_adain_train_step(c, enc);
        auto gpu_step = cuda::make_cuda_adain_train_step(c, enc, 0);
        const LossTerms a = cpu_step->evaluate(batch()), b = gpu_step->evaluate(batch());
        CHECK(rel(b.total, a.total) <= 1e-5);
        CHECK(rel(b.content_sum(), a.content_sum()) <= 1e-5);
        for (std::size_t k = 0; k < 4; ++k) CHECK(rel(b.style[k], a.style[k]) <= 1e-5);
        CHECK(rel(b.total, reference.at(name).at("total").get<double>()) <= 2e-5);
        const std::vector<float> ga = cpu_step->gradient(), gb = gpu_step->gradient();
        for (const ParamInfo& p : param_layout(c.desc)) {
            CAPTURE(p.name);
            CHECK(rel_l2(gb.data() + p.offset, ga.data() + p.offset, p.shape.numel()) <= 5e-3);
        }
        if (conv != AdainLossConvention::Port) continue;
        const std::vector<float> start = cpu_step->params();
        CHECK(gpu_step->params() == start);
        for (long long i = 0; i < 2; ++i) {
            if (i > 0) {
                cpu_step->evaluate(batch());
                gpu_step->evaluate(batch());
            }
            cpu_step->update(train_learning_rate(c, i));
            gpu_step->update(train_learning_rate(c, i));
        }
        const std::vector<float> pa = cpu_step->params(), pb = gpu_step->params();
        std::vector<float> da(pa.size()), db(pb.size());
        for (std::size_t i = 0; i < pa.size(); ++i) {
            da[i] = pa[i] - start[i];
            db[i] = pb[i] - start[i];
        }
        for (const ParamInfo& p : param_layout(c.desc)) {
            CAPTURE(p.name);
            CHECK(rel_l2(db.data() + p.offset, da.data() + p.offset, p.shape.numel()) <= 0.15);
        }
    }
}
