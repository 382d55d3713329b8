// SPDX-License-Identifier: MIT
// The CUDA-only options of `nst run` (--precision, --cuda-graph, --profile-iters, --gram-impl) where no GPU
// is needed: a precision other than fp32 on the cpu backend and malformed values are usage
// errors (exit 2, one `nst: error:` line naming the option, an existing output untouched);
// fp32 on the cpu backend runs; the cuda backend without a usable device is a runtime error
// (exit 4). The runs on a GPU are in tests/cuda/test_cuda_engine.cpp.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "core/rng.h"
#include "engine/engine.h"
#include "io/image.h"
#include "test_util.h"

using namespace nst;
using nst::test::run_nst;

namespace {

struct Files {
    std::string dir, content, style, output;
    explicit Files(const std::string& name) : dir(test::temp_dir("cli_cuda_" + name)) {
        content = test::smooth_png(dir, "content.png", 32, 40, 1);
        style = test::smooth_png(dir, "style.png", 36, 30, 2);
        output = dir + "/out.png";
    }
    std::vector<std::string> args(const std::vector<std::string>& extra) const {
        std::vector<std::string> a = {"run",          "--content", content,      "--style",   style,
                                      "--output",     output,      "--weights",  "random:1",  "--image-size",
                                      "32",           "--num-iterations", "2",   "--print-iter", "0"};
        a.insert(a.end(), extra.begin(), extra.end());
        return a;
    }
};

// Exit code `code`, exactly one error line that mentions `mention`, the output file untouched.
void check_error(const Files& f, const std::vector<std::string>& extra, int code, const std::string& mention) {
    std::string joined;
    for (const auto& a : extra) joined += a + " ";
    INFO("options: " << joined);
    test::check_cli_error(f.args(extra), code, f.output, mention);
}

}  // namespace

TEST_CASE("cli: --precision other than fp32 on the cpu backend is a usage error") {
    Files f("precision_cpu");
    check_error(f, {"--backend", "cpu", "--precision", "bf16"}, 2, "--precision");
    check_error(f, {"--backend", "cpu", "--precision", "tf32"}, 2, "--precision");
}

TEST_CASE("cli: malformed values of the cuda options are usage errors") {
    Files f("cuda_values");
    check_error(f, {"--backend", "cpu", "--precision", "fp16"}, 2, "fp16");
    check_error(f, {"--backend", "cuda", "--precision", "half"}, 2, "half");
    check_error(f, {"--backend", "cpu", "--cuda-graph", "maybe"}, 2, "--cuda-graph");
    check_error(f, {"--backend", "cpu", "--gram-impl", "cublas"}, 2, "--gram-impl");
    for (const char* bad : {"3", "0:1", "2:0", "a:b", "2:3x", ":"})
        check_error(f, {"--backend", "cpu", "--profile-iters", bad}, 2, "--profile-iters");
}

TEST_CASE("cli: --precision fp32 on the cpu backend runs") {
    Files f("precision_fp32");
    // --gram-impl is read by the cuda backend only; the cpu backend accepts and ignores it.
    const test::RunResult r = run_nst(f.args({"--backend", "cpu", "--precision", "fp32", "--gram-impl", "cublas-syrk"}));
    INFO("stderr: " << r.err);
    CHECK(r.exit_code == 0);
    CHECK(test::file_exists(f.output));
}

TEST_CASE("cli: the cuda backend without a usable device is a runtime error") {
    if (cuda_device_count() > 0) {
        MESSAGE("a CUDA device is present: the cuda backend runs (tests/cuda covers it)");
        return;
    }
    Files f("no_device");
    // Valid options for the cuda backend get as far as the device, which fails with exit 4.
    check_error(f, {"--backend", "cuda", "--precision", "bf16", "--cuda-graph", "off"}, 4, "cuda");
}
