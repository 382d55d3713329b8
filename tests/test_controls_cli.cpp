// SPDX-License-Identifier: MIT
// The spatial and scale control options end to end (control_options.h): every bad mask or set
// gives one `nst: error:` line with the spec's exit code and writes nothing; masks reach the
// objective (eval with a white mask = eval without; a black edit mask freezes pixels); the
// two-step scale recipe (a texture-only pass, then a transfer from its output) runs.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <sstream>

#include <nlohmann/json.hpp>

#include "io/image.h"
#include "test_util.h"

using namespace nst;
using nst::test::check_cli_error;  // the error contract of spec §7 (test_util.h)
using nst::test::run_nst;

namespace {

// A mask PNG (h x w) with grey value v(i, j) in [0, 1]; `colour` tints it (not a grey mask).
std::string mask_png(const std::string& dir, const std::string& name, int h, int w,
                     const std::function<double(int, int)>& v, bool colour = false) {
    Tensor<float> rgb(Shape{1, 3, h, w});
    for (int c = 0; c < 3; ++c)
        for (int i = 0; i < h; ++i)
            for (int j = 0; j < w; ++j)
                rgb.view().at(0, c, i, j) = float(colour && c == 1 ? 0.5 * v(i, j) : v(i, j));
    const std::string path = dir + "/" + name;
    save_image(path, rgb.cview());
    return path;
}

struct Fixture {
    std::string dir, content, style1, style2, left, right, style_left, white, black;
    explicit Fixture(const std::string& name) : dir(test::temp_dir("controls_" + name)) {
        content = test::smooth_png(dir, "content.png", 40, 48, 1);
        style1 = test::smooth_png(dir, "style1.png", 36, 36, 2);
        style2 = test::smooth_png(dir, "style2.png", 44, 32, 3);
        left = mask_png(dir, "left.png", 40, 48, [](int, int j) { return j < 20 ? 1.0 : 0.0; });
        right = mask_png(dir, "right.png", 40, 48, [](int, int j) { return j < 20 ? 0.0 : 1.0; });
        style_left = mask_png(dir, "style_left.png", 36, 36, [](int, int j) { return j < 18 ? 1.0 : 0.0; });
        white = mask_png(dir, "white.png", 40, 48, [](int, int) { return 1.0; });
        black = mask_png(dir, "black.png", 40, 48, [](int, int) { return 0.0; });
    }
    std::vector<std::string> run_args(const std::string& output, std::vector<std::string> extra = {}) const {
        std::vector<std::string> a = {"run",      "--content",    content, "--style",          style1 + "," + style2,
                                      "--output", output,         "--weights", "random:3",     "--image-size",
                                      "32",       "--num-iterations", "3", "--print-iter",     "0",
                                      "--backend", "cpu"};
        a.insert(a.end(), extra.begin(), extra.end());
        return a;
    }
};

}  // namespace

TEST_CASE("controls cli: usage errors exit 2") {
    Fixture f("usage");
    const std::string out = f.dir + "/out.png";
    check_cli_error(f.run_args(out, {"--content-masks", f.left}), 2, out, "--content-masks: 1 masks given for 2 style");
    check_cli_error(f.run_args(out, {"--content-masks", f.left + ",-"}), 2, out, "'-' is not a mask");
    check_cli_error(f.run_args(out, {"--content-masks", f.left + ","}), 2, out, "empty path");
    check_cli_error(f.run_args(out, {"--style-masks", "-,-,-"}), 2, out, "--style-masks: 3 masks given for 2 style");
    check_cli_error(f.run_args(out, {"--mask-propagation", "bogus"}), 2, out, "bogus");
    check_cli_error(f.run_args(out, {"--mask-grow", "100"}), 2, out, "--mask-grow");
    check_cli_error(f.run_args(out, {"--style-layer-sets", "relu1_1;relu9_9"}), 2, out, "relu9_9");
    check_cli_error(f.run_args(out, {"--style-layer-sets", "relu1_1,relu2_1;relu4_2"}), 2, out,
                "relu4_2 is not one of the style layers");
    check_cli_error(f.run_args(out, {"--style-layer-sets", "*"}), 2, out, "1 sets given for 2 style images");
    check_cli_error(f.run_args(out, {"--style-layer-sets", "*;"}), 2, out, "empty set");
    check_cli_error(f.run_args(out, {"--style-layer-sets", "relu1_1;relu2_1"}), 2, out, "is in no set");
    // Value errors come before any file is read: a missing mask file does not hide them.
    check_cli_error(f.run_args(out, {"--content-masks", f.dir + "/missing.png", "--mask-propagation", "x"}), 2, out,
                "--mask-propagation");
}

TEST_CASE("controls cli: input errors exit 3") {
    Fixture f("input");
    const std::string out = f.dir + "/out.png";
    const std::string small = mask_png(f.dir, "small.png", 20, 24, [](int, int) { return 1.0; });
    const std::string tinted = mask_png(f.dir, "tinted.png", 40, 48, [](int, int j) { return j < 20 ? 1.0 : 0.2; }, true);
    const std::string faint = mask_png(f.dir, "faint.png", 40, 48, [](int, int) { return 0.3; });
    // A 4-pixel-wide stripe of the style image: present at relu1_1, gone by relu5_1 under 'inside'.
    const std::string stripe = mask_png(f.dir, "stripe.png", 36, 36, [](int, int j) { return j >= 16 && j < 20 ? 1.0 : 0.0; });
    check_cli_error(f.run_args(out, {"--content-masks", small + "," + f.right}), 3, out, "24x20 pixels, but its image");
    check_cli_error(f.run_args(out, {"--style-masks", f.left + ",-"}), 3, out, "48x40 pixels, but its image");
    check_cli_error(f.run_args(out, {"--edit-mask", small}), 3, out, "--edit-mask");
    check_cli_error(f.run_args(out, {"--content-masks", tinted + "," + f.right}), 3, out, "not a grey mask");
    check_cli_error(f.run_args(out, {"--content-masks", f.black + "," + f.right}), 3, out, "the region is empty");
    check_cli_error(f.run_args(out, {"--content-masks", faint + "," + f.right, "--mask-propagation", "inside"}), 3, out,
                "the region is empty (no pixel >= 0.5)");
    const std::string style_black = mask_png(f.dir, "style_black.png", 36, 36, [](int, int) { return 0.0; });
    check_cli_error(f.run_args(out, {"--style-masks", style_black + ",-"}), 3, out, "the region is empty");
    check_cli_error(f.run_args(out, {"--style-masks", stripe + ",-", "--mask-propagation", "inside"}), 3, out,
                "stripe.png': the region is empty at relu");
    check_cli_error(f.run_args(out, {"--content-masks", f.dir + "/missing.png," + f.right}), 3, out, "missing.png");
    // The same problem through eval: same errors, nothing on stdout.
    const test::RunResult r = run_nst({"eval", "--content", f.content, "--style", f.style1, "--image", f.content,
                                       "--weights", "random:3", "--image-size", "32", "--backend", "cpu",
                                       "--content-masks", tinted});
    CHECK(r.exit_code == 3);
    CHECK(r.out.empty());
}

TEST_CASE("controls cli: masks reach the objective in eval and run") {
    Fixture f("effect");
    auto eval = [&](std::vector<std::string> extra) {
        std::vector<std::string> a = {"eval", "--content", f.content, "--style", f.style1, "--image", f.style2,
                                      "--weights", "random:3", "--image-size", "32", "--backend", "cpu"};
        a.insert(a.end(), extra.begin(), extra.end());
        const test::RunResult r = run_nst(a);
        INFO("stderr: " << r.err);
        REQUIRE(r.exit_code == 0);
        return nlohmann::json::parse(r.out);
    };
    const auto plain = eval({});
    const auto white = eval({"--content-masks", f.white, "--style-masks", "-"});
    const auto half = eval({"--content-masks", f.left});
    const auto styled_half = eval({"--style-masks", f.style_left});
    const double p = plain["total"].get<double>();
    CHECK(white["total"].get<double>() == doctest::Approx(p).epsilon(1e-5));
    CHECK(std::fabs(half["total"].get<double>() - p) > 1e-3 * p);
    CHECK(std::fabs(styled_half["total"].get<double>() - p) > 1e-3 * p);
    CHECK(half["content"]["relu4_2"].get<double>() == doctest::Approx(plain["content"]["relu4_2"].get<double>()).epsilon(1e-6));

    // A run with every control at once, on both optimisers; the output exists.
    for (const char* optimizer : {"lbfgs", "adam"}) {
        const std::string out = f.dir + "/all_" + optimizer + ".png";
        const test::RunResult r = run_nst(f.run_args(
            out, {"--content-masks", f.left + "," + f.right, "--style-masks", f.style_left + ",-", "--mask-propagation",
                  "inside", "--mask-grow", "1", "--style-layer-sets", "relu1_1,relu2_1;*", "--edit-mask", f.left,
                  "--optimizer", optimizer, "--preset", "gatys"}));
        INFO("stderr: " << r.err);
        CHECK(r.exit_code == 0);
        CHECK(test::file_exists(out));
    }

    // A black right half in the edit mask: those pixels keep the init (--init content at the
    // content's own size, so no resize stands between them and the output).
    const std::string out = f.dir + "/edit.png";
    const test::RunResult r = run_nst({"run", "--content", f.content, "--style", f.style1, "--output", out, "--weights",
                                       "random:3", "--image-size", "48", "--num-iterations", "5", "--print-iter", "0",
                                       "--backend", "cpu", "--init", "content", "--edit-mask", f.left, "--tv-weight",
                                       "1"});
    INFO("stderr: " << r.err);
    REQUIRE(r.exit_code == 0);
    const Tensor<float> a = load_image(out), c = load_image(f.content);
    REQUIRE(a.shape() == c.shape());
    double frozen = 0, free = 0;
    for (int ch = 0; ch < 3; ++ch)
        for (int i = 0; i < 40; ++i)
            for (int j = 0; j < 48; ++j) {
                const double d = std::fabs(a.view().at(0, ch, i, j) - c.view().at(0, ch, i, j));
                if (j < 20) free = std::max(free, d);
                else frozen = std::max(frozen, d);
            }
    CHECK(frozen <= 1.0 / 255 + 1e-6);
    CHECK(free > 5.0 / 255);
}

TEST_CASE("controls cli: the two-step scale recipe") {
    // Step 1: texture only (content weight 0) from the coarse image, fine style up to relu2_1;
    // step 2: ordinary transfer with its output as the style image.
    Fixture f("scale");
    const std::string mixed = f.dir + "/mixed.png", trace = f.dir + "/mixed.jsonl", out = f.dir + "/out.png";
    test::RunResult r = run_nst({"run", "--content", f.style2, "--init", f.style2, "--style", f.style1,
                                 "--content-weight", "0", "--style-layers", "relu1_1,relu2_1", "--tv-weight", "0",
                                 "--output", mixed, "--trace", trace, "--weights", "random:3", "--image-size", "32",
                                 "--num-iterations", "5", "--print-iter", "0", "--backend", "cpu"});
    INFO("stderr: " << r.err);
    REQUIRE(r.exit_code == 0);
    std::istringstream lines(test::read_file(trace));
    std::string line;
    int n = 0;
    double first = 0, last = 0;
    while (std::getline(lines, line)) {
        const auto j = nlohmann::json::parse(line);
        CHECK(j["content"].get<double>() == 0);
        (n++ == 0 ? first : last) = j["total"].get<double>();
    }
    CHECK(n == 5);
    CHECK(last < first);
    r = run_nst(
        {"run", "--content", f.content, "--style", mixed, "--output", out, "--weights", "random:3", "--image-size", "32",
         "--num-iterations", "3", "--print-iter", "0", "--backend", "cpu"});
    CHECK(r.exit_code == 0);
    CHECK(test::file_exists(out));
}
