// SPDX-License-Identifier: MIT
// VGG16 as the second architecture of the VGG nets: its layer table against torchvision's
// indices written out here, random16 weights against the documented formula, the float net
// (Winograd) and the double net against a naive double VGG16 written in this file from the
// paper's configuration D (not from the library's table), the double backward against central
// differences, safetensors loading with canonical and torchvision names, and layer-name errors.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/rng.h"
#include "nn/safetensors.h"
#include "nn/vgg19.h"
#include "nn/weights.h"
#include "test_errors.h"
#include "test_util.h"

using namespace nst;
using nst::test::contains;
using nst::test::error_of;
using nst::test::rel_l2;

namespace {

// Configuration D of Simonyan & Zisserman: convs per block and their widths.
const int kConvsPerBlock[5] = {2, 2, 3, 3, 3};
const int kWidth[5] = {64, 128, 256, 512, 512};
// torchvision vgg16().features indices of the 13 convs.
const int kTorchvisionConvs[13] = {0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28};

// --- a naive double VGG16 -----------------------------------------------------------------

struct Act {
    int c = 0, h = 0, w = 0;
    std::vector<double> v;  // (c, h, w)
    double& at(int ch, int y, int x) { return v[(std::size_t(ch) * h + y) * w + x]; }
    double at(int ch, int y, int x) const { return v[(std::size_t(ch) * h + y) * w + x]; }
};

Act naive_conv_relu(const Act& in, const ConvParams& p, int out_c) {
    Act o{out_c, in.h, in.w, std::vector<double>(std::size_t(out_c) * in.h * in.w)};
    const float* wt = p.weight.data();
    for (int oc = 0; oc < out_c; ++oc)
        for (int y = 0; y < in.h; ++y)
            for (int x = 0; x < in.w; ++x) {
                double s = p.bias.data()[oc];
                for (int ic = 0; ic < in.c; ++ic)
                    for (int dy = -1; dy <= 1; ++dy)
                        for (int dx = -1; dx <= 1; ++dx) {
                            const int yy = y + dy, xx = x + dx;
                            if (yy < 0 || yy >= in.h || xx < 0 || xx >= in.w) continue;
                            s += double(wt[((std::size_t(oc) * in.c + ic) * 3 + (dy + 1)) * 3 + (dx + 1)]) *
                                 in.at(ic, yy, xx);
                        }
                o.at(oc, y, x) = s > 0 ? s : 0;
            }
    return o;
}

Act naive_pool(const Act& in, bool max) {
    Act o{in.c, in.h / 2, in.w / 2, std::vector<double>(std::size_t(in.c) * (in.h / 2) * (in.w / 2))};
    for (int c = 0; c < in.c; ++c)
        for (int y = 0; y < o.h; ++y)
            for (int x = 0; x < o.w; ++x) {
                const double a = in.at(c, 2 * y, 2 * x), b = in.at(c, 2 * y, 2 * x + 1),
                             d = in.at(c, 2 * y + 1, 2 * x), e = in.at(c, 2 * y + 1, 2 * x + 1);
                o.at(c, y, x) = max ? std::max(std::max(a, b), std::max(d, e)) : (a + b + d + e) / 4;
            }
    return o;
}

// The ReLU outputs relu{b}_{last} of every block (relu1_2, relu2_2, relu3_3, relu4_3, relu5_3)
// and pool5.
std::vector<Act> naive_vgg16(const VggWeights& wts, const Tensor<float>& x, bool max) {
    Act a{3, x.shape().h, x.shape().w, std::vector<double>(x.data(), x.data() + x.numel())};
    std::vector<Act> outs;
    int conv = 0;
    for (int b = 0; b < 5; ++b) {
        for (int i = 0; i < kConvsPerBlock[b]; ++i) a = naive_conv_relu(a, wts.conv[std::size_t(conv++)], kWidth[b]);
        outs.push_back(a);
        a = naive_pool(a, max);
    }
    outs.push_back(a);
    return outs;
}

// He-normal weights with small biases (random16 has zero biases, which would leave the bias
// path untested).
VggWeights biased_vgg16(std::uint64_t seed) {
    VggWeights w = random_weights(seed, VggArch::Vgg16);
    for (int k = 0; k < w.num_convs(); ++k)
        for (std::size_t o = 0; o < w.conv[std::size_t(k)].bias.numel(); ++o)
            w.conv[std::size_t(k)].bias.data()[o] = float(0.05 * rng::normal(seed, 300 + std::uint64_t(k), o));
    return w;
}

template <typename T>
Tensor<T> image(int h, int w, std::uint64_t seed) {
    Tensor<T> x(Shape{1, 3, h, w});
    for (std::size_t j = 0; j < x.numel(); ++j) x[j] = T(60 * rng::normal(seed, 0, j));
    return x;
}

const std::vector<std::string> kBlockTaps = {"relu1_2", "relu2_2", "relu3_3", "relu4_3", "relu5_3", "pool5"};

std::vector<int> vgg16_indices(const std::vector<std::string>& names) {
    std::vector<int> k;
    for (const auto& n : names) k.push_back(layer_index(n, VggArch::Vgg16));
    return k;
}

std::uint32_t bits_of(float f) {
    std::uint32_t u;
    std::memcpy(&u, &f, 4);
    return u;
}

}  // namespace

TEST_CASE("vgg16: layer table follows torchvision's features indices") {
    const VggLayers& t = vgg_layers(VggArch::Vgg16);
    CHECK(t.arch() == VggArch::Vgg16);
    CHECK(t.size() == 31);
    CHECK(t.num_convs() == 13);
    int conv = 0;
    for (int b = 0; b < 5; ++b)
        for (int i = 0; i < kConvsPerBlock[b]; ++i, ++conv) {
            const int k = kTorchvisionConvs[conv];
            const std::string suffix = std::to_string(b + 1) + "_" + std::to_string(i + 1);
            CHECK(conv_layer_index(conv, VggArch::Vgg16) == k);
            CHECK(t[std::size_t(k)].name == "conv" + suffix);
            CHECK(t[std::size_t(k + 1)].name == "relu" + suffix);
            CHECK(t[std::size_t(k)].channels == kWidth[b]);
            CHECK(conv_out_channels(conv, VggArch::Vgg16) == kWidth[b]);
            CHECK(conv_in_channels(conv, VggArch::Vgg16) == (conv == 0 ? 3 : t[std::size_t(k - 1)].channels));
        }
    CHECK(layer_index("relu4_3", VggArch::Vgg16) == 22);
    CHECK(layer_index("pool4", VggArch::Vgg16) == 23);
    CHECK(layer_index("pool5", VggArch::Vgg16) == 30);
    CHECK(layer_index("relu4_2", VggArch::Vgg16) == 20);
    // The same name is another index in VGG19.
    CHECK(layer_index("relu4_2") == 22);
    int h = 0, w = 0;
    layer_output_size(layer_index("relu5_3", VggArch::Vgg16), 100, 37, h, w, VggArch::Vgg16);
    CHECK(h == 6);
    CHECK(w == 2);
    const std::vector<Shape> s = layer_shapes(30, 64, 32, VggArch::Vgg16);
    CHECK(s.size() == 31);
    CHECK(s[22] == (Shape{1, 512, 8, 4}));
    CHECK(s[30] == (Shape{1, 512, 2, 1}));
    CHECK(contains(error_of([] { layer_shapes(30, 16, 64, VggArch::Vgg16); }, ExitCode::Input),
                   "too small for VGG16 layer pool5"));
}

TEST_CASE("vgg16: layer names are parsed against the network") {
    CHECK(parse_layer_list("relu4_3,relu1_1", "--style-layers", VggArch::Vgg16) == std::vector<int>{22, 1});
    std::string m = error_of([] { parse_layer_list("relu1_1,relu5_4", "--style-layers", VggArch::Vgg16); },
                             ExitCode::Usage);
    CHECK(contains(m, "--style-layers"));
    CHECK(contains(m, "relu5_4"));
    CHECK(contains(m, "not in VGG16"));
    CHECK(contains(m, "relu5_3"));  // the deepest ReLU it has
    m = error_of([] { layer_index("conv3_4", VggArch::Vgg16); }, ExitCode::Usage);
    CHECK(contains(m, "not in VGG16"));
    m = error_of([] { layer_index("relu6_1", VggArch::Vgg16); }, ExitCode::Usage);
    CHECK(contains(m, "unknown layer 'relu6_1'"));
    // VGG19 keeps its names, and knows relu4_3 too.
    CHECK(layer_index("relu5_4") == 35);
    CHECK(layer_index("relu4_3") == 24);
}

TEST_CASE("vgg16: random16 weights follow the documented formula and are reproducible") {
    const VggWeights a = load_weights("random16:5");
    CHECK(a.arch == VggArch::Vgg16);
    CHECK(a.num_convs() == 13);
    CHECK(a.random);
    CHECK(a.seed == 5);
    CHECK(a.source == "random16:5");
    CHECK(a.preprocess == PreprocessKind::Caffe);
    // Element j of conv k: float(sqrt(2 / (O * 9)) * normal(seed, kStreamWeights + k, j)), k
    // counting VGG16's convs.
    int conv = 0;
    for (int b = 0; b < 5; ++b)
        for (int i = 0; i < kConvsPerBlock[b]; ++i, ++conv) {
            const Tensor<float>& t = a.conv[std::size_t(conv)].weight;
            const int in = conv == 0 ? 3 : (i == 0 ? kWidth[b - 1] : kWidth[b]);
            REQUIRE(t.shape() == (Shape{kWidth[b], in, 3, 3}));
            REQUIRE(a.conv[std::size_t(conv)].bias.shape() == (Shape{1, kWidth[b], 1, 1}));
            const double sd = std::sqrt(2.0 / (kWidth[b] * 9.0));
            for (std::size_t j : {std::size_t(0), std::size_t(77), t.numel() - 1})
                CHECK(bits_of(t[j]) == bits_of(float(sd * rng::normal(5, rng::kStreamWeights + std::uint64_t(conv), j))));
            for (float v : a.conv[std::size_t(conv)].bias) CHECK(v == 0.f);
        }
    const VggWeights again = load_weights("random16:5");
    CHECK(weights_checksum(again) == weights_checksum(a));
    // Plain random16 is seed 0.
    const VggWeights z = load_weights("random16");
    CHECK(z.seed == 0);
    CHECK(z.source == "random16:0");
    CHECK(bits_of(z.conv[12].weight[999]) ==
          bits_of(float(std::sqrt(2.0 / (512 * 9.0)) * rng::normal(0, rng::kStreamWeights + 12, 999))));
    CHECK(weights_checksum(z) != weights_checksum(a));
    for (const char* spec : {"random16:", "random16:x", "random16:-2"})
        CHECK(contains(error_of([&] { load_weights(spec); }, ExitCode::Usage), "random16:"));
}

TEST_CASE("vgg16: float and double nets match a naive double VGG16") {
    const VggWeights wts = biased_vgg16(11);
    const Tensor<float> x = image<float>(40, 36, 3);
    for (Pooling pooling : {Pooling::Max, Pooling::Avg}) {
        CAPTURE(pooling == Pooling::Max);
        const std::vector<Act> ref = naive_vgg16(wts, x, pooling == Pooling::Max);
        const std::vector<int> taps = vgg16_indices(kBlockTaps);
        cpu::VggNet<float> net(wts, pooling, cpu::ConvAlgo::Auto);
        CHECK(net.arch() == VggArch::Vgg16);
        net.set_taps(taps);
        net.forward(x.cview());
        cpu::VggNet<double> dnet(wts, pooling, cpu::ConvAlgo::Direct);
        dnet.set_taps(taps);
        const Tensor<double> xd = cast<double, float>(x.cview());
        dnet.forward(xd.cview());
        for (std::size_t t = 0; t < taps.size(); ++t) {
            CAPTURE(kBlockTaps[t]);
            const ConstView<float> y = net.output(taps[t]);
            const ConstView<double> yd = dnet.output(taps[t]);
            REQUIRE(y.shape == (Shape{1, ref[t].c, ref[t].h, ref[t].w}));
            REQUIRE(yd.shape == y.shape);
            CHECK(rel_l2(y.data, ref[t].v.data(), y.numel()) < 1e-5);
            CHECK(rel_l2(yd.data, ref[t].v.data(), yd.numel()) < 1e-12);
        }
    }
}

TEST_CASE("vgg16: double backward matches central differences") {
    const VggWeights wts = biased_vgg16(12);
    const std::vector<int> taps = vgg16_indices({"relu3_3", "relu4_3", "pool5"});
    cpu::VggNet<double> net(wts, Pooling::Avg, cpu::ConvAlgo::Direct);
    net.set_taps(taps);
    Tensor<double> x = image<double>(32, 32, 4);
    // f(x) = sum_t <r_t, tap_t(x)> with fixed random r_t.
    std::vector<Tensor<double>> r;
    net.forward(x.cview());
    for (std::size_t t = 0; t < taps.size(); ++t)
        r.push_back(test::random_tensor<double>(net.output(taps[t]).shape, 40 + t));
    auto f = [&](const std::vector<double>& xv) {
        Tensor<double> xi(x.shape());
        std::copy(xv.begin(), xv.end(), xi.data());
        net.forward(xi.cview());
        double s = 0;
        for (std::size_t t = 0; t < taps.size(); ++t) {
            const ConstView<double> y = net.output(taps[t]);
            for (std::size_t j = 0; j < y.numel(); ++j) s += r[t][j] * y[j];
        }
        return s;
    };
    const std::vector<double> xv(x.data(), x.data() + x.numel());
    net.forward(x.cview());
    Tensor<double> dx(x.shape());
    net.backward(dx.view(), [&](int layer, TensorView<double> g) {
        for (std::size_t t = 0; t < taps.size(); ++t)
            if (taps[t] == layer)
                for (std::size_t j = 0; j < g.numel(); ++j) g[j] += r[t][j];
    });
    for (std::uint64_t d = 0; d < 3; ++d) {
        std::vector<double> v(xv.size());
        for (std::size_t j = 0; j < v.size(); ++j) v[j] = rng::normal(90, d, j);
        double analytic = 0;
        for (std::size_t j = 0; j < v.size(); ++j) analytic += dx[j] * v[j];
        // Piecewise linear in x: the step is small enough to cross no ReLU kink for these seeds
        // (the differences for steps 1e-5..1e-4 agree to 1e-8) and large enough that rounding
        // of f (about 460) stays near 1e-8.
        const double numeric = test::directional_difference(f, xv, v, 1e-4);
        CAPTURE(d);
        CHECK(std::fabs(analytic) > 1e-3);
        CHECK(std::fabs(analytic - numeric) <= 1e-6 * std::max(std::fabs(numeric), std::fabs(analytic)));
    }
}

TEST_CASE("vgg16: safetensors files load with canonical and torchvision names") {
    const std::string dir = test::temp_dir("vgg16_weights");
    const VggWeights w = biased_vgg16(13);
    const std::string sum = weights_checksum(w);

    // The canonical format other tools write: conv1_1 ... conv5_3, nst.arch = vgg16.
    const std::string canon = dir + "/canon.safetensors";
    save_weights_safetensors(canon, w);
    {
        SafetensorsReader r(canon, "weights");
        CHECK(r.metadata().at("nst.arch") == "vgg16");
        CHECK(r.find("conv5_3.weight"));
        CHECK_FALSE(r.find("conv5_4.weight"));
    }
    VggWeights c = load_weights(canon);
    CHECK(c.arch == VggArch::Vgg16);
    CHECK(weights_checksum(c) == sum);

    // torchvision's features.N names, no metadata: recognised as VGG16 by its indices.
    std::vector<SafetensorsView> views;
    for (int k = 0; k < 13; ++k) {
        const ConvParams& p = w.conv[std::size_t(k)];
        const Shape& s = p.weight.shape();
        const std::string base = "features." + std::to_string(kTorchvisionConvs[k]);
        views.push_back({base + ".weight", {s.n, s.c, s.h, s.w}, p.weight.data()});
        views.push_back({base + ".bias", {s.n}, p.bias.data()});
    }
    const float fc[4] = {1, 2, 3, 4};
    views.push_back({"classifier.0.weight", {2, 2}, fc});
    const std::string tv = dir + "/tv.safetensors";
    save_safetensors(tv, views);
    const VggWeights t = load_weights(tv);
    CHECK(t.arch == VggArch::Vgg16);
    CHECK(t.preprocess == PreprocessKind::Torchvision);
    CHECK(weights_checksum(t) == sum);
    for (int k = 0; k < 13; ++k)
        CHECK(std::memcmp(t.conv[std::size_t(k)].weight.data(), w.conv[std::size_t(k)].weight.data(),
                          w.conv[std::size_t(k)].weight.numel() * 4) == 0);

    // Canonical names without metadata: conv5_3 present and no conv5_4 says VGG16.
    std::vector<SafetensorsView> cviews;
    for (int k = 0; k < 13; ++k) {
        const ConvParams& p = w.conv[std::size_t(k)];
        const Shape& s = p.weight.shape();
        const std::string base = conv_name(k, VggArch::Vgg16);
        cviews.push_back({base + ".weight", {s.n, s.c, s.h, s.w}, p.weight.data()});
        cviews.push_back({base + ".bias", {s.n}, p.bias.data()});
    }
    const std::string plain = dir + "/plain.safetensors";
    save_safetensors(plain, cviews);
    const VggWeights pl = load_weights(plain);
    CHECK(pl.arch == VggArch::Vgg16);
    CHECK(pl.preprocess == PreprocessKind::Caffe);
    CHECK(weights_checksum(pl) == sum);
    // Without conv5_3 either, a damaged file is taken for VGG19 and its errors name VGG19's tensors.
    cviews.resize(24);
    save_safetensors(plain, cviews);
    CHECK(error_of([&] { load_weights(plain); }) == "weights '" + plain + "': missing tensor conv3_4.weight");

    // A missing tensor is named in both namings, with the network it belongs to.
    views.erase(views.begin() + 25);  // features.28.bias
    const std::string missing = dir + "/missing.safetensors";
    save_safetensors(missing, views, {{"nst.arch", "vgg16"}});
    const std::string m = error_of([&] { load_weights(missing); }, ExitCode::Input);
    CHECK(contains(m, "missing tensor features.28.bias (conv5_3.bias) (of VGG16)"));

    // A bad nst.arch value is an input error.
    const std::string bad = dir + "/bad.safetensors";
    save_safetensors(bad, views, {{"nst.arch", "vgg11"}});
    CHECK(contains(error_of([&] { load_weights(bad); }, ExitCode::Input), "metadata nst.arch is 'vgg11'"));

    // A VGG16 file for a VGG19 net shape-checks as VGG16; VGG19 files still say vgg19.
    const std::string v19 = dir + "/v19.safetensors";
    VggWeights w19;
    for (int k = 0; k < 16; ++k) {
        w19.conv[std::size_t(k)].weight = Tensor<float>(Shape{conv_out_channels(k), conv_in_channels(k), 3, 3});
        w19.conv[std::size_t(k)].bias = filled(Shape{1, conv_out_channels(k), 1, 1}, 0.5f);
        std::fill(w19.conv[std::size_t(k)].weight.begin(), w19.conv[std::size_t(k)].weight.end(), 0.25f);
    }
    save_weights_safetensors(v19, w19);
    const VggWeights r19 = load_weights(v19);
    CHECK(r19.arch == VggArch::Vgg19);
    CHECK(r19.num_convs() == 16);
    CHECK(weights_checksum(r19) == weights_checksum(w19));
    std::filesystem::remove_all(dir);
}

TEST_CASE("vgg16: nets reject weights of the wrong shape") {
    VggWeights w = random_weights(1, VggArch::Vgg16);
    w.conv[7].bias = filled(Shape{1, 256, 1, 1}, 0.f);
    CHECK(contains(error_of([&] { cpu::VggNet<float> net(w, Pooling::Max); }, ExitCode::Input),
                   "VGG16 weights: conv4_1.bias has 256 values, expected 512"));
    w.conv.pop_back();
    CHECK(contains(error_of([&] { cpu::VggNet<float> net(w, Pooling::Max); }, ExitCode::Input),
                   "12 convs, expected 13"));
}
