// SPDX-License-Identifier: MIT
// The colour options end to end (nst run / eval / match-color): the images they write have the
// properties that define them (content chroma, unchanged luma, recoloured statistics), eval sees
// the images that a run optimises against, and bad input gives the spec's exit code and one line
// without clobbering the output.
#include <doctest/doctest.h>

#include <cmath>

#include <nlohmann/json.hpp>

#include "color/luma.h"
#include "color/match_color.h"
#include "io/image.h"
#include "io/npy.h"
#include "test_util.h"

using namespace nst;
using nst::test::check_cli_error;  // the error contract of spec §7 (test_util.h)
using nst::test::run_nst;

namespace {

// Content 40x48 and style 36x36, used at their own sizes (--image-size 48, --style-scale 0.75),
// so that the test sees exactly the pixels the run starts from.
struct ColorCli {
    std::string dir, content, style, style2;
    explicit ColorCli(const std::string& name) : dir(test::temp_dir("cli_color_" + name)) {
        content = test::smooth_png(dir, "content.png", 40, 48, 1);
        style = test::smooth_png(dir, "style.png", 36, 36, 2);
        style2 = test::smooth_png(dir, "style2.png", 30, 34, 5);
    }
    std::vector<std::string> problem(const std::string& content_path, const std::string& style_path) const {
        return {"--content", content_path, "--style", style_path, "--weights", "random:3", "--image-size", "48",
                "--style-scale", "0.75", "--backend", "cpu"};
    }
    std::vector<std::string> run_args(const std::string& output, std::vector<std::string> extra = {}) const {
        const bool png = output.size() > 4 && output.substr(output.size() - 4) == ".png";
        std::vector<std::string> a = {"run", "--output", output, "--num-iterations", "3", "--print-iter", "0",
                                      "--output-depth", png ? "16" : "8"};
        for (const auto& s : problem(content, style)) a.push_back(s);
        a.insert(a.end(), extra.begin(), extra.end());
        return a;
    }
    nlohmann::json eval(const std::string& content_path, const std::string& style_path,
                        std::vector<std::string> extra = {}) const {
        std::vector<std::string> a = {"eval", "--image", content};
        for (const auto& s : problem(content_path, style_path)) a.push_back(s);
        a.insert(a.end(), extra.begin(), extra.end());
        const test::RunResult r = run_nst(a);
        INFO(r.err);
        REQUIRE(r.exit_code == 0);
        return nlohmann::json::parse(r.out);
    }
};

// Chroma in full-range YCbCr (offsets dropped): zero-sum rows, so any linear luma/chroma space
// with the Rec. 601 luma row gives the same verdict (tests/test_color.cpp checks three).
void chroma(const Tensor<float>& rgb, std::size_t i, double& cb, double& cr) {
    const std::size_t n = rgb.shape().plane();
    const double r = rgb[i], g = rgb[n + i], b = rgb[2 * n + i];
    const double y = color::luma(r, g, b);
    cb = (b - y) / 1.772;
    cr = (r - y) / 1.402;
}

bool inside(const Tensor<float>& rgb, std::size_t i) {
    const std::size_t n = rgb.shape().plane();
    for (int c = 0; c < 3; ++c)
        if (rgb[c * n + i] <= 0.f || rgb[c * n + i] >= 1.f) return false;
    return true;
}

// Largest chroma difference between `out` and `content` over the pixels not clipped in `out`;
// `checked` receives how many pixels that is.
double chroma_error(const Tensor<float>& out, const Tensor<float>& content, std::size_t& checked) {
    REQUIRE(out.shape() == content.shape());
    double worst = 0;
    checked = 0;
    for (std::size_t i = 0; i < out.shape().plane(); ++i) {
        if (!inside(out, i)) continue;
        ++checked;
        double cb0, cr0, cb1, cr1;
        chroma(out, i, cb0, cr0);
        chroma(content, i, cb1, cr1);
        worst = std::max({worst, std::fabs(cb0 - cb1), std::fabs(cr0 - cr1)});
    }
    return worst;
}

// A 16-bit PNG quantises each channel to 1/65535: chroma and luma then agree to ~1e-5.
constexpr double kPng16 = 3e-5;

double rel(double a, double b) { return std::fabs(a - b) / std::max(std::fabs(b), 1e-300); }

// The largest relative difference over every term of two eval outputs.
double max_term_difference(const nlohmann::json& a, const nlohmann::json& b) {
    double worst = rel(a.at("total").get<double>(), b.at("total").get<double>());
    for (const char* group : {"content", "style"})
        for (const auto& [layer, v] : b.at(group).items())
            worst = std::max(worst, rel(a.at(group).at(layer).get<double>(), v.get<double>()));
    return worst;
}

void write_grey16(const std::string& path, Tensor<float> rgb) {
    color::to_grey(rgb.view(), rgb.cview());
    save_image(path, rgb.cview(), 16);
}

}  // namespace

TEST_CASE("cli color: --original-colors keeps the content chroma and the plain run's luma") {
    ColorCli f("original");
    const std::string plain = f.dir + "/plain.png", orig = f.dir + "/orig.png";
    REQUIRE(run_nst(f.run_args(plain, {"--seed", "4"})).exit_code == 0);
    const test::RunResult r = run_nst(f.run_args(orig, {"--seed", "4", "--original-colors", "--save-iter", "2"}));
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const Tensor<float> content = load_image(f.content), a = load_image(plain), b = load_image(orig);
    REQUIRE(b.shape() == content.shape());
    std::size_t checked = 0;
    const double chroma_err = chroma_error(b, content, checked);
    double luma_err = 0, luma_change = 0;
    const std::size_t n = a.shape().plane();
    for (std::size_t i = 0; i < n; ++i) {
        if (!inside(a, i) || !inside(b, i)) continue;
        const double ya = color::luma(a[i], a[n + i], a[2 * n + i]), yb = color::luma(b[i], b[n + i], b[2 * n + i]);
        luma_err = std::max(luma_err, std::fabs(ya - yb));
        const double yc = color::luma(content[i], content[n + i], content[2 * n + i]);
        luma_change = std::max(luma_change, std::fabs(yb - yc));
    }
    MESSAGE("original colors: chroma error " << chroma_err << " and luma error " << luma_err << " over " << checked
                                             << " of " << n << " pixels");
    CHECK(checked > n / 2);
    CHECK(chroma_err < kPng16);
    CHECK(luma_err < kPng16);
    CHECK(luma_change > 0.05);  // the output is not simply the content
    // The intermediate save is recoloured too.
    const Tensor<float> b2 = load_image(f.dir + "/orig_2.png");
    CHECK(chroma_error(b2, content, checked) < kPng16);
    CHECK(checked > n / 2);
    // A .npy output is the raw optimised tensor: the same with and without the option.
    REQUIRE(run_nst(f.run_args(f.dir + "/plain.npy", {"--seed", "4"})).exit_code == 0);
    REQUIRE(run_nst(f.run_args(f.dir + "/orig.npy", {"--seed", "4", "--original-colors"})).exit_code == 0);
    CHECK(test::read_file(f.dir + "/plain.npy") == test::read_file(f.dir + "/orig.npy"));
}

TEST_CASE("cli color: --color-control luminance sees grey images and returns the content chroma") {
    ColorCli f("luminance");
    const std::string out = f.dir + "/lum.png";
    const test::RunResult r = run_nst(f.run_args(out, {"--color-control", "luminance", "--init", "style"}));
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const Tensor<float> content = load_image(f.content), style = load_image(f.style);
    std::size_t checked = 0;
    const double chroma_err = chroma_error(load_image(out), content, checked);
    MESSAGE("luminance: chroma error " << chroma_err << " over " << checked << " pixels");
    CHECK(chroma_err < kPng16);
    CHECK(checked > content.shape().plane() / 2);

    // eval with the option equals eval on grey images made here: Y in all channels, and for
    // meanstd the style's Y rescaled to the content's mean and std by the paper's formula.
    const std::string grey_c = f.dir + "/grey_c.png", grey_s = f.dir + "/grey_s.png", meanstd_s = f.dir + "/ms_s.png";
    write_grey16(grey_c, content.clone());
    write_grey16(grey_s, style.clone());
    auto stats = [](const Tensor<float>& img, double& mean, double& sd) {
        const std::size_t n = img.shape().plane();
        double s = 0, q = 0;
        for (std::size_t i = 0; i < n; ++i) s += color::luma(img[i], img[n + i], img[2 * n + i]);
        mean = s / double(n);
        for (std::size_t i = 0; i < n; ++i) q += std::pow(color::luma(img[i], img[n + i], img[2 * n + i]) - mean, 2);
        sd = std::sqrt(q / double(n));
    };
    double mc, sc, ms, ss;
    stats(content, mc, sc);
    stats(style, ms, ss);
    Tensor<float> matched = style.clone();
    const std::size_t n = style.shape().plane();
    for (std::size_t i = 0; i < n; ++i) {
        const double y = (sc / ss) * (color::luma(style[i], style[n + i], style[2 * n + i]) - ms) + mc;
        REQUIRE(y > 0);
        REQUIRE(y < 1);
        for (int c = 0; c < 3; ++c) matched[c * n + i] = float(y);
    }
    save_image(meanstd_s, matched.cview(), 16);

    const nlohmann::json none =
        f.eval(f.content, f.style, {"--color-control", "luminance", "--luminance-match", "none"});
    const nlohmann::json meanstd = f.eval(f.content, f.style, {"--color-control", "luminance"});
    const nlohmann::json ref_none = f.eval(grey_c, grey_s), ref_meanstd = f.eval(grey_c, meanstd_s);
    const nlohmann::json colour = f.eval(f.content, f.style);
    const double e_none = max_term_difference(none, ref_none), e_meanstd = max_term_difference(meanstd, ref_meanstd);
    MESSAGE("eval luminance none vs grey files: " << e_none << "; meanstd: " << e_meanstd
                                                  << "; colour vs grey: " << max_term_difference(colour, ref_none));
    CHECK(e_none < 5e-4);
    CHECK(e_meanstd < 5e-4);
    CHECK(max_term_difference(colour, ref_none) > 1e-2);   // the grey images do differ
    CHECK(max_term_difference(meanstd, ref_none) > 1e-2);  // and the luminance match matters

    // An --init image is made grey too: after 0 iterations the .npy output is the init, x, whose
    // RGB (spec §4, caffe with S = 256: rgb = (x_bgr + mean) / 256) has R = G = B.
    REQUIRE(run_nst(f.run_args(f.dir + "/init.npy", {"--color-control", "luminance", "--init", "style",
                                                     "--num-iterations", "0"}))
                .exit_code == 0);
    const NpyArray x = load_npy(f.dir + "/init.npy");
    REQUIRE(x.shape == std::vector<std::int64_t>{1, 3, 40, 48});
    const std::size_t plane = 40 * 48;
    double worst = 0, spread = 0;
    for (std::size_t i = 0; i < plane; ++i) {
        const double b = (x.data[i] + 103.939) / 256, g = (x.data[plane + i] + 116.779) / 256,
                     r = (x.data[2 * plane + i] + 123.68) / 256;
        worst = std::max({worst, std::fabs(r - g), std::fabs(g - b)});
        spread = std::max(spread, std::fabs(r - (x.data[2] + 123.68) / 256));
    }
    CHECK(worst < 1e-5);
    CHECK(spread > 0.05);  // an image, not a constant
}

TEST_CASE("cli color: eval with --match-color equals eval with the match-color command's output") {
    ColorCli f("match");
    for (const std::string mode : {"chol", "pca", "sym"}) {
        CAPTURE(mode);
        const std::string recoloured = f.dir + "/style_" + mode + ".png";
        const test::RunResult r = run_nst({"match-color", "--mode", mode, "--source", f.content, "--target", f.style,
                                           "--output", recoloured, "--output-depth", "16"});
        INFO(r.err);
        REQUIRE(r.exit_code == 0);
        CHECK(r.err.empty());
        // The command writes what the library computes (tests/test_color.cpp holds the library to
        // numpy), at the target's size.
        const Tensor<float> expected = color::match_color(load_image(f.style).cview(), load_image(f.content).cview(),
                                                          color::parse_match_mode(mode, "--mode"));
        const Tensor<float> written = load_image(recoloured);
        REQUIRE(written.shape() == expected.shape());
        double worst = 0;
        for (std::size_t i = 0; i < written.numel(); ++i)
            worst = std::max(worst, double(std::fabs(written[i] - expected[i])));
        CHECK(worst < 1e-5);
        const nlohmann::json a = f.eval(f.content, f.style, {"--match-color", mode});
        const nlohmann::json b = f.eval(f.content, recoloured);
        const double diff = max_term_difference(a, b);
        MESSAGE(mode << ": eval --match-color vs eval on the command's output: " << diff);
        CHECK(diff < 5e-4);
        CHECK(max_term_difference(f.eval(f.content, f.style), b) > 1e-2);
    }
}

TEST_CASE("cli color: colour options compose with several styles and blend weights and the gatys preset and adam") {
    ColorCli f("compose");
    const std::string out = f.dir + "/out.png";
    const test::RunResult r = run_nst(f.run_args(
        out, {"--style", f.style2, "--style-blend-weights", "1,3", "--match-color", "sym", "--color-control",
              "luminance", "--luminance-match", "mean", "--original-colors", "--preset", "gatys", "--optimizer", "adam",
              "--init", "content"}));
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    std::size_t checked = 0;
    CHECK(chroma_error(load_image(out), load_image(f.content), checked) < kPng16);
    CHECK(checked > 40 * 48 / 2);
}

TEST_CASE("cli color: bad colour input exits 2 or 3 with one line and clobbers nothing") {
    ColorCli f("errors");
    const std::string out = f.dir + "/out.png";
    Tensor<float> flat = filled(Shape{1, 3, 36, 36}, 0.3f);
    const std::string flat_png = f.dir + "/flat.png";
    save_image(flat_png, flat.cview());
    // nst run / eval options
    check_cli_error(f.run_args(out, {"--match-color", "lab"}), 2, out, "'lab'");
    check_cli_error(f.run_args(out, {"--color-control", "hue"}), 2, out, "--color-control");
    check_cli_error(f.run_args(out, {"--color-control", "luminance", "--luminance-match", "std"}), 2, out,
                "--luminance-match");
    check_cli_error(f.run_args(out, {"--luminance-match", "mean"}), 2, out, "--color-control luminance");
    check_cli_error(f.run_args(out, {"--match-color", "pca", "--style", flat_png}), 3, out, "no colour variation");
    check_cli_error(f.run_args(out, {"--match-color", "pca", "--content", flat_png}), 3, out, "no colour variation");
    // --original-colors belongs to run only
    std::vector<std::string> ev = {"eval", "--image", f.content, "--original-colors"};
    for (const auto& s : f.problem(f.content, f.style)) ev.push_back(s);
    check_cli_error(ev, 2, out, "--original-colors");
    // nst match-color
    auto mc = [&](const std::string& mode, const std::string& source, const std::string& target,
                  const std::string& output, std::vector<std::string> extra = {}) {
        std::vector<std::string> a = {"match-color", "--mode", mode, "--source", source, "--target", target,
                                      "--output", output};
        a.insert(a.end(), extra.begin(), extra.end());
        return a;
    };
    check_cli_error(mc("lab", f.content, f.style, out), 2, out, "'lab'");
    check_cli_error({"match-color", "--source", f.content, "--target", f.style, "--output", out}, 2, out, "--mode");
    check_cli_error(mc("pca", f.content, f.style, out, {"--eps", "-1"}), 2, out, "--eps");
    check_cli_error(mc("pca", f.content, f.style, out, {"--eps", "nan"}), 2, out, "--eps");
    check_cli_error(mc("pca", f.content, f.style, f.dir + "/out.npy"), 2, f.dir + "/out.npy", ".npy");
    check_cli_error(mc("pca", f.content, f.style, f.dir + "/o.jpg", {"--output-depth", "16"}), 2, f.dir + "/o.jpg", "16");
    check_cli_error(mc("pca", f.dir + "/missing.png", f.style, out), 3, out, "missing.png");
    check_cli_error(mc("pca", f.content, f.dir + "/missing.png", out), 3, out, "missing.png");
    check_cli_error(mc("sym", f.content, flat_png, out), 3, out, "--target");
    check_cli_error(mc("chol", flat_png, f.style, out), 3, out, "no colour variation");
    check_cli_error(mc("pca", f.content, f.style, f.dir + "/no/such/dir/o.png"), 3, f.dir + "/sentinel_unused.png",
                "no/such/dir");
    CHECK_FALSE(test::file_exists(f.dir + "/no/such/dir/o.png"));
}
