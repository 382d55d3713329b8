// SPDX-License-Identifier: MIT
// NetDesc bookkeeping: parameter layouts and counts of both TransformerNet layouts against the
// numbers derived by hand in docs/research/feedforward.md (§2.5, §3.1), output shapes against
// the closed-form sizes there, input errors for too-small images, and init_params against
// torch's default-init bounds recomputed here from the shapes.
#include <doctest/doctest.h>

#include <cmath>
#include <map>

#include "core/rng.h"
#include "nn/net_desc.h"
#include "nn/net_model.h"
#include "nn/transformer_net.h"
#include "test_errors.h"

using namespace nst;

namespace {

int ceil_div(int a, int b) { return (a + b - 1) / b; }

}  // namespace

TEST_CASE("net desc: pytorch examples transformer layout") {
    const NetDesc d = transformer_net_desc(TransformerLayout::PytorchExamples);
    CHECK(d.arch == "transformer-net");
    const auto layout = param_layout(d);
    CHECK(layout.size() == 62);
    CHECK(param_count(d) == 1679235);
    // Per-module counts of the §3.1 table.
    std::map<std::string, std::size_t> by_name;
    for (const auto& p : layout) by_name[p.name] = p.shape.numel();
    CHECK(by_name.at("conv1.conv2d.weight") + by_name.at("conv1.conv2d.bias") == 7808);
    CHECK(by_name.at("conv2.conv2d.weight") == 64 * 32 * 9);
    CHECK(by_name.at("res3.in2.weight") == 128);
    CHECK(by_name.at("deconv1.conv2d.weight") + by_name.at("deconv1.conv2d.bias") == 73792);
    CHECK(by_name.at("deconv3.conv2d.weight") + by_name.at("deconv3.conv2d.bias") == 7779);
    // Storage order: layer order, weight before bias, offsets back to back.
    CHECK(layout.front().name == "conv1.conv2d.weight");
    CHECK(layout.front().shape == Shape{32, 3, 9, 9});
    CHECK(layout[1].name == "conv1.conv2d.bias");
    CHECK(layout[1].shape == Shape{1, 32, 1, 1});
    CHECK(layout[2].name == "in1.weight");
    CHECK(layout[6].name == "in2.weight");
    CHECK(layout.back().name == "deconv3.conv2d.bias");
    std::size_t off = 0;
    for (const auto& p : layout) {
        CHECK(p.offset == off);
        off += p.shape.numel();
    }
    // Residual adds take the block input, and upsampling precedes deconv1/deconv2.
    for (std::size_t i = 0; i < d.layers.size(); ++i) {
        const LayerSpec& l = d.layers[i];
        if (l.op == Op::Add) {
            REQUIRE(l.from >= 0);
            const std::string src = d.layers[std::size_t(l.from)].name;
            CHECK((src == "relu3" || src.find(".add") != std::string::npos));
            CHECK(d.layers[i - 1].op == Op::InstanceNorm);
        }
        if (l.name == "deconv1.conv2d" || l.name == "deconv2.conv2d") CHECK(d.layers[i - 1].op == Op::Upsample);
        if (l.op == Op::Conv) CHECK(l.pad_mode == PadMode::Reflect);
    }
    CHECK(d.layers.back().name == "deconv3.conv2d");
}

TEST_CASE("net desc: jcjohnson half width instance norm layout") {
    const NetDesc d = transformer_net_desc(TransformerLayout::JcjohnsonInstanceNorm);
    CHECK(d.arch == "transformer-net-jcjohnson");
    // c9s1-16: 16*3*81+16; d32: 32*16*9+32; d64: 64*32*9+64; R64: 2 (64*64*9+64) + 4*64;
    // u32: 64*32*9+32 (weight (I, O, k, k)); u16: 32*16*9+16; c9s1-3: 3*16*81+3; IN: 2 C each.
    const std::size_t expect = (3904 + 32) + (4640 + 64) + (18496 + 128) + 5 * (2 * 36928 + 4 * 64) + (18464 + 64) +
                               (4624 + 32) + 3891;
    CHECK(expect == 424899);
    CHECK(param_count(d) == 424899);
    const auto layout = param_layout(d);
    // 3 c/d layers (conv + IN: 4 tensors), 5 blocks of 8, 2 u layers of 4, the last conv's 2.
    CHECK(layout.size() == 3 * 4 + 5 * 8 + 2 * 4 + 2);
    CHECK(d.layers.front().op == Op::Pad);
    CHECK(d.layers.front().pad == 40);
    CHECK(d.layers.front().pad_mode == PadMode::Reflect);
    CHECK(d.layers.back().op == Op::Tanh);
    CHECK(d.layers.back().scale == 150);
    bool saw_transpose = false;
    for (const auto& p : layout) {
        if (p.name == "8.conv.weight") {
            CHECK(p.shape == Shape{64, 32, 3, 3});
            saw_transpose = true;
        }
        if (p.name == "0.conv.weight") CHECK(p.shape == Shape{16, 3, 9, 9});
        if (p.name == "10.conv.weight") CHECK(p.shape == Shape{3, 16, 9, 9});
    }
    CHECK(saw_transpose);
    for (const auto& l : d.layers) {
        if (l.op == Op::Conv) CHECK(l.pad_mode == PadMode::Zero);
        if (l.name == "3.conv1" || l.name == "7.conv2") CHECK(l.pad == 0);
    }
}

TEST_CASE("net desc: transformer output shapes") {
    const NetDesc py = transformer_net_desc(TransformerLayout::PytorchExamples);
    const NetDesc jj = transformer_net_desc(TransformerLayout::JcjohnsonInstanceNorm);
    for (int h : {5, 17, 18, 19, 20, 64, 101}) {
        for (int w : {6, 22, 33}) {
            const auto s = output_shapes(py, Shape{2, 3, h, w});
            // 4 ceil(ceil(H / 2) / 2) (§3.1).
            CHECK(s.back() == Shape{2, 3, 4 * ceil_div(ceil_div(h, 2), 2), 4 * ceil_div(ceil_div(w, 2), 2)});
            if (h > 40 && w > 40) {
                const auto t = output_shapes(jj, Shape{1, 3, h, w});
                // 4 (ceil(ceil((H + 80) / 2) / 2) - 20) (§2.5).
                CHECK(t.back() == Shape{1, 3, 4 * (ceil_div(ceil_div(h + 80, 2), 2) - 20),
                                        4 * (ceil_div(ceil_div(w + 80, 2), 2) - 20)});
            }
        }
    }
    const auto s = output_shapes(jj, Shape{1, 3, 256, 256});
    // The residual trunk shrinks 84 -> 80 -> ... -> 64 (final supplement, §1.1).
    int seen = 0;
    for (std::size_t i = 0; i < jj.layers.size(); ++i)
        if (jj.layers[i].op == Op::Add) CHECK(s[i].h == 80 - 4 * seen++);
    CHECK(seen == 5);
    CHECK(s.back() == Shape{1, 3, 256, 256});
}

TEST_CASE("net desc: too small inputs are input errors naming the layer") {
    const NetDesc py = transformer_net_desc(TransformerLayout::PytorchExamples);
    // ReflectionPad(4) needs 5 rows.
    std::string msg = test::error_of([&] { output_shapes(py, Shape{1, 3, 4, 30}); });
    CHECK(test::contains(msg, "conv1.conv2d"));
    // The same along the columns.
    msg = test::error_of([&] { output_shapes(py, Shape{1, 3, 30, 2}); });
    CHECK(test::contains(msg, "conv1.conv2d"));
    const NetDesc jj = transformer_net_desc(TransformerLayout::JcjohnsonInstanceNorm);
    msg = test::error_of([&] { output_shapes(jj, Shape{1, 3, 40, 64}); });
    CHECK(test::contains(msg, "'pad'"));
    // (Past the pad both layouts take any size.) A hand-made net whose Add source is smaller fails.
    NetDesc bad;
    bad.arch = "test-net";
    LayerSpec pad;
    pad.name = "pad";
    pad.op = Op::Pad;
    pad.pad = 1;
    LayerSpec c;
    c.name = "big";
    c.op = Op::Conv;
    c.channels = 3;
    c.kernel = 1;
    c.pad = 2;
    LayerSpec add;
    add.name = "add";
    add.op = Op::Add;
    add.from = 0;
    bad.layers = {pad, c, add};
    validate(bad);
    msg = test::error_of([&] { output_shapes(bad, Shape{1, 3, 8, 8}); });
    CHECK(test::contains(msg, "'add'"));
    // A conv whose kernel exceeds the padded input gives an empty output.
    NetDesc empty;
    empty.arch = "test-net";
    LayerSpec k9 = c;
    k9.name = "k9";
    k9.kernel = 9;
    k9.pad = 0;
    empty.layers = {k9};
    msg = test::error_of([&] { output_shapes(empty, Shape{1, 3, 8, 20}); });
    CHECK(test::contains(msg, "k9"));
    CHECK(output_shapes(empty, Shape{1, 3, 9, 20}).back() == Shape{1, 3, 1, 12});
}

TEST_CASE("net desc: validate rejects inconsistent descriptions") {
    NetDesc d;
    d.arch = "test-net";
    LayerSpec c;
    c.name = "c";
    c.op = Op::Conv;
    c.channels = 4;
    c.kernel = 3;
    LayerSpec add;
    add.name = "add";
    add.op = Op::Add;
    add.from = -1;  // the 3-channel input onto a 4-channel activation
    d.layers = {c, add};
    test::error_of([&] { validate(d); }, ExitCode::Runtime);
    d.layers[1].from = 1;  // not earlier
    test::error_of([&] { validate(d); }, ExitCode::Runtime);
    d.layers[1].from = 0;
    validate(d);
}

TEST_CASE("net desc: init params follow torch default bounds") {
    const NetDesc d = transformer_net_desc(TransformerLayout::JcjohnsonInstanceNorm, 4);
    const auto layout = param_layout(d);
    const std::vector<float> p = init_params(d, 7);
    REQUIRE(p.size() == param_count(d));
    CHECK(init_params(d, 7) == p);
    CHECK(init_params(d, 8) != p);
    for (std::size_t t = 0; t < layout.size(); ++t) {
        const ParamInfo& info = layout[t];
        const LayerSpec& l = d.layers[std::size_t(info.layer)];
        const bool weight = info.name.find(".weight") != std::string::npos;
        for (std::size_t j = 0; j < info.shape.numel(); j += 7) {
            const float v = p[info.offset + j];
            if (l.op == Op::InstanceNorm) {
                CHECK(v == (weight ? 1.0f : 0.0f));
                continue;
            }
            // fan_in = weight.shape[1] k k: input channels of a Conv, output channels of a
            // ConvTranspose (weight (I, O, k, k)).
            int in_c = l.channels;
            if (l.op == Op::Conv) {
                const ParamInfo& w = weight ? info : layout[t - 1];
                in_c = w.shape.c;
            }
            const double b = 1 / std::sqrt(double(in_c) * l.kernel * l.kernel);
            const double expect = b * (2 * rng::uniform(7, rng::kStreamNetParams + t, j) - 1);
            CHECK(v == float(expect));
        }
    }
}
