// SPDX-License-Identifier: MIT
#include "convert/normalize.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "io/preprocess.h"
#include "nn/vgg19.h"

namespace nst::convert {

namespace {

// The smallest input whose relu5_4 output is not empty: four 2x2 pools before it.
constexpr int kMinSide = 16;

bool is_image_name(const std::string& name) {
    std::string ext = std::filesystem::path(name).extension().string();
    for (char& c : ext) c = char(std::tolower(static_cast<unsigned char>(c)));
    return ext == ".png" || ext == ".jpg" || ext == ".jpeg";
}

const char* pooling_name(Pooling p) { return p == Pooling::Max ? "max" : "avg"; }
const char* rule_name(SizeRule r) { return r == SizeRule::Max ? "max" : r == SizeRule::Short ? "short" : "area"; }

}  // namespace

std::vector<std::string> list_images(const std::string& dir) {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) throw_input("--images '" + dir + "': not a directory");
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir, ec))
        if (e.is_regular_file(ec) && is_image_name(e.path().filename().string())) out.push_back(e.path().string());
    if (ec) throw_input("--images '" + dir + "': cannot list (" + ec.message() + ")");
    std::sort(out.begin(), out.end());
    if (out.empty()) throw_input("--images '" + dir + "': no .png, .jpg or .jpeg files in it");
    return out;
}

Normalized normalize_weights(const Vgg19Weights& in, const NormalizeOptions& o) {
    Normalized r;
    r.images = list_images(o.images_dir);
    const Preprocessor pre{in.preprocess, o.caffe_scale};

    // Taps: the ReLU after every conv (layer index of conv c, plus one).
    std::vector<int> taps;
    for (int c = 0; c < kNumConvs; ++c) taps.push_back(conv_layer_index(c) + 1);
    cpu::Vgg19Net<float> net(in, o.pooling);
    net.set_taps(taps);

    std::array<std::vector<double>, kNumConvs> sum;
    for (int c = 0; c < kNumConvs; ++c) sum[std::size_t(c)].assign(std::size_t(conv_out_channels(c)), 0.0);
    for (const std::string& path : r.images) {
        Tensor<float> rgb = load_image(path);
        int h = rgb.shape().h, w = rgb.shape().w;
        if (o.image_size > 0) target_size(h, w, o.image_size, o.size_rule, h, w);
        if (h < kMinSide || w < kMinSide)
            throw_input("image '" + path + "' is " + std::to_string(h) + "x" + std::to_string(w) +
                        " after resizing; normalisation needs at least " + std::to_string(kMinSide) +
                        " pixels a side (relu5_4)");
        if (h != rgb.shape().h || w != rgb.shape().w) rgb = resize_image(rgb.cview(), h, w);
        Tensor<float> x(rgb.shape());
        pre.to_network(x.view(), rgb.cview());
        net.forward(x.cview());
        for (int c = 0; c < kNumConvs; ++c) {
            const ConstView<float> a = net.output(taps[std::size_t(c)]);
            const std::size_t plane = a.shape.plane();
            for (int ch = 0; ch < a.shape.c; ++ch) {
                double s = 0;
                const float* p = a.data + std::size_t(ch) * plane;
                for (std::size_t i = 0; i < plane; ++i) s += p[i];
                sum[std::size_t(c)][std::size_t(ch)] += s;
            }
            r.positions[c] += (long long)plane;
        }
    }

    // s^l per filter; the input channels have s = 1.
    std::vector<double> prev(3, 1.0);
    r.weights.preprocess = in.preprocess;
    r.weights.normalized = true;
    r.weights.source = in.source;
    for (int c = 0; c < kNumConvs; ++c) {
        const int O = conv_out_channels(c), I = conv_in_channels(c);
        std::vector<double> s(static_cast<std::size_t>(O));
        r.mean[std::size_t(c)].resize(std::size_t(O));
        r.scale[std::size_t(c)].resize(std::size_t(O));
        for (int i = 0; i < O; ++i) {
            const double mu = sum[std::size_t(c)][std::size_t(i)] / double(r.positions[c]);
            r.mean[std::size_t(c)][std::size_t(i)] = mu;
            const bool dead = !(mu > kDeadMean);
            r.dead[std::size_t(c)] += dead;
            s[std::size_t(i)] = dead ? 1.0 : mu;
            r.scale[std::size_t(c)][std::size_t(i)] = 1.0 / s[std::size_t(i)];
        }
        const ConvParams& src = in.conv[std::size_t(c)];
        ConvParams& dst = r.weights.conv[std::size_t(c)];
        dst.weight = Tensor<float>(src.weight.shape());
        dst.bias = Tensor<float>(src.bias.shape());
        for (int i = 0; i < O; ++i) {
            for (int ch = 0; ch < I; ++ch) {
                const double f = prev[std::size_t(ch)] / s[std::size_t(i)];
                const std::size_t base = (std::size_t(i) * std::size_t(I) + std::size_t(ch)) * 9;
                for (std::size_t k = 0; k < 9; ++k) dst.weight.data()[base + k] = float(double(src.weight.data()[base + k]) * f);
            }
            dst.bias.data()[i] = float(double(src.bias.data()[i]) / s[std::size_t(i)]);
        }
        for (std::size_t k = 0; k < dst.weight.numel(); ++k)
            if (!std::isfinite(dst.weight.data()[k]))
                throw_runtime("normalisation of " + conv_name(c) + " overflows float (a near-dead filter?)");
        prev = std::move(s);
    }
    return r;
}

std::string scales_json(const Normalized& n) {
    nlohmann::ordered_json j = nlohmann::ordered_json::object();
    for (int c = 0; c < kNumConvs; ++c) {
        nlohmann::ordered_json a = nlohmann::ordered_json::array();
        for (double v : n.scale[std::size_t(c)]) a.push_back(v);
        j[conv_name(c)] = std::move(a);
    }
    return j.dump();
}

std::string settings_json(const Normalized& n, const NormalizeOptions& o) {
    nlohmann::ordered_json j;
    j["images"] = n.images.size();
    j["image_dir"] = o.images_dir;
    j["image_size"] = o.image_size;
    j["size_rule"] = rule_name(o.size_rule);
    j["pooling"] = pooling_name(o.pooling);
    j["caffe_scale"] = o.caffe_scale;
    j["statistic"] = "mean post-ReLU activation per filter over all positions of all images";
    nlohmann::ordered_json dead = nlohmann::ordered_json::object();
    for (int c = 0; c < kNumConvs; ++c)
        if (n.dead[std::size_t(c)]) dead[conv_name(c)] = n.dead[std::size_t(c)];
    j["dead_filters"] = std::move(dead);
    return j.dump();
}

}  // namespace nst::convert
