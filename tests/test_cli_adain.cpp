// SPDX-License-Identifier: MIT
// `nst stylize` with an AdaIN decoder (cli/cmd_stylize.cpp -> engine/adain_stylize.h): the options
// reach the engine (the PNG equals the engine's result, itself checked against pytorch-AdaIN in
// test_adain_stylize.cpp, to within one 8-bit level), sizes are kept, folders map to folders,
// and every refused input exits with the spec's code, one line, and leaves the output alone.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "adain_fixture.h"
#include "core/error.h"
#include "engine/adain_stylize.h"
#include "io/image.h"
#include "nn/net_model.h"
#include "nn/transformer_net.h"
#include "test_util.h"

using namespace nst;
namespace ref = nst::test::adain_ref;

namespace {

struct AdainFiles {
    std::string dir, encoder, decoder, content, style1, style2, mask1, mask2;
    explicit AdainFiles(const std::string& name) : dir(test::temp_dir(name)) {
        encoder = dir + "/enc.safetensors";
        decoder = dir + "/dec.safetensors";
        save_model(encoder, ref::model(true));
        save_model(decoder, ref::model(false));
        content = test::smooth_png(dir, "content.png", 37, 29, 1);
        style1 = test::smooth_png(dir, "style1.png", 40, 24, 2);
        style2 = test::smooth_png(dir, "style2.png", 21, 30, 3);
        mask1 = write_mask("mask1.png", 37, 29, [](int y, int x) { return x + y < 30; });
        mask2 = write_mask("mask2.png", 37, 29, [](int y, int x) { return x + y >= 30; });
    }
    template <typename F>
    std::string write_mask(const std::string& name, int h, int w, F inside) const {
        Tensor<float> m(Shape{1, 3, h, w});
        for (int c = 0; c < 3; ++c)
            for (int y = 0; y < h; ++y)
                for (int x = 0; x < w; ++x) m.view().at(0, c, y, x) = inside(y, x) ? 1.f : 0.f;
        save_image(dir + "/" + name, m.cview());
        return dir + "/" + name;
    }
    std::vector<std::string> args(const std::string& output, const std::vector<std::string>& extra) const {
        std::vector<std::string> a = {"stylize", "--model", decoder, "--encoder", encoder, "--content", content,
                                      "--output", output, "--quiet"};
        a.insert(a.end(), extra.begin(), extra.end());
        return a;
    }
    // args() with small styles (--style-size 24): the error cases that get as far as encoding.
    std::vector<std::string> eargs(const std::string& output, std::vector<std::string> extra) const {
        extra.insert(extra.end(), {"--style-size", "24"});
        return args(output, extra);
    }
};

double max_level_diff(const Tensor<float>& a, const Tensor<float>& b) {
    REQUIRE(a.shape() == b.shape());
    double m = 0;
    for (std::size_t i = 0; i < a.numel(); ++i) m = std::max(m, std::abs(double(a[i]) - double(b[i])) * 255.0);
    return m;
}

}  // namespace

TEST_CASE("stylize cli adain: the options reach the engine and the size is kept") {
    const AdainFiles f("cli_adain");
    const NetModel enc = ref::model(true), dec = ref::model(false);
    CpuAdainBackend backend(enc, dec);
    const Tensor<float> content = load_image(f.content);
    struct Case {
        std::vector<std::string> extra;
        AdainSettings settings;
        bool two_styles, masks;
    };
    std::vector<Case> cases;
    {
        AdainSettings s;
        s.style_size = 64;  // the default 512 would upscale the 40 x 24 style: seconds per run
        cases.push_back({{"--style", f.style1, "--style-size", "64"}, s, false, false});
    }
    {
        AdainSettings s;
        s.alpha = 0.6;
        s.weights = {1, 3};
        s.stats = cpu::AdainStats::Official;
        s.style_size = 0;
        s.pad = AdainPad::Reflect;
        cases.push_back({{"--style", f.style1 + "," + f.style2, "--style-weights", "1,3", "--alpha", "0.6",
                          "--adain-stats", "official", "--style-size", "0", "--pad", "reflect"},
                         s, true, false});
    }
    {
        AdainSettings s;
        s.alpha = 0.9;
        s.preserve_color = true;
        s.style_size = 32;
        cases.push_back({{"--style", f.style1, "--style", f.style2, "--masks", f.mask1 + "," + f.mask2, "--alpha",
                          "0.9", "--preserve-color", "--style-size", "32"},
                         s, true, true});
    }
    {
        AdainSettings s;
        s.content_size = 20;
        s.style_size = 0;
        cases.push_back({{"--style", f.style1, "--content-size", "20", "--style-size", "0"}, s, false, false});
    }
    for (std::size_t i = 0; i < cases.size(); ++i) {
        const Case& c = cases[i];
        CAPTURE(i);
        const std::string out = f.dir + "/out" + std::to_string(i) + ".png";
        const test::RunResult r = test::run_nst(f.args(out, c.extra));
        INFO(r.err);
        REQUIRE(r.exit_code == 0);
        std::vector<Tensor<float>> styles;
        styles.push_back(load_image(f.style1));
        std::vector<std::string> names = {f.style1};
        if (c.two_styles) {
            styles.push_back(load_image(f.style2));
            names.push_back(f.style2);
        }
        AdainStylizer st(backend, c.settings, std::move(styles), names, c.masks);
        std::vector<Tensor<float>> masks;
        if (c.masks) {
            masks.push_back(load_image(f.mask1));
            masks.push_back(load_image(f.mask2));
        }
        const Tensor<float> want = c.masks ? st.run(content.cview(), f.content, masks, {f.mask1, f.mask2})
                                           : st.run(content.cview(), f.content);
        const Tensor<float> got = load_image(out);
        CHECK(got.shape() == want.shape());
        if (!c.settings.content_size) CHECK(got.shape() == Shape{1, 3, 37, 29});
        if (c.settings.content_size) CHECK(std::min(got.shape().h, got.shape().w) == 20);
        CHECK(max_level_diff(got, want) <= 0.5 + 1e-3);
    }

    // A folder: every image, the styles encoded once.
    const std::string in = f.dir + "/in";
    std::filesystem::create_directories(in + "/sub");
    test::smooth_png(in, "a.png", 18, 23, 4);
    test::smooth_png(in + "/sub", "b.png", 9, 13, 5);
    const test::RunResult r =
        test::run_nst({"stylize", "--model", f.decoder, "--encoder", f.encoder, "--content", in, "--style", f.style1,
                       "--style-size", "0", "--output", f.dir + "/outdir", "--quiet"});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(load_image(f.dir + "/outdir/a.png").shape() == Shape{1, 3, 18, 23});
    CHECK(load_image(f.dir + "/outdir/sub/b.png").shape() == Shape{1, 3, 9, 13});
}

TEST_CASE("stylize cli adain: bad input fails with one line and leaves the output alone") {
    const AdainFiles f("cli_adain_errors");
    const std::string out = f.dir + "/out.png";
    const std::string s1 = f.style1, s2 = f.style2;
    const std::string flat = f.write_mask("flat.png", 37, 29, [](int, int) { return true; });
    const std::string small = f.write_mask("small.png", 36, 29, [](int, int) { return true; });
    const std::string top = f.write_mask("top.png", 37, 29, [](int y, int) { return y < 10; });
    const std::string bottom = f.write_mask("bottom.png", 37, 29, [](int y, int) { return y >= 12; });
    // Usage (2).
    test::check_cli_error({"stylize", "--model", f.decoder, "--content", f.content, "--style", s1, "--output", out}, 2,
                          out, "--encoder");
    test::check_cli_error(f.eargs(out, {}), 2, out, "--style");
    test::check_cli_error(f.eargs(out, {"--style", s1 + "," + s2, "--style-weights", "1"}), 2, out,
                          "1 weight(s) for 2 style image(s)");
    test::check_cli_error(f.eargs(out, {"--style", s1 + "," + s2, "--style-weights", "1,-2"}), 2, out, "> 0");
    test::check_cli_error(f.eargs(out, {"--style", s1 + "," + s2, "--style-weights", "0,1"}), 2, out, "> 0");
    test::check_cli_error(f.eargs(out, {"--style", s1, "--style-weights", "x"}), 2, out, "not a number");
    test::check_cli_error(f.eargs(out, {"--style", s1, "--alpha", "1.5"}), 2, out, "--alpha");
    test::check_cli_error(f.eargs(out, {"--style", s1, "--alpha", "-0.1"}), 2, out, "--alpha");
    test::check_cli_error(f.eargs(out, {"--style", s1 + "," + s2, "--masks", f.mask1}), 2, out,
                          "1 mask(s) for 2 style image(s)");
    test::check_cli_error(f.eargs(out, {"--style", s1 + "," + s2, "--masks", f.mask1 + "," + f.mask2,
                                       "--style-weights", "1,2"}),
                          2, out, "exclude each other");
    test::check_cli_error(f.eargs(out, {"--style", s1, "--adain-stats", "torch"}), 2, out, "--adain-stats");
    test::check_cli_error(f.eargs(out, {"--style", s1, "--pad", "zero"}), 2, out, "--pad");
    // --method wct runs an adain-decoder as WCT's level-4 decoder (tests/test_cli_wct.cpp), without
    // AdaIN's controls.
    test::check_cli_error(f.eargs(out, {"--style", s1, "--method", "wct", "--preserve-color"}), 2, out,
                          "AdaIN options");
    test::check_cli_error(f.eargs(out, {"--style", s1, "--method", "gatys"}), 2, out, "--method");
    test::check_cli_error(f.eargs(out, {"--style", s1, "--content-size", "-1"}), 2, out, "--content-size");
    // Input (3).
    test::check_cli_error({"stylize", "--model", f.decoder, "--encoder", f.decoder, "--content", f.content, "--style",
                           s1, "--output", out},
                          3, out, "needs an adain-encoder");
    test::check_cli_error(f.eargs(out, {"--style", f.dir + "/missing.png"}), 3, out, "missing.png");
    test::check_cli_error(f.eargs(out, {"--style", s1 + "," + s2, "--masks", small + "," + f.mask2}), 3, out,
                          "masks must have the content's size");
    test::check_cli_error(f.eargs(out, {"--style", s1 + "," + s2, "--masks", top + "," + bottom}), 3, out,
                          "pixel (0, 10) is in no mask");
    test::check_cli_error(f.eargs(out, {"--style", s1 + "," + s2, "--masks", flat + "," + f.mask1}), 3, out,
                          "overlap");
    test::check_cli_error(f.eargs(out, {"--style", flat}), 3, out, "style image '" + flat + "' is a constant image");
    test::check_cli_error({"stylize", "--model", f.decoder, "--encoder", f.encoder, "--content", flat, "--style", s1,
                           "--style-size", "0", "--output", out},
                          3, out, "content image '" + flat + "' is a constant image");
    // A per-style model with style options.
    NetModel tn;
    tn.desc = transformer_net_desc(TransformerLayout::PytorchExamples, 8);
    tn.params = init_params(tn.desc, 3);
    tn.metadata = {{"nst.width", "8"}, {"nst.io", "rgb255"}};
    save_model(f.dir + "/tn.safetensors", tn);
    test::check_cli_error({"stylize", "--model", f.dir + "/tn.safetensors", "--content", f.content, "--style", s1,
                           "--output", out},
                          2, out, "its style is built in");
    test::check_cli_error({"stylize", "--model", f.dir + "/tn.safetensors", "--content", f.content, "--method",
                           "adain", "--output", out},
                          2, out, "--method adain");
    // Masks with a folder of contents.
    std::filesystem::create_directories(f.dir + "/folder");
    test::smooth_png(f.dir + "/folder", "x.png", 16, 16, 2);
    const test::RunResult r =
        test::run_nst({"stylize", "--model", f.decoder, "--encoder", f.encoder, "--content", f.dir + "/folder",
                       "--style", s1 + "," + s2, "--masks", f.mask1 + "," + f.mask2, "--output", f.dir + "/o"});
    CHECK(r.exit_code == 2);
    CHECK(r.err.rfind("nst: error: ", 0) == 0);
    CHECK(test::count_lines(r.err) == 1);
    CHECK(r.err.find("single --content") != std::string::npos);
    CHECK(!std::filesystem::exists(f.dir + "/o"));
}

TEST_CASE("adain models: the decoder's input channels must be the encoder's output") {
    const NetModel enc = ref::model(true);
    NetModel dec;
    dec.desc = adain_decoder_desc();
    CHECK_NOTHROW(check_adain_models(enc, "enc.safetensors", dec, "dec.safetensors"));
    dec.desc.in_channels = 256;
    try {
        check_adain_models(enc, "enc.safetensors", dec, "dec.safetensors");
        FAIL("no error");
    } catch (const Error& e) {
        CHECK(e.code() == ExitCode::Input);
        CHECK(std::string(e.what()) ==
              "decoder 'dec.safetensors' takes 256 channels but encoder 'enc.safetensors' gives 512");
    }
}
