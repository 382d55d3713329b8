// SPDX-License-Identifier: MIT
// The peer presets' conventions (issue #16) against tests/data/ref_peers.json, a float64
// PyTorch implementation of them (tools/ref_peers.py, written by tools/make_reference.py
// --parts peers; no peer code): jcjohnson's loss with L1 TV (neural-style-pt), with
// neural-style-pt's gradient scaling and weight normalisation, with jcjohnson's L1 gradient
// normalisation, the authors' notebook's loss with torch's L-BFGS tolerances, and (apart, under
// "pytorch_tutorial") the PyTorch tutorial's: RGB iterate clamped before every evaluation, the
// ImageNet normalisation inside the objective, pre-ReLU layers. Same inputs as
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

#include "cli/problem_options.h"
#include "engine/engine.h"
#include "engine/presets.h"
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
        test::reference::set_double_targets(objective, spec);
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

namespace {

// The tutorial case's inputs (tools/ref_peers.py TUTORIAL_IMAGES: RGB in [0, 1] from nst's RNG)
// and the problem as the preset defines it: layers, weights, tolerances, iterate space and box
// come from preset_named("pytorch-tutorial") and cli::iterate_space, so that a preset that
// drifts from the reference fails here.
Tensor<float> tutorial_image(const json& c, const char* name) {
    const json& s = c.at("images").at(name);
    const std::vector<int> d = s.at("shape").get<std::vector<int>>();
    REQUIRE(c.at("images").at("seed").get<int>() == int(test::reference::kImageSeed));
    return test::reference::make_image(test::reference::ImageSpec{name, s.at("stream").get<std::uint64_t>(),
                                                                  Shape{d[0], d[1], d[2], d[3]},
                                                                  s.at("scale").get<double>(), s.at("offset").get<double>()});
}

ProblemSpec tutorial_spec(const json& c) {
    const PresetDefaults& preset = preset_named("pytorch-tutorial");
    ProblemSpec p;
    p.content = tutorial_image(c, "content");
    p.styles.push_back(tutorial_image(c, "style"));
    p.style_blend = {1.0};
    p.init = p.content.clone();  // "init": "content"
    REQUIRE(c.at("init") == "content");
    p.loss.preset = preset.preset;
    p.loss.content_layers = parse_layer_list(preset.content_layers, "--content-layers");
    p.loss.style_layers = parse_layer_list(preset.style_layers, "--style-layers");
    p.loss.style_layer_weights.assign(p.loss.style_layers.size(), 1.0);
    p.loss.content_weight = preset.content_weight;
    p.loss.style_weight = preset.style_weight;
    p.loss.tv_weight = preset.tv_weight;
    p.pooling = preset.pooling;
    p.lbfgs_tol_grad = preset.tol_grad;
    p.lbfgs_tol_change = preset.tol_change;
    Preprocessor pre;
    pre.kind = PreprocessKind::Torchvision;
    p.iterate = cli::iterate_space(preset, pre);
    return p;
}

}  // namespace

TEST_CASE("peer reference: the pytorch-tutorial preset is the reference's problem") {
    const json& c = peers_fixture().at("pytorch_tutorial");
    const PresetDefaults& preset = preset_named("pytorch-tutorial");
    CHECK(c.at("content_layers") == json(std::vector<std::string>{preset.content_layers}));
    std::vector<std::string> style_names;
    for (int l : parse_layer_list(preset.style_layers, "--style-layers")) style_names.push_back(vgg19_layers()[l].name);
    CHECK(c.at("style_layers") == json(style_names));
    CHECK(c.at("content_weight").get<double>() == preset.content_weight);
    CHECK(c.at("style_weight").get<double>() == preset.style_weight);
    CHECK(c.at("tv_weight").get<double>() == preset.tv_weight);
    CHECK(c.at("tol_grad").get<double>() == preset.tol_grad);
    CHECK(c.at("tol_change").get<double>() == preset.tol_change);
    CHECK(preset.pooling == Pooling::Max);
    CHECK(preset.preset == Preset::JcJohnson);  // Gram / (C H W) and both terms as means: jcjohnson's scales
    CHECK(preset.image_space);
    CHECK(preset.clamp_iterate);
    CHECK(preset.size_rule == SizeRule::Short);
    CHECK(preset.output_rounding == OutputRounding::Truncate);
    CHECK(preset.expected_preprocess == PreprocessKind::Torchvision);
    const ProblemSpec spec = tutorial_spec(c);
    const std::vector<double> box = c.at("clamp").get<std::vector<double>>();
    for (int ch = 0; ch < 3; ++ch) {
        CHECK(spec.iterate.box.lo[ch] == box[0]);
        CHECK(spec.iterate.box.hi[ch] == box[1]);
        CHECK(spec.iterate.map.src[ch] == ch);
        CHECK(spec.iterate.map.a[ch] == doctest::Approx(1.0 / c.at("std")[ch].get<double>()).epsilon(1e-15));
    }
}

TEST_CASE("peer reference: the tutorial's conventions in double follow torch.optim.LBFGS in float64") {
    const json& c = peers_fixture().at("pytorch_tutorial");
    const ProblemSpec spec = tutorial_spec(c);
    const std::vector<double> mean = c.at("mean").get<std::vector<double>>(), sd = c.at("std").get<std::vector<double>>();
    cpu::Vgg19Net<double> net(test::reference::weights(), spec.pooling, cpu::ConvAlgo::Direct);
    cpu::Objective<double> objective(net, spec.loss);
    // The reference's network input (x - mean) / std, in double.
    const auto normalise = [&](const Tensor<double>& x) {
        Tensor<double> out(x.shape());
        const std::size_t plane = x.shape().plane();
        for (int ch = 0; ch < 3; ++ch)
            for (std::size_t i = 0; i < plane; ++i) out[ch * plane + i] = (x[ch * plane + i] - mean[ch]) / sd[ch];
        return out;
    };
    objective.set_content(normalise(cast<double>(spec.content.cview())).cview());
    objective.set_styles({normalise(cast<double>(spec.styles[0].cview())).cview()}, spec.style_blend);
    Tensor<double> x = cast<double>(spec.init.cview());
    Tensor<double> g(x.shape()), gn(x.shape());
    cpu::Lbfgs<double> lbfgs(x.numel(), cpu::LbfgsOptions{1.0, 100, HistoryPrecision::Fp32, spec.lbfgs_tol_grad,
                                                         spec.lbfgs_tol_change});
    const std::vector<double> totals = c.at("lbfgs_totals").get<std::vector<double>>();
    const std::vector<int> clamped = c.at("lbfgs_clamped").get<std::vector<int>>();
    const std::vector<double> sums = c.at("lbfgs_x_sums").get<std::vector<double>>();
    REQUIRE(totals.size() == std::size_t(c.at("iterations").get<int>()));
    double worst = 0;
    int compared = 0;
    for (std::size_t it = 0; it < totals.size(); ++it) {
        INFO("evaluation " << it + 1);
        // The closure: clamp x in place (count what changed), evaluate at norm(x), pull the
        // gradient back (d/dx = d/dnorm / std).
        int changed = 0;
        for (double& v : x) {
            const double k = std::min(1.0, std::max(0.0, v));
            changed += k != v;
            v = k;
        }
        CHECK(changed == clamped[it]);
        double sum = 0;
        for (double v : x) sum += v;
        CHECK(rel(sum, sums[it]) <= 1e-12);
        const LossTerms t = objective.evaluate(normalise(x).cview(), gn.view());
        const std::size_t plane = x.shape().plane();
        for (int ch = 0; ch < 3; ++ch)
            for (std::size_t i = 0; i < plane; ++i) g[ch * plane + i] = gn[ch * plane + i] / sd[ch];
        const double err = rel(t.total, totals[it]);
        worst = std::max(worst, err);
        CHECK(err <= 1e-10);
        ++compared;
        if (!lbfgs.step(x.data(), g.data(), t.total)) break;
    }
    MESSAGE("pytorch-tutorial: " << compared << " L-BFGS totals (double), worst rel " << worst);
    CHECK(compared == int(totals.size()));
}

TEST_CASE("peer reference: the float engine with the tutorial preset's space and box stays within 1e-6") {
    const json& c = peers_fixture().at("pytorch_tutorial");
    // The engine as nst run builds it: image-space iterate, map and clamp inside the engine.
    VggWeights weights = random_weights(test::reference::kWeightsSeed);  // --weights random:0, marked torchvision
    weights.preprocess = PreprocessKind::Torchvision;
    std::unique_ptr<Engine> e = make_cpu_engine(weights, tutorial_spec(c));
    const std::vector<double> totals = c.at("lbfgs_totals").get<std::vector<double>>();
    // Evaluation 1 is at the content image (content term 0); from evaluation 2 on the clamp acts.
    // The first two within 1e-6 (the criterion); 3 and 4 only within float32's drift,
    // which L-BFGS without a line search amplifies (torch's own float32 run of this case is 2.6e-8,
    // 1.6e-7, then grows to 4.8e-3 by evaluation 20).
    std::vector<double> errs;
    for (int it = 0; it < 4; ++it) errs.push_back(rel(e->iterate().total, totals[std::size_t(it)]));
    MESSAGE("pytorch-tutorial: float engine totals 1-4 rel " << errs[0] << ", " << errs[1] << ", " << errs[2] << ", "
                                                              << errs[3]);
    CHECK(errs[0] <= 1e-6);
    CHECK(errs[1] <= 1e-6);
    CHECK(errs[2] <= 1e-4);
    CHECK(errs[3] <= 1e-4);
}
