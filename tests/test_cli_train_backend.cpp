// SPDX-License-Identifier: MIT
// `nst train --backend`: the option's values, and --backend cuda where it cannot run (a CPU-only
// build, or no device) failing as `nst run --backend cuda` does there: a runtime error (exit 4)
// before anything is written. Training on the GPU itself is tests/cuda/test_cuda_train.cpp.
#include <doctest/doctest.h>

#include <filesystem>

#include "engine/engine.h"
#include "test_util.h"

using namespace nst;

TEST_CASE("train cli: --backend cuda without a usable GPU is a runtime error") {
    const std::string dir = test::temp_dir("cli_train_backend");
    const std::string style = test::smooth_png(dir, "style.png", 24, 24, 1);
    const std::string data = dir + "/data";
    std::filesystem::create_directories(data);
    test::smooth_png(data, "a.png", 40, 40, 2);
    const std::string out = dir + "/model.safetensors";
    auto args = [&](std::vector<std::string> extra) {
        std::vector<std::string> a = {"train", "--style", style, "--dataset", data, "--output", out,
                                      "--weights", "random16:3", "--width", "4", "--image-size", "16",
                                      "--iterations", "1", "--quiet"};
        a.insert(a.end(), extra.begin(), extra.end());
        return a;
    };
    test::check_cli_error(args({"--backend", "tpu"}), 2, out, "--backend");
    test::check_cli_error(args({"--backend", "cuda", "--gpu", "-1"}), 2, out, "--gpu");
    if (cuda_device_count() > 0) return;  // a GPU runs it (tests/cuda)
    test::check_cli_error(args({"--backend", "cuda"}), 4, out, "CUDA");
}
