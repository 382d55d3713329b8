// SPDX-License-Identifier: MIT
// The PyTorch reference fixtures (tests/data/ref_*.safetensors, written by
// tools/make_reference.py): the generator settings the tests expect, loading with magic, version
// and settings checks, and the inputs regenerated from nst's RNG. Header-only so that the CPU
// suite (test_reference.cpp) and the CUDA suite use one definition of the fixtures.
//
// The settings below mirror SETTINGS in tools/make_reference.py. Any difference between them
// and a fixture's nst.settings means the fixture was made for another problem: the test fails
// and says how to regenerate, rather than comparing against the wrong numbers.
#pragma once
#include <doctest/doctest.h>

#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/rng.h"
#include "core/tensor.h"
#include "engine/engine.h"
#include "loss/conventions.h"
#include "loss/objective.h"
#include "nn/safetensors.h"
#include "nn/vgg19_layers.h"
#include "nn/weights.h"
#include "test_util.h"

namespace nst::test::reference {

using nlohmann::json;

// std::string rather than const char*: doctest's message streams print a char pointer as an
// address (unless DOCTEST_CONFIG_TREAT_CHAR_STAR_AS_STRING), and these go into FAIL messages.
inline const std::string kMagic = "nst-reference";
constexpr int kFormatVersion = 1;
inline const std::string kRegenerate = "regenerate with 'python3 tools/make_reference.py' (Debian python3-torch)";

// --- the generator's settings ------------------------------------------------------------------

constexpr std::uint64_t kWeightsSeed = 0;  // random_weights(kWeightsSeed), as --weights random:0
constexpr std::uint64_t kImageSeed = 0;

// x[j] = float(scale * rng::uniform(kImageSeed, stream, j) + offset), j the flat NCHW index.
// scale is a power of two, so scale * u is exact and the sum is a single rounding whether or not
// the compiler fuses it into an FMA (Python computes it unfused).
struct ImageSpec {
    const char* name;
    std::uint64_t stream;
    Shape shape;
    double scale, offset;
};
inline const ImageSpec kContent{"content", 1000, Shape{1, 3, 33, 37}, 256.0, -128.0};
inline const ImageSpec kStyle{"style", 1001, Shape{1, 3, 41, 35}, 256.0, -64.0};
// Where activations, Grams, loss terms and the gradient are evaluated.
inline const ImageSpec kPoint{"point", 1002, Shape{1, 3, 33, 37}, 128.0, -64.0};
// Where L-BFGS starts: small, so that the trajectory is not chaotic in float32 (see
// tools/make_reference.py).
inline const ImageSpec kStart{"start", 1005, Shape{1, 3, 33, 37}, 0.5, -0.25};

inline const std::vector<std::string> kReluTaps = {
    "relu1_1", "relu1_2", "relu2_1", "relu2_2", "relu3_1", "relu3_2", "relu3_3", "relu3_4",
    "relu4_1", "relu4_2", "relu4_3", "relu4_4", "relu5_1", "relu5_2", "relu5_3", "relu5_4"};
inline const std::vector<std::string> kStyleLayers = {"relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"};
inline const std::vector<std::string> kContentLayers = {"relu4_2"};

constexpr int kLbfgsIterations = 10;
constexpr double kLbfgsLr = 1.0;
constexpr int kLbfgsHistory = 100;

// One (preset, pooling) problem. The weights of the terms balance the terms' gradients at the point
// (tools/make_reference.py explains why they are not the presets' defaults).
struct Config {
    Preset preset;
    Pooling pooling;
    double content_weight, style_weight, tv_weight;
    std::vector<double> style_layer_weights;

    std::string name() const {
        return std::string(preset_name(preset)) + "/" + (pooling == Pooling::Max ? "max" : "avg");
    }
};

inline const std::vector<Config>& configs() {
    static const std::vector<Config> c = {
        {Preset::JcJohnson, Pooling::Max, 5.0, 100.0, 2e-5, {1.0, 0.5, 10.0, 100.0, 500.0}},
        {Preset::JcJohnson, Pooling::Avg, 100.0, 100.0, 1e-5, {1.0, 10.0, 300.0, 2e4, 1e6}},
        {Preset::Gatys, Pooling::Max, 1.0, 1e3, 0.0, {1.0, 0.1, 0.3, 1.0, 5.0}},
        {Preset::Gatys, Pooling::Avg, 1.0, 1e3, 0.0, {0.03, 0.1, 1.0, 10.0, 1000.0}},
    };
    return c;
}

inline std::string pooling_name(Pooling p) { return p == Pooling::Max ? "max" : "avg"; }

// The settings object as tools/make_reference.py writes it (nst.settings). JSON equality is
// numeric, so 2e-5 here equals Python's "2e-05" and 0 equals 0.0.
inline json expected_settings() {
    auto image = [](const ImageSpec& s) {
        return json{{"stream", s.stream},
                    {"shape", {s.shape.n, s.shape.c, s.shape.h, s.shape.w}},
                    {"scale", s.scale},
                    {"offset", s.offset}};
    };
    json cfgs = json::array();
    for (const Config& c : configs())
        cfgs.push_back({{"preset", preset_name(c.preset)},
                        {"pooling", pooling_name(c.pooling)},
                        {"content_weight", c.content_weight},
                        {"style_weight", c.style_weight},
                        {"tv_weight", c.tv_weight},
                        {"style_layer_weights", c.style_layer_weights}});
    return json{
        {"weights", {{"random_seed", kWeightsSeed}}},
        {"images",
         {{"seed", kImageSeed},
          {"content", image(kContent)},
          {"style", image(kStyle)},
          {"point", image(kPoint)},
          {"start", image(kStart)}}},
        {"activations", {{"image", "point"}, {"layers", kReluTaps}}},
        {"grams", {{"image", "point"}, {"layers", kStyleLayers}, {"stored", "upper triangle, row-major, of F F^T / (C M)"}}},
        {"content_layers", kContentLayers},
        {"style_layers", kStyleLayers},
        {"configs", cfgs},
        {"lbfgs",
         {{"iterations", kLbfgsIterations},
          {"lr", kLbfgsLr},
          {"history_size", kLbfgsHistory},
          {"line_search_fn", nullptr},
          {"tolerance_grad", -1.0},
          {"tolerance_change", -1.0},
          {"dtype", "float64"},
          {"start", "start"}}},
    };
}

// --- loading ---------------------------------------------------------------------------------------

struct Fixture {
    std::string path;     // as messages show it: tests/data/ref_<part>.safetensors
    SafetensorsFile file;
    json settings, generator;
    json extra;           // nst.rng_check (common) or nst.results (max, avg)

    // A tensor the fixture must hold, with its expected element count; FAILs (stale) otherwise.
    const SafetensorsTensor& tensor(const std::string& name, std::size_t numel) const {
        const SafetensorsTensor* t = file.find(name);
        if (!t) FAIL("fixture " << path << " is missing or stale (no tensor '" << name << "'): " << kRegenerate);
        if (t->data.size() != numel)
            FAIL("fixture " << path << " is missing or stale (tensor '" << name << "' has " << t->data.size()
                            << " values, expected " << numel << "): " << kRegenerate);
        return *t;
    }
};

// "common" (generator checks, block-1 activations and the relu1_1 Gram), "max" or "avg".
// Loads and validates once per process; on any problem the calling test FAILs with a message
// that names the file and says how to regenerate it.
inline const Fixture& fixture(const std::string& part) {
    static std::map<std::string, std::unique_ptr<Fixture>> cache;
    if (auto it = cache.find(part); it != cache.end()) return *it->second;

    auto fx = std::make_unique<Fixture>();
    fx->path = "tests/data/ref_" + part + ".safetensors";
    const std::string stale = "fixture " + fx->path + " is missing or stale";
    try {
        fx->file = read_safetensors(std::string(NST_TEST_DATA) + "/ref_" + part + ".safetensors");
    } catch (const std::exception& e) {
        FAIL(stale << " (" << std::string(e.what()) << "): " << kRegenerate);
    }
    const auto& meta = fx->file.metadata;
    auto get = [&](const char* key) -> std::string {
        auto it = meta.find(key);
        if (it == meta.end()) FAIL(stale << " (no metadata " << std::string(key) << "): " << kRegenerate);
        return it->second;
    };
    if (get("nst.magic") != kMagic)
        FAIL(stale << " (magic '" << get("nst.magic") << "', expected '" << kMagic << "'): " << kRegenerate);
    if (get("nst.version") != std::to_string(kFormatVersion))
        FAIL(stale << " (version " << get("nst.version") << ", expected " << kFormatVersion << "): " << kRegenerate);
    if (get("nst.part") != part)
        FAIL(stale << " (it holds part '" << get("nst.part") << "', expected '" << part << "'): " << kRegenerate);
    try {
        fx->settings = json::parse(get("nst.settings"));
        fx->generator = json::parse(get("nst.generator"));
        fx->extra = json::parse(get(part == "common" ? "nst.rng_check" : "nst.results"));
    } catch (const json::exception& e) {
        FAIL(stale << " (metadata is not valid JSON: " << std::string(e.what()) << "): " << kRegenerate);
    }
    const json expected = expected_settings();
    if (fx->settings != expected)
        FAIL(stale << " (its generator settings differ from the test's; JSON patch from the test's to the "
                      "fixture's: "
                   << json::diff(expected, fx->settings).dump() << "): " << kRegenerate);
    return *(cache[part] = std::move(fx));
}

// A JSON number from a fixture's metadata, FAILing (stale) when absent.
inline double number(const Fixture& fx, const json& j, const std::string& what) {
    if (!j.is_number()) FAIL("fixture " << fx.path << " is missing or stale (no number at " << what << "): " << kRegenerate);
    return j.get<double>();
}

// --- inputs --------------------------------------------------------------------------------------

inline Tensor<float> make_image(const ImageSpec& s) {
    Tensor<float> x(s.shape);
    for (std::size_t j = 0; j < x.numel(); ++j) x[j] = float(s.scale * rng::uniform(kImageSeed, s.stream, j) + s.offset);
    return x;
}

inline const Vgg19Weights& weights() {
    static const Vgg19Weights w = random_weights(kWeightsSeed);
    return w;
}

inline std::vector<int> layer_indices(const std::vector<std::string>& names) {
    std::vector<int> k;
    for (const auto& n : names) k.push_back(layer_index(n));
    return k;
}

// The problem of one configuration, for make_cpu_engine / make_cuda_engine: one style image
// (blend weight 1), x0 = the start image, L-BFGS with torch's settings (spec section 6).
inline ProblemSpec problem_spec(const Config& c) {
    ProblemSpec p;
    p.content = make_image(kContent);
    p.styles.push_back(make_image(kStyle));
    p.style_blend = {1.0};
    p.init = make_image(kStart);
    p.loss.preset = c.preset;
    p.loss.content_layers = layer_indices(kContentLayers);
    p.loss.style_layers = layer_indices(kStyleLayers);
    p.loss.style_layer_weights = c.style_layer_weights;
    p.loss.content_weight = c.content_weight;
    p.loss.style_weight = c.style_weight;
    p.loss.tv_weight = c.tv_weight;
    p.pooling = c.pooling;
    p.optimizer = OptimizerKind::Lbfgs;
    p.learning_rate = kLbfgsLr;
    p.lbfgs_history = kLbfgsHistory;
    return p;
}

// The double-precision objective's targets for a problem (its content and first style image, in
// double), as the reference tests that follow torch's float64 L-BFGS set them.
inline void set_double_targets(cpu::Objective<double>& objective, const ProblemSpec& spec) {
    const Tensor<double> content = cast<double>(spec.content.cview());
    const Tensor<double> style = cast<double>(spec.styles[0].cview());
    objective.set_content(content.cview());
    objective.set_styles({style.cview()}, spec.style_blend);
}

// The fixture holding the activations of a layer for a pooling: block 1 comes before the first
// pool, so it is stored once, in "common".
inline const Fixture& activation_fixture(const std::string& layer, Pooling pooling) {
    return fixture(layer.rfind("relu1_", 0) == 0 ? "common" : pooling_name(pooling));
}

// The reference Gram F F^T / (C M) of a style layer as a full C x C matrix (row-major),
// expanded from the stored upper triangle.
inline std::vector<double> reference_gram(const std::string& layer, Pooling pooling, int channels) {
    const Fixture& fx = activation_fixture(layer, pooling);
    const std::size_t c = std::size_t(channels);
    const SafetensorsTensor& t = fx.tensor("gram." + layer, c * (c + 1) / 2);
    std::vector<double> g(c * c);
    std::size_t k = 0;
    for (std::size_t i = 0; i < c; ++i)
        for (std::size_t j = i; j < c; ++j, ++k) g[i * c + j] = g[j * c + i] = t.data[k];
    return g;
}

// Tolerances of the reference comparisons (relative L2 per tensor, relative error per value),
// the same for every backend held to the fixtures.
constexpr double kTolActivation = 1e-5;
constexpr double kTolGram = 1e-5;
constexpr double kTolLoss = 1e-5;
constexpr double kTolGradient = 1e-4;
constexpr double kTolLbfgs = 1e-4;

// NST_REFERENCE_REPORT=1 prints every measured error (tests/README.md).
inline bool report_enabled() {
    const char* v = std::getenv("NST_REFERENCE_REPORT");
    return v && *v && std::string(v) != "0";
}

inline void report(const char* suite, const std::string& what, double err, double tol) {
    if (report_enabled()) std::printf("%s %-44s %.3e  (tolerance %.0e)\n", suite, what.c_str(), err, tol);
}

inline double rel_err(double a, double ref) { return std::fabs(a - ref) / std::fabs(ref); }

// The fixture's results (terms, gradient, L-BFGS totals) for a configuration.
inline const json& results(const Config& c) {
    const Fixture& fx = fixture(pooling_name(c.pooling));
    const std::string preset = preset_name(c.preset);
    if (!fx.extra.contains(preset))
        FAIL("fixture " << fx.path << " is missing or stale (no results for " << preset << "): " << kRegenerate);
    return fx.extra.at(preset);
}

// The engine's terms and gradient at kPoint against the fixture of `cfg` (each term within
// kTolLoss, the gradient within kTolGradient). `suite` prefixes the NST_REFERENCE_REPORT lines.
struct EvaluationErrors {
    double worst_term = 0, gradient = 0;
};
inline EvaluationErrors check_evaluation(const char* suite, const Config& cfg, Engine& engine) {
    const json& r = results(cfg);
    const Fixture& fx = fixture(pooling_name(cfg.pooling));
    const Tensor<float> x = make_image(kPoint);
    Tensor<float> grad(x.shape());
    const LossTerms terms = engine.evaluate(x.cview(), grad.view());

    EvaluationErrors e;
    auto check_term = [&](const std::string& what, double value, const json& ref_json) {
        INFO(what);
        const double err = rel_err(value, number(fx, ref_json, cfg.name() + " " + what));
        e.worst_term = std::max(e.worst_term, err);
        report(suite, cfg.name() + " " + what, err, kTolLoss);
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
        CHECK(terms.tv == 0.0);  // no TV in gatys; the reference holds an exact 0 too
    check_term("total", terms.total, r.at("total"));

    const SafetensorsTensor& ref_grad = fx.tensor(std::string("grad.") + preset_name(cfg.preset), grad.numel());
    e.gradient = test::rel_l2(grad.data(), ref_grad.data.data(), grad.numel());
    report(suite, cfg.name() + " gradient", e.gradient, kTolGradient);
    CHECK(e.gradient <= kTolGradient);
    return e;
}

// The totals of the first kLbfgsIterations iterations against torch.optim.LBFGS's (each within
// kTolLbfgs); returns the worst error.
inline double check_lbfgs_totals(const char* suite, const Config& cfg, const std::vector<double>& totals) {
    const Fixture& fx = fixture(pooling_name(cfg.pooling));
    const json& ref = results(cfg).at("lbfgs_totals");
    if (!ref.is_array() || ref.size() != std::size_t(kLbfgsIterations))
        FAIL("fixture " << fx.path << " is missing or stale (lbfgs_totals for " << cfg.name() << "): " << kRegenerate);
    REQUIRE(totals.size() == std::size_t(kLbfgsIterations));
    double worst = 0;
    for (int it = 0; it < kLbfgsIterations; ++it) {
        INFO("evaluation " << it + 1);
        const double err = rel_err(totals[std::size_t(it)], number(fx, ref.at(it), cfg.name() + " lbfgs_totals"));
        worst = std::max(worst, err);
        report(suite, cfg.name() + " L-BFGS total " + std::to_string(it + 1), err, kTolLbfgs);
        CHECK(err <= kTolLbfgs);
    }
    report(suite, cfg.name() + " L-BFGS worst of 10", worst, kTolLbfgs);
    return worst;
}

}  // namespace nst::test::reference
