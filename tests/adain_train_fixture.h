// SPDX-License-Identifier: MIT
// The AdaIN decoder-training reference problem (tests/data/ref_adain_train.safetensors, written by
// tools/ref_adain_train.py): the fixture file, its settings, the step configuration and batch it
// was made with. Shared by the CPU reference test (test_adain_train_reference.cpp) and the CUDA
// step's test (cuda/test_cuda_adain_train.cpp), which must pose exactly the same problem.
#pragma once
#include <doctest/doctest.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/adain_train_step.h"
#include "nn/adain_net.h"
#include "nn/safetensors.h"

namespace nst::test::adain_train {

inline const std::string kRegenerate =
    "regenerate with '/usr/bin/python3 tools/make_reference.py --parts adain-train'";
// The script's seeds: the encoder is init_params(adain-encoder, 11) x 2.5 (random_adain_encoder),
// the decoder init_params(adain-decoder, 12), the step's own start for seed 12.
constexpr std::uint64_t kEncSeed = 11, kDecSeed = 12;

inline const SafetensorsFile& fixture() {
    static const SafetensorsFile f = [] {
        const std::string path = std::string(NST_SOURCE_DIR) + "/tests/data/ref_adain_train.safetensors";
        SafetensorsFile file = read_safetensors(path);
        const auto it = file.metadata.find("nst.part");
        if (it == file.metadata.end() || it->second != "adain-train")
            FAIL(path << " is not the adain-train reference fixture; " << kRegenerate);
        return file;
    }();
    return f;
}

inline const std::vector<float>& tensor(const std::string& name) {
    const SafetensorsTensor* t = fixture().find(name);
    if (!t) FAIL("ref_adain_train.safetensors has no tensor " << name << "; " << kRegenerate);
    return t->data;
}

inline nlohmann::json settings() { return nlohmann::json::parse(fixture().metadata.at("nst.settings")); }
inline nlohmann::json results() { return nlohmann::json::parse(fixture().metadata.at("nst.results")); }

inline NetModel encoder() { return random_adain_encoder(kEncSeed); }

// The fixture's step: batch 2 of 32 x 32, Adam 1e-4 with decay 0.5 (large, so that a missing
// decay shows in the second step), the convention's weights as the script used them.
inline TrainConfig config(AdainLossConvention convention) {
    TrainConfig c;
    c.method = TrainMethod::Adain;
    c.desc = adain_decoder_desc();
    c.adain.convention = convention;
    const nlohmann::json s = settings().at(convention == AdainLossConvention::Port ? "port" : "official");
    c.adain.content_weight = s.at("content_weight").get<double>();
    c.adain.style_weight = s.at("style_weight").get<double>();
    c.sample.image_size = c.style_sample.image_size = 32;
    c.sample.seed = kDecSeed;
    c.batch_size = 2;
    c.learning_rate = 1e-4;
    c.lr_decay = 0.5;
    return c;
}

inline TrainBatch batch() {
    const Shape s{2, 3, 32, 32};
    return TrainBatch{ConstView<float>(tensor("in.content").data(), s), ConstView<float>(tensor("in.style").data(), s)};
}

}  // namespace nst::test::adain_train
