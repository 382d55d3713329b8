// SPDX-License-Identifier: MIT
// `nst features --backend cuda` (issue #15): the activations and Gram matrices that cuda::VggNet
// computes (fp32, no TF32) against `--backend cpu` on the same image and weights, file by file;
// and --gpu naming a device that does not exist is the runtime error of `nst run`. Runs on a GPU
// and, through the emulated backend (tests/emu), in CPU-only builds.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "io/npy.h"
#include "test_errors.h"
#include "test_util.h"

using namespace nst;

namespace {

double rel_l2(const NpyArray& a, const NpyArray& b) {
    double e = 0, r = 0;
    for (std::size_t i = 0; i < a.data.size(); ++i) {
        const double d = double(a.data[i]) - b.data[i];
        e += d * d;
        r += double(b.data[i]) * b.data[i];
    }
    return std::sqrt(e / r);
}

}  // namespace

TEST_CASE("cuda cli: nst features --backend cuda writes the cpu backend's activations and Grams") {
    const std::string dir = test::temp_dir("cuda_cli_features");
    const std::string image = test::smooth_png(dir, "in.png", 20, 26, 4);
    const char* layers = "relu1_1,conv2_2,pool2,relu3_1";
    for (const char* backend : {"cpu", "cuda"}) {
        const test::RunResult r = test::run_nst({"features", "--image", image, "--layers", layers, "--out-dir",
                                                 dir + "/" + backend, "--gram", "--weights", "random:2", "--backend",
                                                 backend, "--gpu", "0"});
        INFO("stderr: " << r.err);
        REQUIRE(r.exit_code == 0);
    }
    // Both float: the CPU's Winograd convolutions differ from cuDNN's by rounding (1.7e-6 rel_l2
    // at relu5_4 against float64, tests/README.md); 1e-5 leaves room for that, not for a wrong layer.
    for (const char* name : {"relu1_1", "conv2_2", "pool2", "relu3_1"}) {
        for (const char* suffix : {".npy", ".gram.npy"}) {
            const std::string file = std::string(name) + suffix;
            const NpyArray c = load_npy(dir + "/cpu/" + file), g = load_npy(dir + "/cuda/" + file);
            INFO(file);
            REQUIRE(g.shape == c.shape);
            const double e = rel_l2(g, c);
            CHECK(e <= 1e-5);
            MESSAGE("features " << file << ": cuda vs cpu rel_l2 " << e);
        }
    }
}

TEST_CASE("cuda cli: nst features --gpu out of range is a runtime error") {
    const std::string dir = test::temp_dir("cuda_cli_features_gpu");
    const std::string image = test::smooth_png(dir, "in.png", 20, 26, 4);
    std::filesystem::create_directories(dir + "/feat");
    test::check_cli_error({"features", "--image", image, "--layers", "relu1_1", "--out-dir", dir + "/feat",
                           "--weights", "random:2", "--backend", "cuda", "--gpu", "99"},
                          4, dir + "/feat/relu1_1.npy", "--gpu 99");
}
