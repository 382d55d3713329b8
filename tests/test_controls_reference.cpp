// SPDX-License-Identifier: MIT
// The spatial and scale controls against PyTorch (float64): tests/data/ref_guided.safetensors,
// written by `tools/make_reference.py --parts guided` from the definitions (mask propagation by
// torch pooling operators, guided Grams, per-region style terms, style masks, layer sets,
// gradient by autograd). Inputs are regenerated here from nst's RNG and integer mask formulas;
// the fixture holds only PyTorch's outputs.
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

#include "loss/guides.h"
#include "loss/losses.h"
#include "reference_fixture.h"
#include "test_util.h"

using namespace nst;
using namespace nst::test::reference;

namespace {

// --- the generator's settings (GUIDED_SETTINGS in tools/make_reference.py) ---------------------

const ImageSpec kGContent{"content", 1010, Shape{1, 3, 24, 28}, 256.0, -128.0};
const ImageSpec kGStyle1{"style1", 1011, Shape{1, 3, 26, 22}, 256.0, -64.0};
const ImageSpec kGStyle2{"style2", 1012, Shape{1, 3, 20, 30}, 256.0, -96.0};
const ImageSpec kGPoint{"point", 1013, Shape{1, 3, 24, 28}, 128.0, -64.0};

// clamp((a*i + b*j - c) / d, 0, 1), or 1 minus that: every value k/d, exact in float.
struct MaskSpec {
    const char* name;
    int h, w, a, b, c, d;
    bool invert;
};
const std::vector<MaskSpec> kMasks = {
    {"region1", 24, 28, 2, 3, 50, 8, true},
    {"region2", 24, 28, 2, 3, 50, 8, false},
    {"style1", 26, 22, 0, 4, 10, 16, false},
    {"style2", 20, 30, 4, 1, 10, 32, false},
};
const std::vector<std::string> kGStyleLayers = {"relu1_1", "relu2_1", "relu3_1"};
const std::vector<std::string> kGContentLayers = {"relu2_2"};
const std::vector<std::string> kGramLayers = {"relu1_1", "relu2_1"};
const std::vector<std::string> kGuideMasks = {"region1", "region2", "style2"};
const std::vector<std::pair<std::string, int>> kGuideModes = {
    {"simple", 0}, {"inside", 0}, {"all", 0}, {"simple", 2}, {"inside", -1}};

struct GuidedConfig {
    std::string name;
    Preset preset;
    Pooling pooling;
    std::string mode;
    int grow;
    std::vector<std::string> content_masks;             // empty: none
    std::vector<std::string> style_masks;               // "" = whole image; empty: none
    std::vector<std::vector<std::string>> layer_sets;   // empty: none
    std::vector<double> blend;
    double content_weight, style_weight, tv_weight;
    std::vector<double> style_layer_weights;
};
const std::vector<GuidedConfig>& guided_configs() {
    static const std::vector<GuidedConfig> c = {
        {"regions_simple", Preset::JcJohnson, Pooling::Avg, "simple", 0, {"region1", "region2"}, {"", "style2"},
         {{"relu1_1", "relu2_1"}, {"relu2_1", "relu3_1"}}, {1.0, 3.0}, 5.0, 100.0, 1e-4, {1.0, 5.0, 600.0}},
        {"regions_inside", Preset::Gatys, Pooling::Max, "inside", 0, {"region1", "region2"}, {"style1", "style2"},
         {}, {1.0, 1.0}, 1.0, 1e3, 0.0, {1.0, 0.3, 1.0}},
        {"blended_all_grow", Preset::JcJohnson, Pooling::Avg, "all", 1, {}, {"style1", ""},
         {{"relu1_1", "relu2_1", "relu3_1"}, {"relu3_1"}}, {2.0, 1.0}, 5.0, 100.0, 1e-4, {0.5, 8.0, 1000.0}},
    };
    return c;
}

json expected_guided_settings() {
    auto image = [](const ImageSpec& s) {
        return json{{"stream", s.stream}, {"shape", {s.shape.n, s.shape.c, s.shape.h, s.shape.w}},
                    {"scale", s.scale}, {"offset", s.offset}};
    };
    json masks = json::object();
    for (const MaskSpec& m : kMasks)
        masks[m.name] = {{"shape", {m.h, m.w}}, {"a", m.a}, {"b", m.b}, {"c", m.c}, {"d", m.d}, {"invert", m.invert}};
    json modes = json::array();
    for (const auto& [mode, grow] : kGuideModes) modes.push_back({mode, grow});
    json cfgs = json::array();
    for (const GuidedConfig& c : guided_configs()) {
        json sm = nullptr, sets = nullptr, cm = nullptr;
        if (!c.content_masks.empty()) cm = c.content_masks;
        if (!c.style_masks.empty()) {
            sm = json::array();
            for (const auto& s : c.style_masks) sm.push_back(s.empty() ? json(nullptr) : json(s));
        }
        if (!c.layer_sets.empty()) sets = c.layer_sets;
        cfgs.push_back({{"name", c.name}, {"preset", preset_name(c.preset)}, {"pooling", pooling_name(c.pooling)},
                        {"mode", c.mode}, {"grow", c.grow}, {"content_masks", cm}, {"style_masks", sm},
                        {"layer_sets", sets}, {"blend", c.blend}, {"content_weight", c.content_weight},
                        {"style_weight", c.style_weight}, {"tv_weight", c.tv_weight},
                        {"style_layer_weights", c.style_layer_weights}});
    }
    return json{
        {"weights", {{"random_seed", kWeightsSeed}}},
        {"images",
         {{"seed", kImageSeed}, {"content", image(kGContent)}, {"style1", image(kGStyle1)},
          {"style2", image(kGStyle2)}, {"point", image(kGPoint)}}},
        {"masks", masks},
        {"content_layers", kGContentLayers},
        {"style_layers", kGStyleLayers},
        {"grams",
         {{"image", "point"}, {"config", "regions_simple"}, {"layers", kGramLayers},
          {"stored", "upper triangle, row-major, of (F o T_k)(F o T_k)^T / (C M), T_k the normalised guide of region k"}}},
        {"guides",
         {{"masks", kGuideMasks}, {"layers", kGStyleLayers}, {"modes", modes},
          {"stored", "unnormalised layer guide of the mask (pixel size of its image)"}}},
        {"configs", cfgs},
    };
}

// --- loading -------------------------------------------------------------------------------------

struct GuidedFixture {
    SafetensorsFile file;
    json results;
    const std::string path = "tests/data/ref_guided.safetensors";
    const SafetensorsTensor& tensor(const std::string& name, std::size_t numel) const {
        const SafetensorsTensor* t = file.find(name);
        if (!t || t->data.size() != numel)
            FAIL("fixture " << path << " is missing or stale (tensor '" << name << "'): " << kRegenerate);
        return *t;
    }
};

const GuidedFixture& guided_fixture() {
    static const GuidedFixture fx = [] {
        GuidedFixture f;
        const std::string stale = "fixture tests/data/ref_guided.safetensors is missing or stale";
        try {
            f.file = read_safetensors(std::string(NST_TEST_DATA) + "/ref_guided.safetensors");
        } catch (const std::exception& e) {
            FAIL(stale << " (" << std::string(e.what()) << "): " << kRegenerate);
        }
        auto get = [&](const char* key) {
            const auto it = f.file.metadata.find(key);
            if (it == f.file.metadata.end()) FAIL(stale << " (no metadata " << std::string(key) << "): " << kRegenerate);
            return it->second;
        };
        if (get("nst.magic") != kMagic || get("nst.version") != std::to_string(kFormatVersion) ||
            get("nst.part") != "guided")
            FAIL(stale << " (magic, version or part): " << kRegenerate);
        const json settings = json::parse(get("nst.settings"));
        const json expected = expected_guided_settings();
        if (settings != expected)
            FAIL(stale << " (settings differ; JSON patch from the test's to the fixture's: "
                       << json::diff(expected, settings).dump() << "): " << kRegenerate);
        f.results = json::parse(get("nst.results"));
        return f;
    }();
    return fx;
}

Tensor<float> make_mask(const std::string& name) {
    for (const MaskSpec& m : kMasks) {
        if (name != m.name) continue;
        Tensor<float> t(Shape{1, 1, m.h, m.w});
        for (int i = 0; i < m.h; ++i)
            for (int j = 0; j < m.w; ++j) {
                const double v = std::min(1.0, std::max(0.0, double(m.a * i + m.b * j - m.c) / m.d));
                t.view().at(0, 0, i, j) = float(m.invert ? 1.0 - v : v);
            }
        return t;
    }
    FAIL("unknown mask " << name);
    return {};
}

ProblemSpec guided_spec(const GuidedConfig& c) {
    ProblemSpec p;
    p.content = make_image(kGContent);
    p.styles.push_back(make_image(kGStyle1));
    p.styles.push_back(make_image(kGStyle2));
    p.style_blend = c.blend;
    for (const auto& m : c.content_masks) p.content_masks.push_back(make_mask(m));
    for (const auto& m : c.style_masks) p.style_masks.push_back(m.empty() ? Tensor<float>() : make_mask(m));
    p.init = make_image(kGPoint);
    p.loss.preset = c.preset;
    p.loss.content_layers = layer_indices(kGContentLayers);
    p.loss.style_layers = layer_indices(kGStyleLayers);
    p.loss.style_layer_weights = c.style_layer_weights;
    for (const auto& set : c.layer_sets) p.loss.style_layer_sets.push_back(layer_indices(set));
    p.loss.guides = {parse_guide_propagation(c.mode), c.grow};
    p.loss.content_weight = c.content_weight;
    p.loss.style_weight = c.style_weight;
    p.loss.tv_weight = c.tv_weight;
    p.pooling = c.pooling;
    p.lbfgs_history = 1;
    return p;
}

}  // namespace

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
            double worst = 0;
            for (std::size_t j = 0; j < kGStyleLayers.size(); ++j)
                worst = std::max(worst, rel_err(t.style[j], r.at("style").at(kGStyleLayers[j]).get<double>()));
            worst = std::max(worst, rel_err(t.content[0], r.at("content").at(kGContentLayers[0]).get<double>()));
            if (t.tv != 0 || r.at("tv").get<double>() != 0) worst = std::max(worst, rel_err(t.tv, r.at("tv").get<double>()));
            worst = std::max(worst, rel_err(t.total, r.at("total").get<double>()));
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
