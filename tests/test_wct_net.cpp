// SPDX-License-Identifier: MIT
// WCT's networks (nn/wct_net.h) and the multi-level pipeline (engine/wct_stylize.h):
//  - the descriptions against the port's module tables (research/feedforward.md §5.3): vgg[:44]
//    to relu5_1 with the adain-encoder as its relu4_1 prefix, the level-4 decoder equal to the
//    AdaIN decoder, parameter counts computed here from the VGG19 channel table;
//  - wct-decoder models round-trip through files with their level; the model checks reject a
//    missing decoder, a decoder of another level, and an encoder too shallow;
//  - stylisation against tests/data/ref_wct.safetensors (tools/make_wct_reference.py: PyTorch
//    float64, its own networks and torch.linalg.eigh) with the same init_params weights: single
//    level 4, five levels 5..1 at alpha 0.6, two styles blended with PytorchWCT's +I at levels 3, 1.
//    nst runs float32 networks whose rounding the whitening amplifies by d^-1/2 of the smallest
//    kept eigenvalues (>= 1e-5: up to ~300x) and each further level passes on. Relative L2
//    tolerances: 1e-5 for one or two levels (measured 5e-7, 3.5e-7), 3e-4 for the five levels
//    (measured 3.6e-5); a wrong convention (biased covariance, no truncation, +I, level order)
//    changes the output by O(1e-2..1).
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <cmath>
#include <string>
#include <vector>

#include "core/error.h"
#include "engine/wct_stylize.h"
#include "nn/adain_net.h"
#include "nn/net_model.h"
#include "nn/safetensors.h"
#include "nn/wct_net.h"
#include "gained_model.h"
#include "test_util.h"

using namespace nst;

namespace {

// Parameters of a 3x3 conv i -> o with bias.
std::size_t conv3(int i, int o) { return std::size_t(i) * o * 9 + o; }

const SafetensorsFile& fixture() {
    static const SafetensorsFile f = read_safetensors(std::string(NST_SOURCE_DIR) + "/tests/data/ref_wct.safetensors");
    return f;
}

Tensor<float> fixture_tensor(const std::string& name) {
    const SafetensorsTensor* t = fixture().find(name);
    if (!t) FAIL("ref_wct.safetensors has no " << name << "; regenerate with /usr/bin/python3 tools/make_wct_reference.py");
    REQUIRE(t->shape.size() == 4);
    Tensor<float> out(Shape{int(t->shape[0]), int(t->shape[1]), int(t->shape[2]), int(t->shape[3])});
    std::copy(t->data.begin(), t->data.end(), out.data());
    return out;
}

NetModel fixture_model(const NetDesc& desc, std::uint64_t seed, float gain) {
    return test::gained_model(desc, seed, gain);
}

}  // namespace

TEST_CASE("wct net: encoder and decoder descriptions follow the port's tables") {
    const NetDesc enc = vgg_normalised_desc();
    CHECK(enc.arch == "vgg-normalised");
    // 1x1 conv 3 -> 3, conv1_1..conv4_4, conv5_1.
    std::size_t want = 3 * 3 + 3 + conv3(3, 64) + conv3(64, 64) + conv3(64, 128) + conv3(128, 128) + conv3(128, 256) +
                       3 * conv3(256, 256) + conv3(256, 512) + 3 * conv3(512, 512) + conv3(512, 512);
    CHECK(param_count(enc) == want);
    CHECK(param_count(enc) == 12944972u);
    // Conv names are the port's Sequential indices (feedforward.md §5.3) up to 42 (conv5_1).
    std::vector<std::string> convs;
    for (const LayerSpec& l : enc.layers)
        if (l.op == Op::Conv) convs.push_back(l.name);
    CHECK(convs == std::vector<std::string>{"0", "2", "5", "9", "12", "16", "19", "22", "25", "29", "32", "35", "38",
                                            "42"});
    CHECK(enc.layers.back().name == "relu5_1");
    // The relu4_1 prefix is the AdaIN encoder, layer for layer.
    const NetDesc p4 = encoder_prefix(enc, 4), adain = adain_encoder_desc();
    REQUIRE(p4.layers.size() == adain.layers.size());
    for (std::size_t i = 0; i < p4.layers.size(); ++i) {
        CHECK(p4.layers[i].name == adain.layers[i].name);
        CHECK(p4.layers[i].op == adain.layers[i].op);
        CHECK(p4.layers[i].channels == adain.layers[i].channels);
    }
    CHECK(param_count(p4) == 3505740u);
    // Level channels at a 48 x 32 input, and each decoder maps them back to 3 x 48 x 32 (multiples
    // of 16 need no cropping).
    for (int level = 1; level <= kWctLevels; ++level) {
        CAPTURE(level);
        const Shape f = output_shapes(encoder_prefix(enc, level), Shape{1, 3, 48, 32}).back();
        const int scale = 1 << (level - 1);
        CHECK(f == Shape{1, level_channels(level), 48 / scale, 32 / scale});
        const NetDesc dec = wct_decoder_desc(level);
        CHECK(dec.in_channels == level_channels(level));
        CHECK(output_shapes(dec, f).back() == Shape{1, 3, 48, 32});
        CHECK(dec.layers.back().op == Op::Conv);  // no ReLU on the RGB output
    }
    // Decoder parameter counts: the mirror of each prefix.
    CHECK(param_count(wct_decoder_desc(1)) == conv3(64, 3));
    CHECK(param_count(wct_decoder_desc(2)) == conv3(128, 64) + conv3(64, 64) + conv3(64, 3));
    CHECK(param_count(wct_decoder_desc(5)) ==
          conv3(512, 512) * 4 + conv3(512, 256) + 3 * conv3(256, 256) + conv3(256, 128) + conv3(128, 128) +
              conv3(128, 64) + conv3(64, 64) + conv3(64, 3));
    // Level 4 is the AdaIN decoder: same layers, same names (so decoder.pth loads as either).
    const NetDesc d4 = wct_decoder_desc(4), ad = adain_decoder_desc();
    REQUIRE(d4.layers.size() == ad.layers.size());
    for (std::size_t i = 0; i < d4.layers.size(); ++i) {
        CHECK(d4.layers[i].name == ad.layers[i].name);
        CHECK(d4.layers[i].op == ad.layers[i].op);
        CHECK(d4.layers[i].channels == ad.layers[i].channels);
    }
    CHECK(param_count(d4) == 3505219u);
}

TEST_CASE("wct net: decoder files keep their level and the model checks reject mismatches") {
    const std::string dir = test::temp_dir("wct_net_models");
    NetModel d2;
    d2.desc = wct_decoder_desc(2);
    d2.params = init_params(d2.desc, 1);
    save_model(dir + "/d2.safetensors", d2);
    const NetModel back = load_model(dir + "/d2.safetensors");
    CHECK(back.desc.arch == "wct-decoder");
    CHECK(back.metadata.at("nst.level") == "2");
    CHECK(back.desc.in_channels == 128);
    CHECK(back.params == d2.params);

    NetModel enc;
    enc.desc = adain_encoder_desc();
    NetModel d4;
    d4.desc = adain_decoder_desc();
    WctModels models;
    models.encoder = &enc;
    models.encoder_name = "enc";
    models.decoders[4] = &d4;
    models.decoder_names[4] = "d4";
    models.decoders[2] = &back;
    models.decoder_names[2] = "d2";
    auto code = [&](const std::vector<int>& levels) {
        try {
            check_wct_models(models, levels);
        } catch (const Error& e) {
            MESSAGE(std::string(e.what()));
            return int(e.code());
        }
        return 0;
    };
    CHECK(code({4}) == 0);
    CHECK(code({4, 2}) == 0);
    CHECK(code({4, 3}) == 3);  // no decoder for level 3
    CHECK(code({5}) == 3);     // the AdaIN encoder stops at relu4_1
    CHECK(code({6}) == 2);
    CHECK(code({4, 4}) == 2);
    models.decoders[3] = &back;  // a level-2 decoder given for level 3
    models.decoder_names[3] = "d2";
    CHECK(code({3}) == 3);
    models.decoders[3] = nullptr;
    models.decoders[1] = &d4;  // 512 channels for relu1_1's 64
    CHECK(code({1}) == 3);
}

TEST_CASE("wct net: stylisation matches the PyTorch float64 reference") {
    const auto settings = nlohmann::json::parse(fixture().metadata.at("nst.settings"));
    REQUIRE(settings.at("gain").get<double>() == 2.5);
    REQUIRE(settings.at("truncation").get<double>() == kWctTruncation);
    const NetModel encoder = fixture_model(vgg_normalised_desc(), settings.at("encoder_seed").get<std::uint64_t>(), 2.5f);
    std::vector<NetModel> decoders;
    decoders.reserve(kWctLevels + 1);
    WctModels models;
    models.encoder = &encoder;
    models.encoder_name = "encoder";
    for (int level = 1; level <= kWctLevels; ++level) {
        decoders.push_back(fixture_model(wct_decoder_desc(level),
                                         settings.at("decoder_seed").get<std::uint64_t>() + std::uint64_t(level), 2.5f));
        models.decoders[level] = &decoders.back();
        models.decoder_names[level] = "decoder" + std::to_string(level);
    }
    const Tensor<float> content = fixture_tensor("content");
    std::vector<Tensor<float>> style_images;
    style_images.push_back(fixture_tensor("style0"));
    style_images.push_back(fixture_tensor("style1"));
    CpuWctBackend backend(models);
    for (const auto& [name, c] : settings.at("cases").items()) {
        WctSettings s;
        s.levels = c.at("levels").get<std::vector<int>>();
        s.alpha = c.at("alpha").get<double>();
        s.weights = c.at("weights").get<std::vector<double>>();
        s.wct.content_identity = c.at("identity").get<bool>();
        s.clamp = false;
        check_wct_models(models, s.levels);
        std::vector<Tensor<float>> styles;
        for (int i : c.at("styles").get<std::vector<int>>()) styles.push_back(style_images[std::size_t(i)].clone());
        const Tensor<float> out = wct_stylize(backend, content.cview(), styles, s);
        const Tensor<float> ref = fixture_tensor(name);
        REQUIRE(out.shape() == ref.shape());
        const double err = test::rel_l2(out.data(), ref.data(), ref.numel());
        MESSAGE(name << ": relative L2 error vs PyTorch float64 " << err);
        CHECK(err < (name == "multi" ? 3e-4 : 1e-5));
        // Clamped: the same values in [0, 1].
        s.clamp = true;
        const Tensor<float> clamped = wct_stylize(backend, content.cview(), styles, s);
        for (std::size_t i = 0; i < out.numel(); ++i)
            REQUIRE(clamped.data()[i] == std::min(1.f, std::max(0.f, out.data()[i])));
    }
}
