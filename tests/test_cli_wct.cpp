// SPDX-License-Identifier: MIT
// `nst stylize --method wct` end to end: the PNG written equals engine/wct_stylize.h's result on
// the same models and images (to the 8-bit quantisation, 1/255 + rounding), at one level with the
// AdaIN decoder (alpha defaulting to the official 0.6) and at two levels with wct-decoders; bad
// input (a level without a decoder, an encoder too shallow, WCT with AdaIN-only options, alpha
// out of range) fails with the spec's exit codes and leaves the output untouched.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "engine/wct_stylize.h"
#include "io/image.h"
#include "nn/adain_net.h"
#include "nn/net_model.h"
#include "nn/wct_net.h"
#include "gained_model.h"
#include "test_util.h"

using namespace nst;

namespace {

// init_params with a He-like gain on the conv weights (tests/test_wct_net.cpp says why), saved.
NetModel save_random(const std::string& path, const NetDesc& desc, std::uint64_t seed) {
    NetModel m = test::gained_model(desc, seed, 2.5f);
    m.metadata = {{"nst.io", "rgb01"}, {"nst.source", "test"}};
    save_model(path, m);
    return load_model(path);
}

double max_abs_diff(const Tensor<float>& a, const Tensor<float>& b) {
    double d = 0;
    for (std::size_t i = 0; i < a.numel(); ++i) d = std::max(d, std::fabs(double(a.data()[i]) - b.data()[i]));
    return d;
}

}  // namespace

TEST_CASE("cli wct: stylize writes the engine's result at one and two levels") {
    const std::string dir = test::temp_dir("cli_wct");
    const std::string content = test::smooth_png(dir, "content.png", 28, 36, 1);
    const std::string style = test::smooth_png(dir, "style.png", 30, 26, 2);
    const NetModel enc = save_random(dir + "/enc.safetensors", adain_encoder_desc(), 7);
    const NetModel d4 = save_random(dir + "/d4.safetensors", adain_decoder_desc(), 14);
    const NetModel d3 = save_random(dir + "/d3.safetensors", wct_decoder_desc(3), 13);
    const NetModel d1 = save_random(dir + "/d1.safetensors", wct_decoder_desc(1), 11);
    CHECK(d3.metadata.at("nst.level") == "3");

    WctModels models;
    models.encoder = &enc;
    models.decoders[4] = &d4;
    models.decoders[3] = &d3;
    models.decoders[1] = &d1;
    CpuWctBackend backend(models);
    const Tensor<float> c = load_image(content);
    std::vector<Tensor<float>> styles;
    styles.push_back(load_image(style));

    struct Case {
        std::vector<std::string> args;
        std::vector<int> levels;
        double alpha;
    } cases[] = {
        {{"--method", "wct", "--model", dir + "/d4.safetensors"}, {4}, 0.6},
        {{"--model", dir + "/d3.safetensors," + dir + "/d1.safetensors", "--alpha", "0.9"}, {3, 1}, 0.9},
    };
    for (const Case& k : cases) {
        const std::string out = dir + "/out.png";
        std::vector<std::string> args = {"stylize", "--content", content, "--style", style, "--encoder",
                                         dir + "/enc.safetensors", "--output", out, "--style-size", "0"};
        args.insert(args.end(), k.args.begin(), k.args.end());
        const test::RunResult r = test::run_nst(args);
        INFO("stderr: " << r.err);
        REQUIRE(r.exit_code == 0);
        WctSettings s;
        s.levels = k.levels;
        s.alpha = k.alpha;
        const Tensor<float> want = wct_stylize(backend, c.cview(), styles, s);
        const Tensor<float> got = load_image(out);
        REQUIRE(got.shape() == want.shape());
        const double d = max_abs_diff(got, want);
        MESSAGE("levels " << k.levels.size() << ": max |png - engine| " << d);
        CHECK(d <= 0.5 / 255 + 1e-6);
    }
}

TEST_CASE("cli wct: bad levels and options fail cleanly") {
    const std::string dir = test::temp_dir("cli_wct_errors");
    const std::string content = test::smooth_png(dir, "content.png", 24, 24, 1);
    const std::string style = test::smooth_png(dir, "style.png", 24, 24, 2);
    save_random(dir + "/enc.safetensors", adain_encoder_desc(), 7);
    save_random(dir + "/d5.safetensors", wct_decoder_desc(5), 15);
    save_random(dir + "/d1.safetensors", wct_decoder_desc(1), 11);
    const std::string out = dir + "/out.png";
    test::write_file(out, "keep");
    const std::vector<std::string> base = {"stylize", "--content", content, "--style", style, "--encoder",
                                           dir + "/enc.safetensors", "--output", out};
    auto with = [&](std::vector<std::string> extra) {
        std::vector<std::string> a = base;
        a.insert(a.end(), extra.begin(), extra.end());
        return a;
    };
    // A level without a decoder.
    test::check_cli_error(with({"--model", dir + "/d1.safetensors", "--levels", "3,1"}), 3, out,
                          "no decoder for level 3");
    // The AdaIN encoder stops at relu4_1.
    test::check_cli_error(with({"--model", dir + "/d5.safetensors"}), 3, out, "relu4_1");
    // A decoder given for a level that --levels does not run.
    test::check_cli_error(with({"--model", dir + "/d5.safetensors," + dir + "/d1.safetensors", "--levels", "1"}), 2,
                          out, "level 5");
    test::check_cli_error(with({"--model", dir + "/d1.safetensors", "--levels", "7"}), 2, out, "--levels");
    test::check_cli_error(with({"--model", dir + "/d1.safetensors", "--alpha", "1.5"}), 2, out, "alpha");
    test::check_cli_error(with({"--model", dir + "/d1.safetensors", "--pad", "reflect"}), 2, out, "AdaIN options");
    test::check_cli_error(with({"--model", dir + "/d1.safetensors,", "--style-weights", "1,2"}), 2, out,
                          "--style-weights");
}
