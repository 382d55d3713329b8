// SPDX-License-Identifier: MIT
// AdaIN stylisation (engine/adain_stylize.h, color/coral.h, nn/adain_regions.h) against
// tests/data/ref_adain.safetensors: pytorch-AdaIN's test pipeline in float64 (tools/ref_adain.py;
// the official code's statistics and masked AdaIN as numpy formulas) on the same random networks.
// The CPU runs in float32, so features and outputs are compared as relative L2 errors:
// <= 1e-5 (float32 through 19 convolutions; measured about 1e-7 .. 2e-6, printed with
// NST_REFERENCE_REPORT=1). The full pipeline (resizing none, cropping, clamping) must equal the
// reference's output cropped and clamped to 1e-5 absolute.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "adain_fixture.h"
#include "color/coral.h"
#include "core/error.h"
#include "engine/adain_stylize.h"
#include "engine/stylize.h"
#include "nn/adain_regions.h"
#include "test_util.h"

using namespace nst;
namespace ref = nst::test::adain_ref;
using nst::test::rel_l2;

namespace {

constexpr double kRelTol = 1e-5;

bool report() {
    const char* e = std::getenv("NST_REFERENCE_REPORT");
    return e && *e && std::string(e) != "0";
}

void check_close(const Tensor<float>& got, const std::string& ref_name, double tol = kRelTol) {
    const Tensor<float> want = ref::tensor(ref_name);
    REQUIRE(got.shape() == want.shape());
    const double e = rel_l2(got.data(), want.data(), want.numel());
    CAPTURE(ref_name);
    CHECK(e <= tol);
    if (report()) MESSAGE(ref_name << ": relative L2 " << e);
}

struct Backend {
    NetModel enc = ref::model(true), dec = ref::model(false);
    CpuAdainBackend b{enc, dec};
};

Backend& backend() {
    static Backend b;
    return b;
}

AdainMix blend(std::vector<double> w, double alpha, cpu::AdainStats stats) {
    AdainMix m;
    m.weights = cpu::adain_normalised_weights(w);
    m.alpha = alpha;
    m.stats = stats;
    return m;
}

std::vector<std::int32_t> fixture_regions() {
    const std::vector<Tensor<float>> masks = [] {
        std::vector<Tensor<float>> m;
        m.push_back(ref::tensor("in.mask1", true));
        m.push_back(ref::tensor("in.mask2", true));
        return m;
    }();
    const std::vector<std::int32_t> px = mask_pixel_labels(masks, {"mask1", "mask2"}, 32, 32);
    return mask_feature_labels(px, 32, 32, 32, 32);
}

// clamp(crop_top_left(reference output)), the full pipeline's expected image.
Tensor<float> expected_image(const std::string& case_name, int h, int w) {
    Tensor<float> out = crop_top_left(ref::tensor(case_name + ".out").cview(), h, w);
    for (auto& v : out) v = std::clamp(v, 0.f, 1.f);
    return out;
}

double max_abs(const Tensor<float>& a, const Tensor<float>& b) {
    REQUIRE(a.shape() == b.shape());
    double m = 0;
    for (std::size_t i = 0; i < a.numel(); ++i) m = std::max(m, std::abs(double(a[i]) - double(b[i])));
    return m;
}

}  // namespace

TEST_CASE("adain stylize: style statistics of both conventions match the reference") {
    Backend& be = backend();
    const Tensor<float> style = ref::tensor("in.style1");
    for (const char* conv : {"port", "official"}) {
        const AdainStyleCode code = be.b.encode_style(style.cview(), parse_adain_stats(conv));
        check_close(code.mean, std::string("stats.") + conv + ".style1.mean");
        check_close(code.std, std::string("stats.") + conv + ".style1.std");
    }
}

TEST_CASE("adain stylize: one style / interpolation with alpha / official statistics vs pytorch-AdaIN") {
    Backend& be = backend();
    const Tensor<float> content = ref::tensor("in.content"), s1 = ref::tensor("in.style1"),
                        s2 = ref::tensor("in.style2");
    using cpu::AdainStats;
    std::vector<AdainStyleCode> port;
    port.push_back(be.b.encode_style(s1.cview(), AdainStats::Port));
    port.push_back(be.b.encode_style(s2.cview(), AdainStats::Port));

    std::vector<AdainStyleCode> one;
    one.push_back(be.b.encode_style(s1.cview(), AdainStats::Port));
    check_close(be.b.stylize(content.cview(), one, blend({1}, 1.0, AdainStats::Port)), "single.out");
    check_close(be.b.last_features(), "single.feat");

    const nlohmann::json s = ref::settings();
    check_close(be.b.stylize(content.cview(), port,
                             blend(s.at("interp_weights").get<std::vector<double>>(),
                                   s.at("interp_alpha").get<double>(), AdainStats::Port)),
                "interp.out");

    std::vector<AdainStyleCode> official;
    official.push_back(be.b.encode_style(s1.cview(), AdainStats::Official));
    check_close(be.b.stylize(content.cview(), official,
                             blend({1}, s.at("official_alpha").get<double>(), AdainStats::Official)),
                "official.out");
}

TEST_CASE("adain stylize: coral recolours the style as the port's coral does") {
    Backend& be = backend();
    const Tensor<float> content = ref::tensor("in.content"), s1 = ref::tensor("in.style1");
    const Tensor<float> recoloured = color::coral(s1.cview(), content.cview(), "style", "content");
    check_close(recoloured, "coral.style", 1e-6);
    std::vector<AdainStyleCode> codes;
    codes.push_back(be.b.encode_style(recoloured.cview(), cpu::AdainStats::Port));
    check_close(be.b.stylize(content.cview(), codes, blend({1}, 1.0, cpu::AdainStats::Port)), "coral.out");

    // The full pipeline with --preserve-color.
    AdainSettings settings;
    settings.preserve_color = true;
    settings.style_size = 0;
    std::vector<Tensor<float>> styles;
    styles.push_back(s1.clone());
    AdainStylizer st(be.b, settings, std::move(styles), {"s1"}, false);
    CHECK(max_abs(st.run(content.cview(), "c"), expected_image("coral", 32, 32)) <= 1e-5);

    // A constant channel cannot be standardised: an input error naming the image.
    Tensor<float> flat = s1.clone();
    std::fill(flat.begin(), flat.begin() + std::ptrdiff_t(flat.shape().plane()), 0.25f);
    try {
        color::coral(flat.cview(), content.cview(), "style image 'flat.png'", "content");
        FAIL("no error for a constant channel");
    } catch (const Error& e) {
        CHECK(e.code() == ExitCode::Input);
        CHECK(std::string(e.what()).find("'flat.png' has a constant red channel") != std::string::npos);
    }
}

TEST_CASE("adain stylize: masks give each region its style as the official test.lua does") {
    Backend& be = backend();
    const Tensor<float> content = ref::tensor("in.content");
    const std::vector<std::int32_t> regions = fixture_regions();
    CHECK(regions == ref::results().at("mask_feature_labels").get<std::vector<std::int32_t>>());
    const nlohmann::json s = ref::settings();
    const double alpha = s.at("mask_alpha").get<double>();
    for (const char* conv : {"port", "official"}) {
        const cpu::AdainStats stats = parse_adain_stats(conv);
        std::vector<AdainStyleCode> codes;
        codes.push_back(be.b.encode_style(ref::tensor("in.style1").cview(), stats));
        codes.push_back(be.b.encode_style(ref::tensor("in.style2").cview(), stats));
        AdainMix mix = blend({1, 1}, alpha, stats);
        mix.regions = regions;
        const std::string name = std::string("masks") + (stats == cpu::AdainStats::Port ? "" : "_official");
        check_close(be.b.stylize(content.cview(), codes, mix), name + ".out");
        if (stats == cpu::AdainStats::Port) check_close(be.b.last_features(), "masks.feat");
    }
    // The full pipeline with the masks as images.
    AdainSettings settings;
    settings.alpha = alpha;
    settings.style_size = 0;
    std::vector<Tensor<float>> styles;
    styles.push_back(ref::tensor("in.style1"));
    styles.push_back(ref::tensor("in.style2"));
    AdainStylizer st(be.b, settings, std::move(styles), {"s1", "s2"}, true);
    std::vector<Tensor<float>> masks;
    masks.push_back(ref::tensor("in.mask1", true));
    masks.push_back(ref::tensor("in.mask2", true));
    CHECK(max_abs(st.run(content.cview(), "c", masks, {"m1", "m2"}), expected_image("masks", 32, 32)) <= 1e-5);
}

TEST_CASE("adain stylize: sizes that are not multiples of 8 give the port's output cropped or the reflect-padded one") {
    Backend& be = backend();
    const Tensor<float> odd = ref::tensor("in.content_odd");
    REQUIRE(odd.shape() == Shape{1, 3, 36, 28});
    std::vector<AdainStyleCode> codes;
    codes.push_back(be.b.encode_style(ref::tensor("in.style1").cview(), cpu::AdainStats::Port));
    // The port runs the encoder at 36 x 28 (ceil pools: 5 x 4 features) and outputs 40 x 32.
    check_close(be.b.stylize(odd.cview(), codes, blend({1}, 1.0, cpu::AdainStats::Port)), "odd_none.out");
    check_close(be.b.last_features(), "odd_none.feat");
    const Tensor<float> padded = reflect_pad_to_multiple(odd.cview(), kAdainMultiple);
    check_close(be.b.stylize(padded.cview(), codes, blend({1}, 1.0, cpu::AdainStats::Port)), "odd_reflect.out");

    for (AdainPad pad : {AdainPad::None, AdainPad::Reflect}) {
        AdainSettings settings;
        settings.style_size = 0;
        settings.pad = pad;
        std::vector<Tensor<float>> styles;
        styles.push_back(ref::tensor("in.style1"));
        AdainStylizer st(be.b, settings, std::move(styles), {"s1"}, false);
        const Tensor<float> out = st.run(odd.cview(), "odd");
        CHECK(out.shape() == Shape{1, 3, 36, 28});
        CHECK(max_abs(out, expected_image(pad == AdainPad::None ? "odd_none" : "odd_reflect", 36, 28)) <= 1e-5);
    }
}

TEST_CASE("adain regions: one region is the plain AdaIN and labels and counts are checked") {
    const Tensor<float> x = test::random_tensor<float>(Shape{1, 5, 6, 7}, 11, -2, 3);
    const Tensor<float> m = test::random_tensor<float>(Shape{1, 5, 1, 1}, 12, -1, 1);
    const Tensor<float> sd = test::random_tensor<float>(Shape{1, 5, 1, 1}, 13, 0.5, 2);
    for (auto stats : {cpu::AdainStats::Port, cpu::AdainStats::Official}) {
        Tensor<float> a(x.shape()), b(x.shape());
        cpu::adain_blend(a.view(), x.cview(), {{m.cview(), sd.cview()}}, {1.0}, 0.7, stats);
        cpu::adain_regions(b.view(), x.cview(), std::vector<std::int32_t>(42, 0), {{m.cview(), sd.cview()}}, 0.7,
                           stats);
        CHECK(max_abs(a, b) == 0);
    }
    // Region 2 of 2 has one pixel: no unbiased variance (Port); fine under Official.
    std::vector<std::int32_t> labels(42, 0);
    labels[5] = 1;
    Tensor<float> y(x.shape());
    const std::vector<cpu::AdainStyleStats> two = {{m.cview(), sd.cview()}, {m.cview(), sd.cview()}};
    CHECK_THROWS_AS(cpu::adain_regions(y.view(), x.cview(), labels, two, 1.0, cpu::AdainStats::Port), Error);
    CHECK_NOTHROW(cpu::adain_regions(y.view(), x.cview(), labels, two, 1.0, cpu::AdainStats::Official));
    // Region 2 with one pixel under Official: sigma_x = sqrt(0 + eps), so that pixel becomes mu_style.
    for (int c = 0; c < 5; ++c) CHECK(y.view().at(0, c, 0, 5) == doctest::Approx(m[std::size_t(c)]).epsilon(1e-6));
    labels[7] = 2;
    CHECK_THROWS_AS(cpu::region_pixel_counts(labels, 2), Error);
}

TEST_CASE("adain masks: pixel labels and their feature-map sampling") {
    auto mask = [](int h, int w, auto inside) {
        Tensor<float> m(Shape{1, 3, h, w});
        for (int c = 0; c < 3; ++c)
            for (int y = 0; y < h; ++y)
                for (int x = 0; x < w; ++x) m.view().at(0, c, y, x) = inside(y, x) ? 1.f : 0.f;
        return m;
    };
    const int h = 19, w = 13;
    std::vector<Tensor<float>> masks;
    masks.push_back(mask(h, w, [](int y, int) { return y < 7; }));
    masks.push_back(mask(h, w, [](int y, int) { return y >= 7; }));
    const std::vector<std::int32_t> px = mask_pixel_labels(masks, {"a", "b"}, h, w);
    // Same size: feature (i, j) samples pixel (min(8i + 4, 18), min(8j + 4, 12)): rows 4, 12, 18.
    const std::vector<std::int32_t> f = mask_feature_labels(px, h, w, h, w);
    REQUIRE(f.size() == 3u * 2u);
    CHECK(f == std::vector<std::int32_t>{0, 0, 1, 1, 1, 1});
    // Content resized to 38 x 26 (twice): rows 4, 12, 20, 28, 36 -> original floor((r + 0.5) / 2).
    const std::vector<std::int32_t> g = mask_feature_labels(px, h, w, 38, 26);
    REQUIRE(g.size() == 5u * 4u);
    const int want_rows[5] = {2, 6, 10, 14, 18};
    for (int i = 0; i < 5; ++i)
        for (int j = 0; j < 4; ++j) CHECK(g[std::size_t(i * 4 + j)] == (want_rows[i] < 7 ? 0 : 1));

    auto input_error = [&](const std::vector<Tensor<float>>& ms, const std::string& says) {
        try {
            mask_pixel_labels(ms, {"a.png", "b.png"}, h, w);
            FAIL("no error: " << says);
        } catch (const Error& e) {
            CHECK(e.code() == ExitCode::Input);
            CHECK_MESSAGE(std::string(e.what()).find(says) != std::string::npos, e.what());
        }
    };
    std::vector<Tensor<float>> gap;
    gap.push_back(mask(h, w, [](int y, int) { return y < 7; }));
    gap.push_back(mask(h, w, [](int y, int) { return y >= 8; }));
    input_error(gap, "pixel (0, 7) is in no mask");
    std::vector<Tensor<float>> overlap;
    overlap.push_back(mask(h, w, [](int y, int) { return y < 9; }));
    overlap.push_back(mask(h, w, [](int y, int) { return y >= 8; }));
    input_error(overlap, "masks 'a.png' and 'b.png' overlap at pixel (0, 8)");
    std::vector<Tensor<float>> small;
    small.push_back(mask(h, w - 1, [](int, int) { return true; }));
    small.push_back(mask(h, w, [](int, int) { return false; }));
    input_error(small, "mask 'a.png' is 12x19, the content image 13x19");
}

TEST_CASE("adain stylize: settings and constant images are refused") {
    Backend& be = backend();
    auto styles = [] {
        std::vector<Tensor<float>> s;
        s.push_back(ref::tensor("in.style1"));
        return s;
    };
    auto code_of = [&](AdainSettings s, std::vector<Tensor<float>> st, bool masks = false) {
        try {
            AdainStylizer x(be.b, s, std::move(st), std::vector<std::string>(1, "s.png"), masks);
        } catch (const Error& e) {
            return int(e.code());
        }
        return 0;
    };
    AdainSettings s;
    s.style_size = 0;
    s.alpha = 1.5;
    CHECK(code_of(s, styles()) == 2);
    s.alpha = -0.1;
    CHECK(code_of(s, styles()) == 2);
    s.alpha = 0.5;
    s.weights = {1, 2};
    CHECK(code_of(s, styles()) == 2);
    s.weights = {0};
    CHECK(code_of(s, styles()) == 2);
    s.weights = {1};
    CHECK(code_of(s, styles(), true) == 2);  // weights with masks
    s.weights = {};
    std::vector<Tensor<float>> flat;
    flat.emplace_back(Shape{1, 3, 16, 16});
    std::fill(flat[0].begin(), flat[0].end(), 0.3f);
    CHECK(code_of(s, std::move(flat)) == 3);
    AdainStylizer ok(be.b, s, styles(), {"s.png"}, false);
    Tensor<float> grey(Shape{1, 3, 16, 16});
    std::fill(grey.begin(), grey.end(), 0.5f);
    try {
        ok.run(grey.cview(), "grey.png");
        FAIL("a constant content image was accepted");
    } catch (const Error& e) {
        CHECK(e.code() == ExitCode::Input);
        CHECK(std::string(e.what()).find("content image 'grey.png' is a constant image") != std::string::npos);
    }
}
