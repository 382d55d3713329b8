// SPDX-License-Identifier: MIT
// The nst command end to end: each class of bad input of spec §7 gives its exit code and exactly
// one `nst: error:` line and leaves an existing output untouched; seeded runs are bit-identical;
// trace, eval and features write what the spec says.
#include <doctest/doctest.h>

#include <cmath>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/rng.h"
#include "io/image.h"
#include "io/npy.h"
#include "engine/engine.h"
#include "test_errors.h"
#include "test_util.h"

using namespace nst;
using nst::test::check_cli_error;  // the error contract of spec §7 (test_util.h)
using nst::test::run_nst;

namespace {

struct Fixture {
    std::string dir, content, style;
    explicit Fixture(const std::string& name) : dir(test::temp_dir("cli_" + name)) {
        content = test::smooth_png(dir, "content.png", 40, 48, 1);
        style = test::smooth_png(dir, "style.png", 36, 36, 2);
    }
    // A quick valid run; extra args appended (later options win in CLI11 for scalars).
    std::vector<std::string> run_args(const std::string& output, std::vector<std::string> extra = {}) const {
        std::vector<std::string> a = {"run",           "--content",     content, "--style", style, "--output", output,
                                      "--weights",     "random:3",      "--image-size", "32", "--num-iterations", "3",
                                      "--print-iter",  "0",             "--backend", "cpu"};
        a.insert(a.end(), extra.begin(), extra.end());
        return a;
    }
};

}  // namespace

TEST_CASE("cli: usage errors exit 2") {
    Fixture f("usage");
    const std::string out = f.dir + "/out.png";
    check_cli_error(f.run_args(out, {"--bogus"}), 2, out, "--bogus");
    check_cli_error({"run", "--style", f.style, "--output", out}, 2, out, "--content");
    check_cli_error(f.run_args(out, {"--image-size", "abc"}), 2, out, "--image-size");
    check_cli_error(f.run_args(out, {"--image-size", "0"}), 2, out, "--image-size");
    check_cli_error(f.run_args(out, {"--pooling", "median"}), 2, out, "--pooling");
    check_cli_error(f.run_args(out, {"--preset", "nope"}), 2, out, "nope");
    check_cli_error(f.run_args(out, {"--style-layers", "relu9_1"}), 2, out, "relu9_1");
    check_cli_error(f.run_args(out, {"--style-layer-weights", "1,2"}), 2, out, "--style-layer-weights");
    check_cli_error(f.run_args(out, {"--style-blend-weights", "1,2"}), 2, out, "--style-blend-weights");
    check_cli_error(f.run_args(out, {"--content-weight", "nan"}), 2, out, "--content-weight");
    check_cli_error(f.run_args(out, {"--optimizer", "sgd"}), 2, out, "sgd");
    check_cli_error(f.run_args(out, {"--learning-rate", "-1"}), 2, out, "--learning-rate");
    check_cli_error(f.run_args(out, {"--weights", "random:x"}), 2, out, "--weights");
    check_cli_error(f.run_args(out, {"--backend", "tpu"}), 2, out, "tpu");
    check_cli_error(f.run_args(f.dir + "/out.gif"), 2, f.dir + "/out.gif", ".gif");
    check_cli_error(f.run_args(f.dir + "/o.jpg", {"--output-depth", "16"}), 2, f.dir + "/o.jpg", "16");
    check_cli_error({"frobnicate"}, 2, out);
}

TEST_CASE("cli: input errors exit 3") {
    Fixture f("input");
    const std::string out = f.dir + "/out.png";
    std::vector<std::string> a = f.run_args(out);
    // Missing content file.
    a[2] = f.dir + "/missing.png";
    check_cli_error(a, 3, out, "missing.png");
    // Corrupt content file.
    test::write_file(f.dir + "/corrupt.png", "\x89PNG\r\n\x1a\n garbage");
    a[2] = f.dir + "/corrupt.png";
    check_cli_error(a, 3, out, "corrupt.png");
    // Missing weights file: the message says how to get weights or use random.
    check_cli_error(f.run_args(out, {"--weights", f.dir + "/nope.safetensors"}), 3, out, "random");
    // A weights file that is not safetensors.
    test::write_file(f.dir + "/bad.safetensors", "not a safetensors file at all");
    check_cli_error(f.run_args(out, {"--weights", f.dir + "/bad.safetensors"}), 3, out, "bad.safetensors");
    // Content too small for relu5_1 (needs 16 pixels a side).
    check_cli_error(f.run_args(out, {"--image-size", "12"}), 3, out, "relu5_1");
    // --init .npy of the wrong shape.
    const float v[6] = {0, 0, 0, 0, 0, 0};
    save_npy(f.dir + "/init.npy", v, {1, 3, 1, 2});
    check_cli_error(f.run_args(out, {"--init", f.dir + "/init.npy"}), 3, out, "init.npy");
    // Output directory that does not exist.
    check_cli_error(f.run_args(f.dir + "/no/such/dir/out.png"), 3, f.dir + "/sentinel_unused.png", "no/such/dir");
}

TEST_CASE("cli: runtime errors exit 4") {
    Fixture f("runtime");
    const std::string out = f.dir + "/out.png";
    // Without a usable device (a CPU-only build, or a CUDA build on a machine without a GPU)
    // asking for one is a runtime error.
    if (nst::cuda_device_count() == 0) check_cli_error(f.run_args(out, {"--backend", "cuda"}), 4, out, "cuda");
    // Weights so large that the loss overflows: a non-finite loss is a runtime error.
    check_cli_error(f.run_args(out, {"--content-weight", "1e308", "--style-weight", "1e308", "--init", "random"}), 4, out,
                "non-finite");
}

TEST_CASE("cli: a seeded run twice gives bit-identical output") {
    Fixture f("determinism");
    for (const char* ext : {".npy", ".png"}) {
        const std::string a = f.dir + "/a" + ext, b = f.dir + "/b" + ext;
        REQUIRE(run_nst(f.run_args(a, {"--seed", "5", "--init", "random"})).exit_code == 0);
        REQUIRE(run_nst(f.run_args(b, {"--seed", "5", "--init", "random"})).exit_code == 0);
        CHECK(test::read_file(a) == test::read_file(b));
        CHECK(!test::read_file(a).empty());
    }
    // A different seed gives a different result (the seed is used).
    const std::string c = f.dir + "/c.npy";
    REQUIRE(run_nst(f.run_args(c, {"--seed", "6", "--init", "random"})).exit_code == 0);
    CHECK(test::read_file(c) != test::read_file(f.dir + "/a.npy"));
}

TEST_CASE("cli: trace / save-iter / random-weights notice and auto backend") {
    Fixture f("trace");
    const std::string out = f.dir + "/out.png", trace = f.dir + "/trace.jsonl";
    const test::RunResult r =
        run_nst(f.run_args(out, {"--trace", trace, "--save-iter", "2", "--num-iterations", "4", "--backend", "auto"}));
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(r.err.find("random VGG19 weights") != std::string::npos);
    CHECK(r.err.find("backend auto") != std::string::npos);
    CHECK(test::file_exists(f.dir + "/out_2.png"));
    CHECK(!test::file_exists(f.dir + "/out_4.png"));  // the final image is the output itself
    const Tensor<float> img = load_image(out);
    CHECK(img.shape().w == 32);  // 48x40 content, longest side 32
    CHECK(img.shape().h == 27);
    std::istringstream in(test::read_file(trace));
    std::string line;
    int n = 0;
    double prev_seconds = -1;
    while (std::getline(in, line)) {
        ++n;
        const auto j = nlohmann::json::parse(line);
        CHECK(j.at("iter").get<int>() == n);
        const double total = j.at("total"), content = j.at("content"), style = j.at("style"), tv = j.at("tv");
        CHECK(total == doctest::Approx(content + style + tv).epsilon(1e-12));
        CHECK(j.at("seconds").get<double>() >= prev_seconds);
        prev_seconds = j.at("seconds");
    }
    CHECK(n == 4);
}

TEST_CASE("cli: eval agrees with the trace of a run at the same point") {
    Fixture f("eval");
    // Run 1 iteration from content init: the trace's iteration 1 is the objective at the content image.
    const std::string trace = f.dir + "/t.jsonl", grad = f.dir + "/g.npy";
    REQUIRE(run_nst(f.run_args(f.dir + "/o.png", {"--init", "content", "--num-iterations", "1", "--trace", trace}))
                .exit_code == 0);
    const auto first = nlohmann::json::parse(test::read_file(trace).substr(0, test::read_file(trace).find('\n')));
    const test::RunResult r = run_nst({"eval", "--content", f.content, "--style", f.style, "--image", f.content,
                                       "--weights", "random:3", "--image-size", "32", "--backend", "cpu",
                                       "--grad-out", grad});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const auto j = nlohmann::json::parse(r.out);
    CHECK(j.at("content").contains("relu4_2"));
    CHECK(j.at("style").size() == 5);
    CHECK(j.at("total").get<double>() == doctest::Approx(first.at("total").get<double>()).epsilon(1e-6));
    const NpyArray g = load_npy(grad);
    CHECK(g.shape == std::vector<std::int64_t>{1, 3, 27, 32});
}

TEST_CASE("cli: features writes activations and the preset's Gram") {
    Fixture f("features");
    const std::string dir = f.dir + "/feat";
    const test::RunResult r = run_nst({"features", "--image", f.content, "--layers", "relu1_1,pool2,conv3_1",
                                       "--out-dir", dir, "--gram", "--weights", "random:1"});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const NpyArray a = load_npy(dir + "/relu1_1.npy");
    CHECK(a.shape == std::vector<std::int64_t>{1, 64, 40, 48});
    CHECK(load_npy(dir + "/pool2.npy").shape == std::vector<std::int64_t>{1, 128, 10, 12});
    CHECK(load_npy(dir + "/conv3_1.npy").shape == std::vector<std::int64_t>{1, 256, 10, 12});
    // Gram of relu1_1 recomputed here from the activation file: jcjohnson's F F^T / (C H W).
    const NpyArray g = load_npy(dir + "/relu1_1.gram.npy");
    REQUIRE(g.shape == std::vector<std::int64_t>{64, 64});
    const std::size_t m = 40 * 48;
    double worst = 0;
    for (int i = 0; i < 64; i += 7)
        for (int j = 0; j < 64; j += 5) {
            double s = 0;
            for (std::size_t k = 0; k < m; ++k) s += double(a.data[i * m + k]) * a.data[j * m + k];
            s /= 64.0 * m;
            worst = std::max(worst, std::abs(s - g.data[i * 64 + j]) / std::max(std::abs(s), 1e-6));
        }
    CHECK(worst < 1e-5);
    // conv3_1 is pre-ReLU, so it has negative values; relu taps do not.
    const NpyArray c = load_npy(dir + "/conv3_1.npy");
    CHECK(*std::min_element(c.data.begin(), c.data.end()) < 0);
    CHECK(*std::min_element(a.data.begin(), a.data.end()) >= 0);
}

TEST_CASE("cli: features names layers of the loaded network (random16 is VGG16)") {
    Fixture f("features16");
    const std::string dir = f.dir + "/feat";
    const test::RunResult r = run_nst({"features", "--image", f.content, "--layers", "relu4_3,conv5_3", "--out-dir",
                                       dir, "--weights", "random16:2", "--image-size", "32"});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    // 32 px on the long side: 27x32; relu4_3 after three pools, conv5_3 after four.
    CHECK(load_npy(dir + "/relu4_3.npy").shape == std::vector<std::int64_t>{1, 512, 3, 4});
    CHECK(load_npy(dir + "/conv5_3.npy").shape == std::vector<std::int64_t>{1, 512, 1, 2});
    // relu5_4 is VGG19's: a usage error naming the network.
    const test::RunResult bad = run_nst({"features", "--image", f.content, "--layers", "relu5_4", "--out-dir", dir,
                                         "--weights", "random16"});
    CHECK(bad.exit_code == 2);
    CHECK(test::contains(bad.err, "not in VGG16"));
    // nst run optimises over VGG19 only, and says so.
    const std::string out = f.dir + "/out.png";
    check_cli_error(f.run_args(out, {"--weights", "random16"}), 2, out, "VGG16");
}
