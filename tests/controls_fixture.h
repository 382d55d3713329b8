// SPDX-License-Identifier: MIT
// The spatial and scale controls' PyTorch fixture (tests/data/ref_guided.safetensors, written by
// `tools/make_reference.py --parts guided`): the generator's settings, the loader and the
// problems, shared by the CPU test (tests/test_controls_reference.cpp) and the CUDA one
// (tests/cuda/test_cuda_controls_reference.cpp). Inputs are regenerated from nst's RNG and
// integer mask formulas; the fixture holds only PyTorch's outputs.
#pragma once
#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "loss/guides.h"
#include "reference_fixture.h"

namespace nst::test::reference {

// --- the generator's settings (GUIDED_SETTINGS in tools/make_reference.py) ---------------------

inline const ImageSpec kGContent{"content", 1010, Shape{1, 3, 24, 28}, 256.0, -128.0};
inline const ImageSpec kGStyle1{"style1", 1011, Shape{1, 3, 26, 22}, 256.0, -64.0};
inline const ImageSpec kGStyle2{"style2", 1012, Shape{1, 3, 20, 30}, 256.0, -96.0};
inline const ImageSpec kGPoint{"point", 1013, Shape{1, 3, 24, 28}, 128.0, -64.0};

// clamp((a*i + b*j - c) / d, 0, 1), or 1 minus that: every value k/d, exact in float.
struct MaskSpec {
    const char* name;
    int h, w, a, b, c, d;
    bool invert;
};
inline const std::vector<MaskSpec> kMasks = {
    {"region1", 24, 28, 2, 3, 50, 8, true},
    {"region2", 24, 28, 2, 3, 50, 8, false},
    {"style1", 26, 22, 0, 4, 10, 16, false},
    {"style2", 20, 30, 4, 1, 10, 32, false},
};
inline const std::vector<std::string> kGStyleLayers = {"relu1_1", "relu2_1", "relu3_1"};
inline const std::vector<std::string> kGContentLayers = {"relu2_2"};
inline const std::vector<std::string> kGramLayers = {"relu1_1", "relu2_1"};
inline const std::vector<std::string> kGuideMasks = {"region1", "region2", "style2"};
inline const std::vector<std::pair<std::string, int>> kGuideModes = {
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
inline const std::vector<GuidedConfig>& guided_configs() {
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

inline json expected_guided_settings() {
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

inline const GuidedFixture& guided_fixture() {
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

inline Tensor<float> make_mask(const std::string& name) {
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

inline ProblemSpec guided_spec(const GuidedConfig& c) {
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

// The largest relative error of the terms (each style layer, the content layer, TV unless both
// are 0, the total) against one configuration's results r in the fixture.
inline double worst_term_error(const LossTerms& t, const json& r) {
    double worst = 0;
    for (std::size_t j = 0; j < kGStyleLayers.size(); ++j)
        worst = std::max(worst, rel_err(t.style[j], r.at("style").at(kGStyleLayers[j]).get<double>()));
    worst = std::max(worst, rel_err(t.content[0], r.at("content").at(kGContentLayers[0]).get<double>()));
    if (t.tv != 0 || r.at("tv").get<double>() != 0) worst = std::max(worst, rel_err(t.tv, r.at("tv").get<double>()));
    return std::max(worst, rel_err(t.total, r.at("total").get<double>()));
}

}  // namespace nst::test::reference
