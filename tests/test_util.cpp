// SPDX-License-Identifier: MIT
#include "test_util.h"

#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/rng.h"
#include "io/image.h"
#include "nn/net_model.h"
#include "nn/transformer_net.h"

namespace nst::test {

template <typename T>
Tensor<T> random_tensor(Shape shape, std::uint64_t seed, double lo, double hi) {
    Tensor<T> t(shape);
    for (std::size_t i = 0; i < t.numel(); ++i) t[i] = T(lo + (hi - lo) * rng::uniform(seed, 7777, i));
    return t;
}
template Tensor<float> random_tensor<float>(Shape, std::uint64_t, double, double);
template Tensor<double> random_tensor<double>(Shape, std::uint64_t, double, double);

Vgg19Weights he_weights(std::uint64_t seed, double bias_std, int last_conv) {
    Vgg19Weights wts;
    for (int c = 0; c < kNumConvs; ++c) {
        const int out = conv_out_channels(c), in = conv_in_channels(c);
        wts.conv[c].weight = filled(Shape{out, in, 3, 3}, 0.0f);
        wts.conv[c].bias = filled(Shape{1, out, 1, 1}, 0.0f);
        if (c > last_conv) continue;
        const double sd = std::sqrt(2.0 / (out * 9.0));
        for (std::size_t j = 0; j < wts.conv[c].weight.numel(); ++j)
            wts.conv[c].weight[j] = float(sd * rng::normal(seed, 1 + c, j));
        for (int o = 0; o < out; ++o) wts.conv[c].bias[o] = float(bias_std * rng::normal(seed, 100 + c, o));
    }
    wts.random = true;
    wts.seed = seed;
    return wts;
}

double central_difference(const std::function<double()>& f, double& xi, double eps) {
    const double x0 = xi;
    xi = x0 + eps;
    const double fp = f();
    xi = x0 - eps;
    const double fm = f();
    xi = x0;
    return (fp - fm) / (2 * eps);
}

double directional_difference(const std::function<double(const std::vector<double>&)>& f,
                              const std::vector<double>& x, const std::vector<double>& v, double eps) {
    std::vector<double> xp(x), xm(x);
    for (std::size_t i = 0; i < x.size(); ++i) {
        xp[i] += eps * v[i];
        xm[i] -= eps * v[i];
    }
    return (f(xp) - f(xm)) / (2 * eps);
}

std::string temp_dir(const std::string& name) {
    std::filesystem::path p = std::filesystem::path(NST_TEST_TMP) / name;
    std::filesystem::remove_all(p);
    std::filesystem::create_directories(p);
    return p.string();
}

static std::string shell_quote(const std::string& s) {
    std::string out = "'";
    for (char c : s) {
        if (c == '\'')
            out += "'\\''";
        else
            out += c;
    }
    return out + "'";
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

void write_file(const std::string& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary);
    out << bytes;
}

bool file_exists(const std::string& path) { return std::filesystem::exists(path); }

RunResult run_nst(const std::vector<std::string>& args) {
    const std::string dir = std::filesystem::path(NST_TEST_TMP).string();
    std::filesystem::create_directories(dir);
    static int counter = 0;
    const std::string base = dir + "/run_" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
    std::string cmd = shell_quote(NST_EXE);
    for (const auto& a : args) cmd += " " + shell_quote(a);
    cmd += " >" + shell_quote(base + ".out") + " 2>" + shell_quote(base + ".err") + " </dev/null";
    const int status = std::system(cmd.c_str());
    RunResult r;
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r.out = read_file(base + ".out");
    r.err = read_file(base + ".err");
    std::filesystem::remove(base + ".out");
    std::filesystem::remove(base + ".err");
    return r;
}

void check_cli_error(const std::vector<std::string>& args, int code, const std::string& output_path,
                     const std::string& mention) {
    const std::string sentinel = "previous output";
    write_file(output_path, sentinel);
    const RunResult r = run_nst(args);
    INFO("stderr: " << r.err);
    CHECK(r.exit_code == code);
    const std::size_t pos = r.err.find("nst: error: ");
    REQUIRE(pos != std::string::npos);
    const std::string tail = r.err.substr(pos);
    CHECK(count_lines(tail) == 1);
    if (!mention.empty()) CHECK(tail.find(mention) != std::string::npos);
    CHECK(read_file(output_path) == sentinel);
}

std::string shared_image(const std::string& name) { return std::string(NST_SHARED_IMAGES) + "/" + name; }

std::string transformer_model_file(const std::string& dir, std::uint64_t seed) {
    NetModel m;
    m.desc = transformer_net_desc(TransformerLayout::PytorchExamples, 8);
    m.params = init_params(m.desc, seed);
    m.metadata = {{"nst.width", "8"}, {"nst.io", "rgb255"}, {"nst.source", "test"}};
    const std::string path = dir + "/model.safetensors";
    save_model(path, m);
    return path;
}

std::string smooth_png(const std::string& dir, const std::string& name, int h, int w, std::uint64_t seed) {
    Tensor<float> rgb(Shape{1, 3, h, w});
    for (int c = 0; c < 3; ++c)
        for (int y = 0; y < h; ++y)
            for (int x = 0; x < w; ++x)
                rgb.view().at(0, c, y, x) = float(0.5 + 0.3 * std::sin(0.2 * (x + seed) + c) * std::cos(0.15 * y) +
                                                  0.1 * rng::uniform(seed, c, std::size_t(y) * w + x));
    const std::string path = dir + "/" + name;
    save_image(path, rgb.cview());
    return path;
}

int count_lines(const std::string& s) {
    int n = 0;
    for (char c : s) n += c == '\n';
    return n;
}

RunImages::RunImages(const std::string& dir_name, int content_h, int content_w, int style_h, int style_w)
    : dir(temp_dir(dir_name)) {
    content = smooth_png(dir, "content.png", content_h, content_w, 1);
    style = smooth_png(dir, "style.png", style_h, style_w, 2);
}

std::vector<std::string> RunImages::run_args(const std::string& output, const std::vector<std::string>& extra) const {
    std::vector<std::string> a = {"run",       "--output", output,      "--content", content,       "--style", style,
                                  "--weights", "random:3", "--backend", "cpu",       "--print-iter", "0"};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
}

}  // namespace nst::test
