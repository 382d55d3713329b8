// SPDX-License-Identifier: MIT
// Coarse-to-fine runs (`nst run --scales`, issue #11) end to end: the stage files and their sizes,
// the trace's stage field, each stage equal bit for bit to a single-stage run started from the
// previous stage's result (the hand-over computed here from its definition, not by nst), bad
// input giving the spec's exit codes without clobbering anything, and a later stage that fails
// or is interrupted (SIGTERM: one error line, exit 4) leaving the completed stages' files.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <sstream>

#include <nlohmann/json.hpp>

#include "io/image.h"
#include "io/npy.h"
#include "io/preprocess.h"
#include "test_util.h"

using namespace nst;
using nst::test::check_cli_error;
using nst::test::run_nst;

namespace {

// Content 36x48 and style 30x40: --scales 32,48 gives stages of 24x32 and 36x48.
struct ScalesCli : test::RunImages {
    explicit ScalesCli(const std::string& name) : RunImages("cli_scales_" + name, 36, 48, 30, 40) {}
    std::vector<std::string> args(const std::string& output, const std::vector<std::string>& extra) const {
        std::vector<std::string> a = {"--style-scale", "0.75", "--seed", "7"};
        a.insert(a.end(), extra.begin(), extra.end());
        return run_args(output, a);
    }
};

void require_ok(const test::RunResult& r) {
    INFO("stderr: " << r.err);
    REQUIRE(r.exit_code == 0);
}

Shape png_shape(const std::string& path) { return load_image(path).shape(); }

bool same_bits(const Tensor<float>& a, const Tensor<float>& b) {
    return a.shape() == b.shape() && std::equal(a.data(), a.data() + a.numel(), b.data());
}

}  // namespace

TEST_CASE("nst run --scales: stage files at each stage's size with per-stage saves and the trace and progress") {
    const ScalesCli t("files");
    const std::string out = t.path("out.png");
    const test::RunResult r = run_nst(t.args(out, {"--scales", "32,40,48", "--num-iterations", "3,2,2", "--save-iter",
                                                   "2", "--trace", t.path("trace.jsonl"), "--print-iter", "1"}));
    require_ok(r);
    CHECK(png_shape(t.path("out_stage1.png")) == Shape{1, 3, 24, 32});
    CHECK(png_shape(t.path("out_stage2.png")) == Shape{1, 3, 30, 40});
    CHECK(png_shape(out) == Shape{1, 3, 36, 48});
    CHECK(!test::file_exists(t.path("out_stage3.png")));  // the last stage is the output itself
    // --save-iter: per stage, numbered within it; never at a stage's last iteration.
    CHECK(png_shape(t.path("out_stage1_2.png")) == Shape{1, 3, 24, 32});
    CHECK(!test::file_exists(t.path("out_stage2_2.png")));
    CHECK(!test::file_exists(t.path("out_2.png")));
    // The trace: stage k's iterations numbered 1.. within it, seconds increasing across stages.
    std::istringstream lines(test::read_file(t.path("trace.jsonl")));
    std::vector<std::pair<int, int>> seen;
    double last_seconds = -1;
    for (std::string line; std::getline(lines, line);) {
        const auto j = nlohmann::json::parse(line);
        seen.emplace_back(j.at("stage").get<int>(), j.at("iter").get<int>());
        CHECK(j.at("seconds").get<double>() >= last_seconds);
        last_seconds = j.at("seconds").get<double>();
    }
    CHECK(seen == std::vector<std::pair<int, int>>{{1, 1}, {1, 2}, {1, 3}, {2, 1}, {2, 2}, {3, 1}, {3, 2}});
    CHECK(r.err.find("nst: stage 2/3 (40 px) iter 1/2") != std::string::npos);
    CHECK(r.err.find("nst: stage 3/3: 48x36, 2 iterations") != std::string::npos);

    // START:FACTOR:END counts down from END: 12:1.41421356:24 -> 24, 17, 12.
    const test::RunResult g = run_nst(t.args(t.path("g.png"), {"--scales", "12:1.41421356:24", "--num-iterations", "0",
                                                               "--style-layers", "relu1_1,relu2_1", "--content-layers",
                                                               "relu2_2"}));
    require_ok(g);
    CHECK(png_shape(t.path("g_stage1.png")) == Shape{1, 3, 9, 12});
    CHECK(png_shape(t.path("g_stage2.png")) == Shape{1, 3, 13, 17});
    CHECK(png_shape(t.path("g.png")) == Shape{1, 3, 18, 24});

    // Colour controls and masks are recomputed at each stage's size (a mask or a content chroma
    // left at another stage's size would be a shape error).
    Tensor<float> mask(Shape{1, 3, 36, 48});
    for (int c = 0; c < 3; ++c)
        for (int y = 0; y < 36; ++y)
            for (int x = 0; x < 48; ++x) mask.view().at(0, c, y, x) = x < 24 ? 1.f : 0.f;
    save_image(t.path("mask.png"), mask.cview());
    require_ok(run_nst(t.args(t.path("lum.png"), {"--scales", "32,48", "--num-iterations", "2", "--color-control",
                                                  "luminance", "--edit-mask", t.path("mask.png"), "--content-masks",
                                                  t.path("mask.png")})));
    CHECK(png_shape(t.path("lum_stage1.png")) == Shape{1, 3, 24, 32});
    CHECK(png_shape(t.path("lum.png")) == Shape{1, 3, 36, 48});
}

TEST_CASE("nst run --scales: each stage equals a single-stage run from the previous stage's result") {
    const ScalesCli t("chain");
    // --match-color is recomputed per stage too; Adam's large steps (about the learning rate per
    // pixel, in network units of 1/256) leave [0, 1], so the hand-over's clamp matters.
    const std::vector<std::string> controls = {"--match-color", "pca", "--optimizer", "adam", "--learning-rate", "100"};
    auto with = [&](std::vector<std::string> a) {
        a.insert(a.end(), controls.begin(), controls.end());
        return a;
    };
    require_ok(run_nst(t.args(t.path("multi.npy"), with({"--scales", "32,48", "--num-iterations", "4,3"}))));

    // Stage 1 is an ordinary run at the first size.
    require_ok(run_nst(t.args(t.path("single1.npy"), with({"--image-size", "32", "--num-iterations", "4"}))));
    const Tensor<float> stage1 = load_npy_image(t.path("multi_stage1.npy"));
    CHECK(stage1.shape() == Shape{1, 3, 24, 32});
    CHECK(same_bits(stage1, load_npy_image(t.path("single1.npy"))));

    // The hand-over by its definition (docs/conventions.md): x -> RGB (random weights: caffe,
    // jcjohnson preset: scale 256), clamped to [0, 1], resized to the next content size, back to
    // network space. Stage 2 is then an ordinary run at 48 from that init.
    const Preprocessor pre{PreprocessKind::Caffe, 256.f};
    Tensor<float> rgb(stage1.shape());
    pre.to_image(rgb.view(), stage1.cview());
    int clamped = 0;
    for (std::size_t i = 0; i < rgb.numel(); ++i) {
        clamped += rgb[i] < 0 || rgb[i] > 1;
        rgb[i] = std::min(1.0f, std::max(0.0f, rgb[i]));
    }
    CHECK(clamped > 0);
    Tensor<float> init = resize_image(rgb.cview(), 36, 48);
    pre.to_network(init.view(), init.cview());
    save_npy(t.path("init2.npy"), init.data(), {1, 3, 36, 48});
    require_ok(run_nst(t.args(t.path("single2.npy"), with({"--image-size", "48", "--num-iterations", "3", "--init",
                                                           t.path("init2.npy")}))));
    const Tensor<float> multi = load_npy_image(t.path("multi.npy"));
    CHECK(multi.shape() == Shape{1, 3, 36, 48});
    CHECK(same_bits(multi, load_npy_image(t.path("single2.npy"))));
}

TEST_CASE("nst run --scales: bad input is one line with the spec's exit code and clobbers nothing") {
    const ScalesCli t("errors");
    const std::string out = t.path("out.png");
    check_cli_error(t.args(out, {"--scales", "48,32"}), 2, out, "increase");
    check_cli_error(t.args(out, {"--scales", "32,32"}), 2, out, "increase");
    check_cli_error(t.args(out, {"--scales", "32,48", "--num-iterations", "1,2,3"}), 2, out, "3 counts for 2 stages");
    check_cli_error(t.args(out, {"--scales", "32", "--num-iterations", "1,2"}), 2, out, "--num-iterations");
    check_cli_error(t.args(out, {"--num-iterations", "1,2"}), 2, out, "--num-iterations");
    check_cli_error(t.args(out, {"--scales", "32,48", "--image-size", "48"}), 2, out, "--image-size");
    check_cli_error(t.args(out, {"--scales", "32,x"}), 2, out, "--scales");
    check_cli_error(t.args(out, {"--scales", "32,20000"}), 2, out, "--scales");
    check_cli_error(t.args(out, {"--scales", "16:1:64"}), 2, out, "FACTOR");
    check_cli_error(t.args(out, {"--scales", "64:2:16"}), 2, out, "START");
    check_cli_error(t.args(out, {"--scales", "16:2"}), 2, out, "START:FACTOR:END");
    // A first stage too small for relu5_1 (16 px a side): an input error before any stage runs.
    check_cli_error(t.args(out, {"--scales", "8,32", "--num-iterations", "1"}), 3, out, "too small");
    // A .npy content has one fixed size.
    save_npy(t.path("content.npy"), Tensor<float>(Shape{1, 3, 24, 32}).data(), {1, 3, 24, 32});
    std::vector<std::string> a = t.args(out, {"--scales", "32,48"});
    std::replace(a.begin(), a.end(), t.content, t.path("content.npy"));
    check_cli_error(a, 2, out, ".npy");
    for (const char* name : {"out_stage1.png", "out_stage2.png"}) CHECK(!test::file_exists(t.path(name)));
}

TEST_CASE("nst run --scales: a later stage that fails or is killed keeps the completed stages") {
    const ScalesCli t("later");
    SUBCASE("out of memory at stage 2") {
        // Stage 2 at 16384 px needs gigabytes for its images alone; under a 2 GiB address-space
        // limit it fails (exit 4, one line) after stage 1 has been written.
        const std::string out = t.path("oom.png");
        test::write_file(out, "previous output");
        std::string cmd = "ulimit -v 2000000 && OMP_NUM_THREADS=1 '" + std::string(NST_EXE) + "'";
        for (const std::string& s : t.args(out, {"--scales", "32,16384", "--num-iterations", "2,1"}))
            cmd += " '" + s + "'";
        cmd += " 2>'" + t.path("oom.err") + "'";
        const int status = std::system(cmd.c_str());
        const std::string err = test::read_file(t.path("oom.err"));
        INFO("stderr: " << err);
        CHECK(WEXITSTATUS(status) == 4);
        const std::size_t pos = err.find("nst: error: ");
        REQUIRE(pos != std::string::npos);
        CHECK(test::count_lines(err.substr(pos)) == 1);
        CHECK(png_shape(t.path("oom_stage1.png")) == Shape{1, 3, 24, 32});
        CHECK(test::read_file(out) == "previous output");
    }
    SUBCASE("interrupted during stage 2") {
        // Stage 2 would run for long; SIGTERM (what `kill` and Slurm send) arrives once stage 1's
        // file is there: the run stops after the current iteration with one error line, exit 4.
        const std::string out = t.path("kill.png");
        test::write_file(out, "previous output");
        std::string cmd = "OMP_NUM_THREADS=1 '" + std::string(NST_EXE) + "'";
        for (const std::string& s : t.args(out, {"--scales", "32,48", "--num-iterations", "2,100000"}))
            cmd += " '" + s + "'";
        cmd = "(" + cmd + " 2>'" + t.path("kill.err") + "' & pid=$!; i=0; while [ ! -f '" + t.path("kill_stage1.png") +
              "' ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done; sleep 0.2; kill $pid; wait $pid; "
              "echo $? >'" + t.path("kill.rc") + "') 2>/dev/null";
        std::system(cmd.c_str());
        const std::string err = test::read_file(t.path("kill.err"));
        INFO("stderr: " << err);
        CHECK(test::read_file(t.path("kill.rc")) == "4\n");
        const std::size_t pos = err.find("nst: error: ");
        REQUIRE(pos != std::string::npos);
        CHECK(test::count_lines(err.substr(pos)) == 1);
        CHECK(err.find("interrupted by SIGTERM") != std::string::npos);
        CHECK(err.find("stage 2 of 2") != std::string::npos);
        CHECK(png_shape(t.path("kill_stage1.png")) == Shape{1, 3, 24, 32});
        CHECK(test::read_file(out) == "previous output");
        CHECK(!test::file_exists(t.path("kill_stage2.png")));
    }
}
