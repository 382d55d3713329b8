// SPDX-License-Identifier: MIT
// tests/data/ref_adain.safetensors (tools/ref_adain.py): pytorch-AdaIN's stylisation pipeline in
// float64 on small images, with the networks' parameters regenerated here exactly as the script
// makes them: init_params (nn/net_model.h) for the fixture's seed, each conv weight times a gain
// (sqrt(6) for hidden convs, settings.last_gain for the decoder's "28"; float64 product rounded
// to float32), the encoder's "0" set to AdaIN-style's preprocessing conv.
#pragma once
#include <doctest/doctest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "nn/adain_net.h"
#include "nn/net_model.h"
#include "nn/safetensors.h"

namespace nst::test::adain_ref {

inline const std::string kRegenerate = "regenerate with '/usr/bin/python3 tools/make_reference.py --parts adain'";

inline const SafetensorsFile& fixture() {
    static const SafetensorsFile f = [] {
        const std::string path = std::string(NST_SOURCE_DIR) + "/tests/data/ref_adain.safetensors";
        SafetensorsFile file = read_safetensors(path);
        auto it = file.metadata.find("nst.part");
        if (it == file.metadata.end() || it->second != "adain")
            FAIL(path << " is not the AdaIN reference fixture; " << kRegenerate);
        return file;
    }();
    return f;
}

inline nlohmann::json settings() { return nlohmann::json::parse(fixture().metadata.at("nst.settings")); }
inline nlohmann::json results() { return nlohmann::json::parse(fixture().metadata.at("nst.results")); }

inline const SafetensorsTensor& entry(const std::string& name) {
    const SafetensorsTensor* t = fixture().find(name);
    if (!t) FAIL("ref_adain.safetensors has no tensor " << name << "; " << kRegenerate);
    return *t;
}

// A fixture tensor as a (N, C, H, W) Tensor; single-channel masks repeated over R, G, B.
inline Tensor<float> tensor(const std::string& name, bool to_rgb = false) {
    const SafetensorsTensor& t = entry(name);
    REQUIRE(t.shape.size() == 4);
    const Shape s{int(t.shape[0]), int(t.shape[1]), int(t.shape[2]), int(t.shape[3])};
    if (!to_rgb || s.c == 3) {
        Tensor<float> out(s);
        std::copy(t.data.begin(), t.data.end(), out.begin());
        return out;
    }
    Tensor<float> out(Shape{s.n, 3, s.h, s.w});
    for (int c = 0; c < 3; ++c) std::copy(t.data.begin(), t.data.end(), out.begin() + std::size_t(c) * s.plane());
    return out;
}

inline NetModel model(bool encoder) {
    NetModel m;
    m.desc = encoder ? adain_encoder_desc() : adain_decoder_desc();
    const nlohmann::json s = settings();
    m.params = init_params(m.desc, s.at("seed").get<std::uint64_t>());
    const double last_gain = s.at("last_gain").get<double>();
    for (const ParamInfo& p : param_layout(m.desc)) {
        float* v = m.params.data() + p.offset;
        const std::size_t n = p.shape.numel();
        const bool weight = p.name.size() > 7 && p.name.compare(p.name.size() - 7, 7, ".weight") == 0;
        if (encoder && (p.name == "0.weight" || p.name == "0.bias")) {
            // getPreprocessConv: BGR x 255 of RGB, minus the caffe mean.
            const float mean[3] = {103.939f, 116.779f, 123.68f};
            for (std::size_t j = 0; j < n; ++j) v[j] = weight ? 0.f : -mean[j];
            if (weight) v[0 * 3 + 2] = v[1 * 3 + 1] = v[2 * 3 + 0] = 255.f;
            continue;
        }
        if (!weight) continue;
        const double gain = (!encoder && p.name == "28.weight") ? last_gain : std::sqrt(6.0);
        for (std::size_t j = 0; j < n; ++j) v[j] = float(double(v[j]) * gain);
    }
    m.metadata = {{"nst.io", "rgb01"}, {"nst.source", "tests/data/ref_adain.safetensors"}};
    return m;
}

}  // namespace nst::test::adain_ref
