// SPDX-License-Identifier: MIT
// The peer convention options and presets through the CLI (issue #16): usage errors (exit 2,
// one line) for each option's bad values; --output-iterate previous writes x_{N-1} (the same
// tensor a run of N-1 iterations ends at); --output-rounding truncate writes floor(255 v) where
// round writes round(255 v), from the same x; and the warning line when a preset that expects
// the Caffe port gets torchvision-marked weights; --preset pytorch-tutorial's image-space iterate
// (.npy = the image, PNG = its truncation) and its refusal for video.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "io/image.h"
#include "io/npy.h"
#include "io/preprocess.h"
#include "nn/weights.h"
#include "test_util.h"

using namespace nst;
using nst::test::check_cli_error;
using nst::test::run_nst;

namespace {

struct Fixture {
    std::string dir, content, style;
    explicit Fixture(const std::string& name) : dir(test::temp_dir("cli_peers_" + name)) {
        content = test::smooth_png(dir, "content.png", 40, 48, 1);
        style = test::smooth_png(dir, "style.png", 36, 36, 2);
    }
    std::vector<std::string> run_args(const std::string& output, std::vector<std::string> extra = {}) const {
        std::vector<std::string> a = {"run",      "--content", content,    "--style",          style,
                                      "--output", output,      "--weights", "random:3",        "--image-size",
                                      "32",       "--init",    "content",   "--num-iterations", "3",
                                      "--print-iter", "0",     "--backend", "cpu"};
        a.insert(a.end(), extra.begin(), extra.end());
        return a;
    }
};

}  // namespace

TEST_CASE("cli peers: bad convention values are usage errors") {
    Fixture f("usage");
    const std::string out = f.dir + "/out.png";
    check_cli_error(f.run_args(out, {"--caffe-scale", "254"}), 2, out, "--caffe-scale");
    check_cli_error(f.run_args(out, {"--resize", "lanczos"}), 2, out, "--resize");
    check_cli_error(f.run_args(out, {"--tv-form", "l3"}), 2, out, "--tv-form");
    check_cli_error(f.run_args(out, {"--normalize-gradients", "yes"}), 2, out, "--normalize-gradients");
    check_cli_error(f.run_args(out, {"--output-iterate", "first"}), 2, out, "--output-iterate");
    check_cli_error(f.run_args(out, {"--output-rounding", "floor"}), 2, out, "--output-rounding");
    check_cli_error(f.run_args(out, {"--tol-grad", "nan"}), 2, out, "--tol-grad");
    check_cli_error(f.run_args(out, {"--preset", "neural-style"}), 2, out, "neural-style-pt");
    check_cli_error(f.run_args(out, {"--normalize-gradients", "jcjohnson", "--tile-rows", "8"}), 2, out,
                    "--normalize-gradients jcjohnson");
}

TEST_CASE("cli peers: --output-iterate previous writes x_{N-1}") {
    Fixture f("iterate");
    const std::string prev = f.dir + "/prev.npy", two = f.dir + "/two.npy", three = f.dir + "/three.npy";
    REQUIRE(run_nst(f.run_args(prev, {"--output-iterate", "previous"})).exit_code == 0);
    REQUIRE(run_nst(f.run_args(two, {"--num-iterations", "2"})).exit_code == 0);
    REQUIRE(run_nst(f.run_args(three)).exit_code == 0);
    CHECK(test::read_file(prev) == test::read_file(two));
    CHECK(test::read_file(prev) != test::read_file(three));
    // --save-iter under previous is one step behind too: <out>_2 holds x_1.
    const std::string saves = f.dir + "/s.npy", one = f.dir + "/one.npy";
    REQUIRE(run_nst(f.run_args(saves, {"--output-iterate", "previous", "--save-iter", "2", "--num-iterations", "4"}))
                .exit_code == 0);
    REQUIRE(run_nst(f.run_args(one, {"--num-iterations", "1"})).exit_code == 0);
    CHECK(test::read_file(f.dir + "/s_2.npy") == test::read_file(one));
    CHECK(test::read_file(saves) == test::read_file(three));
}

TEST_CASE("cli peers: --output-rounding truncate writes floor(255 v)") {
    Fixture f("rounding");
    const std::string x = f.dir + "/x.npy", rounded = f.dir + "/r.png", truncated = f.dir + "/t.png";
    const std::vector<std::string> common = {"--preset", "neural-style-pt", "--output-iterate", "last"};
    auto with = [&](std::vector<std::string> extra) {
        extra.insert(extra.begin(), common.begin(), common.end());
        return extra;
    };
    REQUIRE(run_nst(f.run_args(x, with({}))).exit_code == 0);
    REQUIRE(run_nst(f.run_args(rounded, with({"--output-rounding", "round"}))).exit_code == 0);
    REQUIRE(run_nst(f.run_args(truncated, with({}))).exit_code == 0);  // the preset's truncate
    const Tensor<float> xt = load_npy_image(x);
    Tensor<float> rgb(xt.shape());
    Preprocessor pre;
    pre.caffe_scale = 255.f;  // neural-style-pt's scale; random weights are caffe
    pre.to_image(rgb.view(), xt.cview());
    const Tensor<float> r = load_image(rounded), t = load_image(truncated);
    int floors = 0, rounds = 0, differ = 0;
    for (std::size_t i = 0; i < rgb.numel(); ++i) {
        const float c = std::min(1.f, std::max(0.f, rgb[i]));
        floors += std::lround(t[i] * 255) == long(std::floor(c * 255.f));
        rounds += std::lround(r[i] * 255) == long(std::floor(double(c) * 255.0 + 0.5));
        differ += std::lround(t[i] * 255) != std::lround(r[i] * 255);
    }
    CHECK(floors == int(rgb.numel()));
    CHECK(rounds == int(rgb.numel()));
    MESSAGE("truncate vs round: " << differ << " of " << rgb.numel() << " samples differ by one level");
    CHECK(differ > 0);
}

TEST_CASE("cli peers: a Caffe-port preset given torchvision weights warns once") {
    Fixture f("warn");
    Vgg19Weights w = test::he_weights(5, 0.0);
    w.random = false;
    w.preprocess = PreprocessKind::Torchvision;
    const std::string path = f.dir + "/tv.safetensors";
    save_weights_safetensors(path, w);
    const std::string out = f.dir + "/o.png";
    const test::RunResult r =
        run_nst(f.run_args(out, {"--preset", "neural-style-pt", "--weights", path, "--num-iterations", "1"}));
    CHECK(r.exit_code == 0);
    CHECK(r.err.find("nst: warning: --preset neural-style-pt expects Caffe-port") != std::string::npos);
    CHECK(test::count_lines(r.err.substr(r.err.find("nst: warning: --preset"))) >= 1);
    const test::RunResult quiet = run_nst(f.run_args(out, {"--weights", path, "--num-iterations", "1"}));
    CHECK(quiet.err.find("expects Caffe-port") == std::string::npos);  // nst's own presets take any weights
}

TEST_CASE("cli peers: --preset pytorch-tutorial optimises the RGB image itself") {
    Fixture f("tutorial");
    const std::string x = f.dir + "/x.npy", png = f.dir + "/x.png", net = f.dir + "/net.npy";
    const std::vector<std::string> tutorial = {"--preset", "pytorch-tutorial"};
    REQUIRE(run_nst(f.run_args(x, tutorial)).exit_code == 0);
    REQUIRE(run_nst(f.run_args(png, tutorial)).exit_code == 0);
    // In image space the .npy holds the image (no preprocessing to undo) and the PNG is
    // floor(255 clamp(x)) of it: the preset's truncation, as ToPILImage after the final clamp_.
    const Tensor<float> xt = load_npy_image(x), p = load_image(png);
    REQUIRE(xt.shape() == p.shape());
    int floors = 0, outside = 0;
    for (std::size_t i = 0; i < xt.numel(); ++i) {
        const float c = std::min(1.f, std::max(0.f, xt[i]));
        floors += std::lround(p[i] * 255) == long(std::floor(c * 255.f));
        outside += xt[i] < -0.5f || xt[i] > 1.5f;
    }
    CHECK(floors == int(xt.numel()));
    CHECK(outside == 0);  // RGB, not the network's input (which spans about -2..2.6)
    // The same preset optimising the network's input takes other steps (L-BFGS is not invariant
    // to the per-channel scaling), so the option is what decides.
    std::vector<std::string> in_net = tutorial;
    in_net.insert(in_net.end(), {"--iterate-space", "network", "--clamp-iterate", "off"});
    REQUIRE(run_nst(f.run_args(net, in_net)).exit_code == 0);
    const Tensor<float> xn = load_npy_image(net);
    double spread = 0;
    for (std::size_t i = 0; i < xn.numel(); ++i) spread = std::max(spread, double(std::fabs(xn[i])));
    CHECK(spread > 1.5);  // network space (random weights are caffe-preprocessed: 0..255 minus the mean)
}

TEST_CASE("cli peers: bad --iterate-space and --clamp-iterate values and no image space for video") {
    Fixture f("space");
    const std::string out = f.dir + "/out.png";
    check_cli_error(f.run_args(out, {"--iterate-space", "rgb"}), 2, out, "--iterate-space");
    check_cli_error(f.run_args(out, {"--clamp-iterate", "yes"}), 2, out, "--clamp-iterate");
    // Refused with the option values, before any frame is read or written.
    const std::string frames = f.dir + "/frames", clip_out = f.dir + "/styled.mkv";
    std::filesystem::create_directories(frames);
    test::smooth_png(frames, "frame_00001.png", 40, 48, 1);
    test::smooth_png(frames, "frame_00002.png", 40, 48, 2);
    check_cli_error({"video", "--content", frames, "--style", f.style, "--output", clip_out, "--weights", "random:3",
                     "--image-size", "32", "--preset", "pytorch-tutorial", "--backend", "cpu"},
                    2, clip_out, "--iterate-space image");
}
