// SPDX-License-Identifier: MIT
// The peer presets' conventions (issue #16) against tests/data/ref_peers.json, a float64
// PyTorch implementation of them (tools/ref_peers.py, written by tools/make_reference.py
// --parts peers; no peer code): jcjohnson's loss with L1 TV (neural-style-pt), with
// neural-style-pt's gradient scaling and weight normalisation, with jcjohnson's L1 gradient
// normalisation, and the authors' notebook's loss with torch's L-BFGS tolerances. Same inputs as
// tests/test_reference.cpp (nst's RNG, --weights random:0, 33x37 content, 41x35 style, the small
// start image).
//  - The objective and L-BFGS in double follow torch's float64 L-BFGS: every total <= 1e-10
//    relative until the trajectory turns chaotic (a total more than doubling: L-BFGS without a
//    line search overshooting across the L1 kinks), after which summation-order differences are
//    amplified without bound; the totals compared are printed.
//  - The float engine (nst run's CpuEngine): the first two totals <= 1e-6 relative.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/engine.h"
#include "loss/objective.h"
#include "optim/lbfgs.h"
#include "reference_fixture.h"

using namespace nst;
using nlohmann::json;

namespace {

const json& peers_fixture() {
    static const json j = [] {
        const std::string path = std::string(NST_SOURCE_DIR) + "/tests/data/ref_peers.json";
        std::ifstream in(path);
        if (!in) FAIL("missing " << path << ": regenerate with 'python3 tools/make_reference.py --parts peers'");
        return json::parse(in);
    }();
    return j;
}

ProblemSpec peer_spec(const json& c) {
    test::reference::Config base{};
    base.preset = c.at("loss") == "gatys-notebook" ? Preset::GatysNotebook : Preset::JcJohnson;
    base.pooling = Pooling::Max;
    base.content_weight = c.at("content_weight");
    base.style_weight = c.at("style_weight");
    base.tv_weight = c.at("tv_weight");
    base.style_layer_weights = c.at("style_layer_weights").get<std::vector<double>>();
    ProblemSpec p = test::reference::problem_spec(base);
    p.loss.tv_form = parse_tv_form(c.at("tv_form"));
    p.loss.grad_norm = parse_grad_norm(c.at("grad_norm"));
    if (c.at("normalize_weights").get<bool>()) {
        // neural-style-pt's normalize_weights, as nst's CLI applies it (cli/problem_options.cpp).
        const Shape cs = p.content.shape();
        int lh = 0, lw = 0;
        layer_output_size(p.loss.content_layers[0], cs.h, cs.w, lh, lw);
        p.loss.content_weight /= std::max({double(vgg19_layers()[p.loss.content_layers[0]].channels), double(lh), double(lw)});
        for (std::size_t j = 0; j < p.loss.style_layers.size(); ++j)
            p.loss.style_layer_weights[j] /= vgg19_layers()[p.loss.style_layers[j]].channels;
    }
    p.lbfgs_tol_grad = c.at("tol_grad");
    p.lbfgs_tol_change = c.at("tol_change");
    return p;
}

double rel(double a, double b) { return std::fabs(a - b) / std::max(std::fabs(b), 1e-300); }

}  // namespace

TEST_CASE("peer reference: conventions in double follow torch.optim.LBFGS in float64") {
    const json& fx = peers_fixture();
    REQUIRE(fx.at("iterations") == 10);
    for (const json& c : fx.at("configs")) {
        const std::string name = c.at("name");
        INFO(name);
        const ProblemSpec spec = peer_spec(c);
        cpu::Vgg19Net<double> net(test::reference::weights(), Pooling::Max, cpu::ConvAlgo::Direct);
        cpu::Objective<double> objective(net, spec.loss);
        const Tensor<double> content = cast<double>(spec.content.cview());
        const Tensor<double> style = cast<double>(spec.styles[0].cview());
        objective.set_content(content.cview());
        objective.set_styles({style.cview()}, spec.style_blend);
        Tensor<double> x = cast<double>(spec.init.cview());
        Tensor<double> g(x.shape());
        cpu::Lbfgs<double> lbfgs(x.numel(), cpu::LbfgsOptions{1.0, 100, HistoryPrecision::Fp32, spec.lbfgs_tol_grad,
                                                             spec.lbfgs_tol_change});
        const std::vector<double> totals = c.at("lbfgs_totals").get<std::vector<double>>();
        // The terms at the start, each.
        const LossTerms t0 = objective.evaluate(x.cview(), TensorView<double>{});
        CHECK(rel(t0.content_sum(), c.at("terms").at("content")[0].get<double>()) <= 1e-12);
        for (std::size_t j = 0; j < t0.style.size(); ++j)
            CHECK(rel(t0.style[j], c.at("terms").at("style")[j].get<double>()) <= 1e-12);
        CHECK(rel(t0.tv, c.at("terms").at("tv").get<double>()) <= (t0.tv == 0 ? 0.0 : 1e-12));
        double worst = 0;
        int compared = 0;
        for (std::size_t it = 0; it < totals.size(); ++it) {
            if (it > 0 && totals[it] > 2 * totals[it - 1]) break;  // chaotic from here (see above)
            INFO("evaluation " << it + 1);
            const LossTerms t = objective.evaluate(x.cview(), g.view());
            const double err = rel(t.total, totals[it]);
            worst = std::max(worst, err);
            CHECK(err <= 1e-10);
            ++compared;
            if (!lbfgs.step(x.data(), g.data(), t.total)) break;
        }
        MESSAGE(name << ": " << compared << " L-BFGS totals (double engine), worst rel " << worst);
        CHECK(compared >= 5);
    }
}

TEST_CASE("peer reference: the float engine's first two totals within 1e-6") {
    for (const json& c : peers_fixture().at("configs")) {
        const std::string name = c.at("name");
        INFO(name);
        std::unique_ptr<Engine> e = make_cpu_engine(test::reference::weights(), peer_spec(c));
        const std::vector<double> totals = c.at("lbfgs_totals").get<std::vector<double>>();
        const double e1 = rel(e->iterate().total, totals[0]);
        const double e2 = rel(e->iterate().total, totals[1]);
        MESSAGE(name << ": float engine totals 1 and 2 rel " << e1 << ", " << e2);
        CHECK(e1 <= 1e-6);
        CHECK(e2 <= 1e-6);
    }
}
