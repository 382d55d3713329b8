// SPDX-License-Identifier: MIT
// `nst features --backend/--gpu` (issue #15), where no GPU is needed: --backend cpu writes the CPU
// network's activations (relu1_1 checked against a direct convolution in double, the other files
// against the run without the option), and the options fail as `nst run`'s do: an unknown backend
// is a usage error (2), --backend cuda without a usable device a runtime error (4), after input
// errors (3), with existing files untouched. The CUDA path against the CPU is
// tests/cuda/test_cuda_features.cpp (a GPU, or the emulated backend).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "core/rng.h"
#include "engine/engine.h"
#include "io/npy.h"
#include "nn/weights.h"
#include "test_errors.h"
#include "test_util.h"

using namespace nst;
using nst::test::run_nst;

namespace {

constexpr int kH = 20, kW = 24;

// A network-space input (1, 3, kH, kW), written as .npy so that preprocessing is not under test.
std::vector<float> input_values() {
    std::vector<float> x(3 * kH * kW);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = float(200 * rng::uniform(7, 1003, i) - 100);
    return x;
}

std::vector<std::string> features_args(const std::string& image, const std::string& out_dir,
                                       const std::vector<std::string>& extra) {
    std::vector<std::string> a = {"features", "--image", image, "--layers", "relu1_1,relu3_1", "--out-dir", out_dir,
                                  "--gram", "--weights", "random:1"};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
}

}  // namespace

TEST_CASE("features cli: --backend cpu writes the cpu network's activations") {
    const std::string dir = test::temp_dir("cli_features_backend");
    const std::string image = dir + "/x.npy";
    const std::vector<float> x = input_values();
    save_npy(image, x.data(), {1, 3, kH, kW});
    const test::RunResult r = run_nst(features_args(image, dir + "/cpu", {"--backend", "cpu", "--gpu", "0"}));
    INFO("stderr: " << r.err);
    REQUIRE(r.exit_code == 0);

    // relu1_1 = max(0, conv1_1(x) + b), zero padding 1, in double from the same random weights.
    const VggWeights w = random_weights(1);
    const Tensor<float>& k = w.conv[0].weight;
    const NpyArray a = load_npy(dir + "/cpu/relu1_1.npy");
    REQUIRE(a.shape == std::vector<std::int64_t>{1, 64, kH, kW});
    double err2 = 0, ref2 = 0;
    for (int o = 0; o < 64; ++o)
        for (int i = 0; i < kH; ++i)
            for (int j = 0; j < kW; ++j) {
                double s = w.conv[0].bias[std::size_t(o)];
                for (int c = 0; c < 3; ++c)
                    for (int di = -1; di <= 1; ++di)
                        for (int dj = -1; dj <= 1; ++dj) {
                            const int y = i + di, z = j + dj;
                            if (y < 0 || y >= kH || z < 0 || z >= kW) continue;
                            s += double(k[((std::size_t(o) * 3 + c) * 3 + di + 1) * 3 + dj + 1]) *
                                 x[(std::size_t(c) * kH + y) * kW + z];
                        }
                const double ref = std::max(0.0, s), got = a.data[(std::size_t(o) * kH + i) * kW + j];
                err2 += (got - ref) * (got - ref);
                ref2 += ref * ref;
            }
    const double rel = std::sqrt(err2 / ref2);
    MESSAGE("features --backend cpu: relu1_1 vs direct convolution in double, rel_l2 " << rel);
    CHECK(rel < 1e-5);

    // Without a GPU, auto is the cpu: the default and --backend auto write the same bytes.
    if (cuda_device_count() > 0) return;  // auto would pick the GPU (tests/cuda compares the two)
    for (const std::vector<std::string>& extra : {std::vector<std::string>{}, {"--backend", "auto"}}) {
        const std::string other = dir + "/other" + std::to_string(extra.size());
        const test::RunResult d = run_nst(features_args(image, other, extra));
        INFO("stderr: " << d.err);
        REQUIRE(d.exit_code == 0);
        for (const char* f : {"relu1_1.npy", "relu3_1.npy", "relu1_1.gram.npy", "relu3_1.gram.npy"})
            CHECK(test::read_file(other + "/" + f) == test::read_file(dir + "/cpu/" + f));
    }
}

TEST_CASE("features cli: --backend and --gpu fail as in nst run") {
    const std::string dir = test::temp_dir("cli_features_backend_errors");
    const std::string image = test::smooth_png(dir, "in.png", 24, 28, 3);
    const std::string out_dir = dir + "/feat";
    const std::string existing = out_dir + "/relu1_1.npy";
    std::filesystem::create_directories(out_dir);
    test::check_cli_error(features_args(image, out_dir, {"--backend", "tpu"}), 2, existing, "--backend");
    test::check_cli_error(features_args(image, out_dir, {"--gpu", "x"}), 2, existing, "--gpu");
    // Input errors come before the device, as in run and eval.
    test::check_cli_error(features_args(dir + "/missing.png", out_dir, {"--backend", "cuda"}), 3, existing,
                          "missing.png");
    if (cuda_device_count() > 0) return;  // a GPU runs it (tests/cuda/test_cuda_features.cpp)
    // The same message as `nst run --backend cuda` on this build.
    const test::RunResult run = run_nst({"run", "--content", image, "--style", image, "--weights", "random:1",
                                         "--image-size", "24", "--num-iterations", "1", "--backend", "cuda",
                                         "--output", dir + "/out.png"});
    REQUIRE(run.exit_code == 4);
    test::check_cli_error(features_args(image, out_dir, {"--backend", "cuda"}), 4, existing, "CUDA");
    const test::RunResult f = run_nst(features_args(image, out_dir, {"--backend", "cuda"}));
    CHECK(f.err.substr(f.err.find("nst: error: ")) == run.err.substr(run.err.find("nst: error: ")));
}
