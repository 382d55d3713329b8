// SPDX-License-Identifier: MIT
// The batch perceptual loss (loss/perceptual.h): its value against the formulas evaluated here
// from the loss network's features, and its gradient against finite differences in double.
#include <doctest/doctest.h>

#include <cmath>

#include <nlohmann/json.hpp>

#include "core/rng.h"
#include "loss/perceptual.h"
#include "nn/safetensors.h"
#include "nn/vgg19.h"
#include "nn/weights.h"
#include "test_errors.h"
#include "test_util.h"

using namespace nst;

namespace {

std::vector<int> layers(const std::string& list) { return parse_layer_list(list, "--layers"); }

// Weights through conv4_3 (relu4_3 is the deepest layer the presets read).
// Drawn once: He-normal weights through conv4_3 are 7M values.
const Vgg19Weights& small_weights() {
    static const Vgg19Weights w = test::he_weights(21, 0.05, vgg19_layers()[layer_index("conv4_3")].conv);
    return w;
}

PerceptualOptions options_for(const char* preset_name, PreprocessKind pre, ModelIo io) {
    const PerceptualPreset& p = perceptual_preset(preset_name);
    PerceptualOptions o;
    o.content_layers = layers(p.content_layers);
    o.style_layers = layers(p.style_layers);
    o.content_weight = p.content_weight;
    o.style_weight = p.style_weight;
    o.tv_weight = p.tv_weight;
    o.preprocess = pre;
    o.io = io;
    return o;
}

Tensor<double> image_batch(int n, int h, int w, std::uint64_t seed, double lo, double hi) {
    return test::random_tensor<double>(Shape{n, 3, h, w}, seed, lo, hi);
}

}  // namespace

TEST_CASE("perceptual: presets are the published settings") {
    const auto& pe = perceptual_preset("pytorch-examples");
    CHECK(std::string(pe.content_layers) == "relu2_2");
    CHECK(std::string(pe.style_layers) == "relu1_2,relu2_2,relu3_3,relu4_3");
    CHECK(pe.content_weight == 1e5);
    CHECK(pe.style_weight == 1e10);
    CHECK(pe.tv_weight == 0);
    const auto& jj = perceptual_preset("jcjohnson");
    CHECK(std::string(jj.content_layers) == "relu3_3");
    CHECK(jj.style_weight == 5);
    CHECK(jj.tv_weight == 1e-6);
    const std::string msg = test::error_of([] { perceptual_preset("gatys"); }, ExitCode::Usage);
    CHECK(test::contains(msg, "pytorch-examples"));
}

TEST_CASE("perceptual: model io maps round trip and caffe-bgr is BGR minus the mean") {
    Tensor<double> x = image_batch(2, 3, 4, 3, 0, 255), y = x.clone();
    rgb255_to_model_io(ModelIo::CaffeBgr, y.view());
    CHECK(y.view().at(1, 0, 2, 3) == doctest::Approx(x.view().at(1, 2, 2, 3) - 103.939));
    CHECK(y.view().at(0, 2, 0, 1) == doctest::Approx(x.view().at(0, 0, 0, 1) - 123.68));
    model_io_to_rgb255(ModelIo::CaffeBgr, y.view());
    CHECK(test::rel_l2(y.data(), x.data(), x.numel()) < 1e-15);
}

TEST_CASE("perceptual: values equal the pytorch-examples formulas on the network's features") {
    const int b = 2, h = 16, w = 16;
    cpu::Vgg19Net<double> net(small_weights(), Pooling::Max), ref(small_weights(), Pooling::Max);
    PerceptualOptions o = options_for("pytorch-examples", PreprocessKind::Torchvision, ModelIo::Rgb255);
    o.tv_weight = 1e-3;
    PerceptualLoss<double> loss(net, o);
    const Tensor<float> style = test::random_tensor<float>(Shape{1, 3, 20, 18}, 4, 0, 1);
    loss.set_style(style.cview());
    const Tensor<double> y = image_batch(b, h, w, 5, 0, 255), x = image_batch(b, h, w, 6, 0, 255);
    const LossTerms t = loss.evaluate(y.cview(), x.cview(), TensorView<double>());

    // The reference, written out: torchvision normalisation, features, MSE means, Grams / (CHW).
    auto normalise = [](ConstView<double> img, int k) {
        const double mean[3] = {0.485, 0.456, 0.406}, sd[3] = {0.229, 0.224, 0.225};
        Tensor<double> out(Shape{1, 3, img.shape.h, img.shape.w});
        for (int c = 0; c < 3; ++c)
            for (int i = 0; i < img.shape.h; ++i)
                for (int j = 0; j < img.shape.w; ++j)
                    out.view().at(0, c, i, j) = (img.at(k, c, i, j) / 255.0 - mean[c]) / sd[c];
        return out;
    };
    auto gram = [](ConstView<double> f) {
        const int c = f.shape.c;
        const std::size_t m = f.shape.plane();
        std::vector<double> g(std::size_t(c) * c, 0.0);
        for (int i = 0; i < c; ++i)
            for (int j = 0; j < c; ++j) {
                double s = 0;
                for (std::size_t p = 0; p < m; ++p) s += f.data[i * m + p] * f.data[j * m + p];
                g[std::size_t(i) * c + j] = s / double(f.shape.numel());
            }
        return g;
    };
    std::vector<int> taps = o.content_layers;
    for (int l : o.style_layers) taps.push_back(l);
    std::sort(taps.begin(), taps.end());
    taps.erase(std::unique(taps.begin(), taps.end()), taps.end());
    ref.set_taps(taps);
    Tensor<double> sd = cast<double, float>(style.cview());
    for (auto& v : sd) v *= 255;
    ref.forward(normalise(sd.cview(), 0).cview());
    std::vector<std::vector<double>> style_grams;
    for (int l : o.style_layers) style_grams.push_back(gram(ref.output(l)));
    double content = 0, style_sum = 0, tv = 0;
    for (int k = 0; k < b; ++k) {
        ref.forward(normalise(x.cview(), k).cview());
        const Tensor<double> fx = [&] {
            const ConstView<double> f = ref.output(o.content_layers[0]);
            Tensor<double> c(f.shape);
            std::copy(f.begin(), f.end(), c.begin());
            return c;
        }();
        ref.forward(normalise(y.cview(), k).cview());
        const ConstView<double> fy = ref.output(o.content_layers[0]);
        for (std::size_t i = 0; i < fy.numel(); ++i)
            content += (fy[i] - fx[i]) * (fy[i] - fx[i]) / double(b * fy.numel());
        for (std::size_t l = 0; l < o.style_layers.size(); ++l) {
            const std::vector<double> g = gram(ref.output(o.style_layers[l]));
            for (std::size_t i = 0; i < g.size(); ++i)
                style_sum += (g[i] - style_grams[l][i]) * (g[i] - style_grams[l][i]) / double(b * g.size());
        }
        for (int c = 0; c < 3; ++c)
            for (int i = 0; i < h - 1; ++i)
                for (int j = 0; j < w - 1; ++j) {
                    const double dx = y.view().at(k, c, i, j) - y.view().at(k, c, i, j + 1);
                    const double dy = y.view().at(k, c, i, j) - y.view().at(k, c, i + 1, j);
                    tv += 0.5 * (dx * dx + dy * dy);
                }
    }
    CHECK(t.content_sum() == doctest::Approx(1e5 * content).epsilon(1e-10));
    CHECK(t.style_sum() == doctest::Approx(1e10 * style_sum).epsilon(1e-10));
    CHECK(t.tv == doctest::Approx(1e-3 * tv).epsilon(1e-10));
    CHECK(t.total == doctest::Approx(t.content_sum() + t.style_sum() + t.tv).epsilon(1e-14));
    CHECK(t.style.size() == 4);
}

TEST_CASE("perceptual: the gradient w.r.t. the output matches finite differences in double") {
    const int b = 2, h = 16, w = 12;
    struct Case {
        const char* preset;
        PreprocessKind pre;
        ModelIo io;
    };
    for (const Case& c : {Case{"pytorch-examples", PreprocessKind::Torchvision, ModelIo::Rgb255},
                          Case{"jcjohnson", PreprocessKind::Caffe, ModelIo::CaffeBgr},
                          Case{"jcjohnson", PreprocessKind::Torchvision, ModelIo::Rgb255}}) {
        CAPTURE(c.preset);
        CAPTURE(int(c.io));
        cpu::Vgg19Net<double> net(small_weights(), Pooling::Max);
        PerceptualOptions o = options_for(c.preset, c.pre, c.io);
        o.tv_weight = 1e-2;  // large enough to matter next to the other terms
        PerceptualLoss<double> loss(net, o);
        loss.set_style(test::random_tensor<float>(Shape{1, 3, 18, 14}, 7, 0, 1).cview());
        Tensor<double> y = image_batch(b, h, w, 8, 0, 255), x = image_batch(b, h, w, 9, 0, 255);
        if (c.io == ModelIo::CaffeBgr) {
            rgb255_to_model_io(c.io, y.view());
            rgb255_to_model_io(c.io, x.view());
        }
        Tensor<double> dy(y.shape());
        const LossTerms t = loss.evaluate(y.cview(), x.cview(), dy.view());
        CHECK(t.total > 0);
        const Tensor<double> v = test::random_tensor<double>(y.shape(), 10, -1, 1);
        double analytic = 0;
        for (std::size_t i = 0; i < v.numel(); ++i) analytic += dy[i] * v[i];
        auto f = [&](const std::vector<double>& p) {
            Tensor<double> yp(y.shape());
            std::copy(p.begin(), p.end(), yp.begin());
            return loss.evaluate(yp.cview(), x.cview(), TensorView<double>()).total;
        };
        const std::vector<double> y0(y.begin(), y.end()), dir(v.begin(), v.end());
        const double fd = test::directional_difference(f, y0, dir, 1e-3);
        CHECK(std::abs(fd - analytic) <= 1e-6 * std::abs(analytic));
    }
}

TEST_CASE("perceptual: equals pytorch/examples' loss and its autograd gradient on VGG16") {
    // tests/make_perceptual_reference.py: the loss as neural_style.py writes it, in torch, float64,
    // on the same random16:7 weights and the same RNG images.
    const SafetensorsFile ref = read_safetensors(std::string(NST_TEST_DATA) + "/ref_perceptual.safetensors");
    const auto results = nlohmann::json::parse(ref.metadata.at("nst.results"));
    const std::uint64_t seed = 7;
    const int b = 2, h = 32, w = 32;
    auto image = [&](std::uint64_t stream, Shape s, double scale) {
        Tensor<double> t(s);
        for (std::size_t i = 0; i < t.numel(); ++i) t[i] = scale * rng::uniform(seed, stream, i);
        return t;
    };
    const Tensor<double> y = image(3000, Shape{b, 3, h, w}, 255.0), x = image(3001, Shape{b, 3, h, w}, 255.0);
    Tensor<float> style(Shape{1, 3, 36, 28});
    for (std::size_t i = 0; i < style.numel(); ++i) style[i] = float(rng::uniform(seed, 3002, i));

    cpu::VggNet<double> net(load_weights("random16:7"), Pooling::Max);
    PerceptualOptions o;
    const auto& p = perceptual_preset("pytorch-examples");
    o.content_layers = parse_layer_list(p.content_layers, "--content-layers", VggArch::Vgg16);
    o.style_layers = parse_layer_list(p.style_layers, "--style-layers", VggArch::Vgg16);
    o.content_weight = p.content_weight;
    o.style_weight = p.style_weight;
    o.tv_weight = 0;
    o.preprocess = PreprocessKind::Torchvision;
    PerceptualLoss<double> loss(net, o);
    loss.set_style(style.cview());
    Tensor<double> dy(y.shape());
    const LossTerms t = loss.evaluate(y.cview(), x.cview(), dy.view());

    const double total = std::stod(results["total"].get<std::string>());
    const double content = std::stod(results["content"].get<std::string>());
    CHECK(t.total == doctest::Approx(total).epsilon(1e-11));
    CHECK(t.content_sum() == doctest::Approx(content).epsilon(1e-11));
    REQUIRE(t.style.size() == 4);
    for (int l = 0; l < 4; ++l)
        CHECK(t.style[l] == doctest::Approx(std::stod(results["style"][l].get<std::string>())).epsilon(1e-10));
    const SafetensorsTensor* g = ref.find("dy");
    REQUIRE(g);
    REQUIRE(g->data.size() == dy.numel());
    const double err = test::rel_l2(dy.data(), g->data.data(), dy.numel());
    MESSAGE("dL/dy relative L2 error against torch (stored float32): " << err);
    CHECK(err < 1e-6);
}
