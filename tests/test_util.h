// SPDX-License-Identifier: MIT
// Shared test helpers: metrics, finite differences in double, temporary files, running the CLI.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "nn/weights.h"

namespace nst::test {

// ||a - b||_2 / max(||b||_2, 1e-30), accumulated in double.
template <typename A, typename B>
double rel_l2(const A* a, const B* b, std::size_t n) {
    long double num = 0, den = 0;
    for (std::size_t i = 0; i < n; ++i) {
        long double d = (long double)a[i] - (long double)b[i];
        num += d * d;
        den += (long double)b[i] * (long double)b[i];
    }
    return double(std::sqrt(num) / std::max(std::sqrt(den), 1e-30L));
}

// Deterministic test data: uniform in [lo, hi) from a counter-based stream.
template <typename T>
Tensor<T> random_tensor(Shape shape, std::uint64_t seed, double lo = -1, double hi = 1);

// He-normal VGG19 weights (torchvision's init, std sqrt(2 / (O*9))) with small random biases of
// std bias_std, so the bias path is exercised (random[:SEED] has zero biases). Convs after
// `last_conv` stay zero: tests that stop at relu5_1 need not draw conv5_2..conv5_4's 7M values.
Vgg19Weights he_weights(std::uint64_t seed, double bias_std, int last_conv = kNumConvs - 1);

// Central difference in double: (f(x + eps*e_i) - f(x - eps*e_i)) / (2 eps) for coordinate i.
double central_difference(const std::function<double()>& f, double& xi, double eps);

// Directional derivative of f at x along v by central differences: (f(x+eps v) - f(x-eps v)) / 2eps.
double directional_difference(const std::function<double(const std::vector<double>&)>& f,
                              const std::vector<double>& x, const std::vector<double>& v, double eps);

// A fresh directory under the build tree for one test (removed first if it exists).
std::string temp_dir(const std::string& name);

struct RunResult {
    int exit_code = -1;
    std::string out, err;
};
// Runs the built nst binary with arguments (shell-quoted here), capturing stdout and stderr.
RunResult run_nst(const std::vector<std::string>& args);

// The error contract of spec §7 (doctest checks): nst with args exits with `code`, its stderr
// ends in exactly one line beginning `nst: error: ` (warnings, e.g. for random weights, may
// precede it) that mentions `mention` (when not empty), and output_path, written beforehand,
// is left untouched.
void check_cli_error(const std::vector<std::string>& args, int code, const std::string& output_path,
                     const std::string& mention = "");

std::string read_file(const std::string& path);
void write_file(const std::string& path, const std::string& bytes);
bool file_exists(const std::string& path);
std::string shared_image(const std::string& name);  // path into ../shared/images

// A small natural-looking RGB image (smooth waves plus seeded noise) written as DIR/NAME (PNG),
// so that CLI tests need no shared files. Returns the path.
std::string smooth_png(const std::string& dir, const std::string& name, int h, int w, std::uint64_t seed);

int count_lines(const std::string& s);

// A width-8 TransformerNet (pytorch/examples layout, rgb255 io) with init_params(seed), written as
// DIR/model.safetensors for the feed-forward CLI tests (stylize, video --model, in-process).
std::string transformer_model_file(const std::string& dir, std::uint64_t seed);

// A fresh test directory with a content and a style image (smooth_png, seeds 1 and 2), and the
// arguments of a quick `nst run` over them: random weights, the cpu backend, no progress lines.
struct RunImages {
    std::string dir, content, style;
    RunImages(const std::string& dir_name, int content_h, int content_w, int style_h, int style_w);
    std::string path(const std::string& name) const { return dir + "/" + name; }
    // run --output OUTPUT --content C --style S --weights random:3 --backend cpu --print-iter 0,
    // then `extra` (later options win for scalars).
    std::vector<std::string> run_args(const std::string& output, const std::vector<std::string>& extra) const;
};

}  // namespace nst::test
