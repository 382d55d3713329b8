// SPDX-License-Identifier: MIT
// The objective through VGG19 (random He weights): d total/dx against directional central
// differences in double for both presets and poolings, each term against an independent
// computation from the network's outputs, style blending, and the usage errors.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "core/rng.h"
#include "loss/objective.h"
#include "test_util.h"

using namespace nst;

// doctest::Approx compares with an absolute floor of epsilon (its scale defaults to 1), which
// would accept any small value; every comparison here is purely relative.
static doctest::Approx approx(double v) { return doctest::Approx(v).scale(0); }

namespace {

// One set of He-normal weights with small biases for every test here.
const Vgg19Weights& he_weights() {
    static const Vgg19Weights w = test::he_weights(77, 0.02);
    return w;
}

std::vector<int> layers(const std::vector<std::string>& names) {
    std::vector<int> k;
    for (const auto& n : names) k.push_back(layer_index(n));
    return k;
}

const std::vector<std::string> kStyleNames = {"relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"};

// Independent Gram: scale * F F^T by loops, F = (C, M).
std::vector<double> gram(ConstView<double> f, double scale) {
    const int c = f.shape.c;
    const std::size_t m = f.shape.plane();
    std::vector<double> g(std::size_t(c) * c);
    for (int i = 0; i < c; ++i)
        for (int j = 0; j < c; ++j) {
            double s = 0;
            for (std::size_t k = 0; k < m; ++k) s += f[i * m + k] * f[j * m + k];
            g[std::size_t(i) * c + j] = scale * s;
        }
    return g;
}

std::vector<double> copy_of(ConstView<double> v) { return std::vector<double>(v.begin(), v.end()); }

}  // namespace

TEST_CASE("objective: d total / dx against directional differences (both presets / max and avg pooling)") {
    // Content 32x40 and a style image of another size (36x44); relu5_1 is 2x2 for both.
    const Tensor<double> content = test::random_tensor<double>(Shape{1, 3, 32, 40}, 1, -1, 1);
    const Tensor<double> style = test::random_tensor<double>(Shape{1, 3, 36, 44}, 2, -1, 1);
    const Tensor<double> x0 = test::random_tensor<double>(Shape{1, 3, 32, 40}, 3, -1, 1);
    Tensor<double> v(x0.shape());
    for (std::size_t i = 0; i < v.numel(); ++i) v[i] = rng::normal(4, 0, i);

    struct Config {
        Preset preset;
        Pooling pooling;
        const char* name;
        double cw, sw, tvw;
    };
    // All terms together for each preset and pooling; then each term alone (with max pooling),
    // so that a small term cannot hide behind a large one.
    const Config configs[] = {
        {Preset::JcJohnson, Pooling::Max, "all", 5, 100, 1e-3}, {Preset::JcJohnson, Pooling::Avg, "all", 5, 100, 1e-3},
        {Preset::Gatys, Pooling::Max, "all", 5, 100, 1e-3},     {Preset::Gatys, Pooling::Avg, "all", 5, 100, 1e-3},
        {Preset::JcJohnson, Pooling::Max, "content", 5, 0, 0},  {Preset::JcJohnson, Pooling::Max, "style", 0, 100, 0},
        {Preset::Gatys, Pooling::Max, "content", 5, 0, 0},      {Preset::Gatys, Pooling::Max, "style", 0, 100, 0},
        {Preset::JcJohnson, Pooling::Max, "tv", 0, 0, 0.3},
    };
    cpu::Vgg19Net<double> net_max(he_weights(), Pooling::Max, cpu::ConvAlgo::Direct);
    cpu::Vgg19Net<double> net_avg(he_weights(), Pooling::Avg, cpu::ConvAlgo::Direct);
    for (const Config& cfg : configs) {
        const Preset preset = cfg.preset;
        cpu::Vgg19Net<double>& net = cfg.pooling == Pooling::Max ? net_max : net_avg;
        const std::string what = std::string(preset_name(preset)) +
                                 (cfg.pooling == Pooling::Max ? "/max/" : "/avg/") + cfg.name;
        CAPTURE(what);
        LossSpec spec;
        spec.preset = preset;
        // relu3_1 is both a content and a style layer: both gradients meet in one tap.
        spec.content_layers = layers({"relu3_1", "relu4_2"});
        spec.style_layers = layers(kStyleNames);
        spec.style_layer_weights = {1, 0.5, 2, 1, 3};
        spec.content_weight = cfg.cw;
        spec.style_weight = cfg.sw;
        spec.tv_weight = cfg.tvw;
        cpu::Objective<double> obj(net, spec);
        obj.set_content(content);
        obj.set_styles({style.cview()}, {});

        Tensor<double> dx(x0.shape());
        for (auto& e : dx) e = NAN;  // dx is assigned, not accumulated
        const LossTerms t = obj.evaluate(x0, dx);
        CHECK(std::isfinite(t.total));
        CHECK(t.total > 0);
        // The value does not depend on whether a gradient was asked for.
        CHECK(obj.evaluate(x0, {}).total == t.total);

        double analytic = 0;
        for (std::size_t i = 0; i < dx.numel(); ++i) analytic += dx[i] * v[i];
        const double eps = 1e-6;
        Tensor<double> xp = x0.clone(), xm = x0.clone();
        for (std::size_t i = 0; i < x0.numel(); ++i) {
            xp[i] += eps * v[i];
            xm[i] -= eps * v[i];
        }
        const double numeric = (obj.evaluate(xp, {}).total - obj.evaluate(xm, {}).total) / (2 * eps);
        const double rel = std::fabs(analytic - numeric) / std::max(std::fabs(analytic), 1e-300);
        MESSAGE(what << ": <dx, v> = " << analytic << ", central difference " << numeric << ", rel err " << rel);
        CHECK(rel < 1e-6);
    }
}

TEST_CASE("objective: terms are weighted as the presets say") {
    const Tensor<double> content = test::random_tensor<double>(Shape{1, 3, 32, 40}, 11, -1, 1);
    const Tensor<double> style = test::random_tensor<double>(Shape{1, 3, 40, 36}, 12, -1, 1);
    const Tensor<double> x = test::random_tensor<double>(Shape{1, 3, 32, 40}, 13, -1, 1);
    const int c_layer = layer_index("relu4_2");
    const std::vector<int> s_layers = layers({"relu1_1", "relu3_1", "relu5_1"});
    const std::vector<double> user_w = {1.0, 0.5, 2.0};
    const double cw = 7, sw = 300, tvw = 0.02;
    for (Preset preset : {Preset::JcJohnson, Preset::Gatys}) {
        CAPTURE(preset_name(preset));
        cpu::Vgg19Net<double> net(he_weights(), Pooling::Max, cpu::ConvAlgo::Direct);
        LossSpec spec;
        spec.preset = preset;
        spec.content_layers = {c_layer};
        spec.style_layers = s_layers;
        spec.style_layer_weights = user_w;
        spec.content_weight = cw;
        spec.style_weight = sw;
        spec.tv_weight = tvw;
        cpu::Objective<double> obj(net, spec);
        obj.set_content(content);
        obj.set_styles({style.cview()}, {5.0});  // a single weight is normalised to 1

        // Features straight from the network, for the independent computation.
        net.forward(content);
        const std::vector<double> p = copy_of(net.output(c_layer));
        net.forward(style);
        std::vector<std::vector<double>> fa;
        std::vector<Shape> fa_shape;
        for (int l : s_layers) {
            fa.push_back(copy_of(net.output(l)));
            fa_shape.push_back(net.output(l).shape);
        }

        const LossTerms t = obj.evaluate(x, {});
        // evaluate's forward was of x: the taps now hold x's features.
        ConstView<double> f = net.output(c_layer);
        const double cm = double(f.numel());
        double sq = 0;
        for (std::size_t i = 0; i < f.numel(); ++i) sq += (f[i] - p[i]) * (f[i] - p[i]);
        // jcjohnson: w_c * mean((F - P)^2); gatys: (alpha / 2) * sum (F - P)^2.
        const double content_ref = preset == Preset::JcJohnson ? cw * sq / cm : cw * 0.5 * sq;
        REQUIRE(t.content.size() == 1);
        CHECK(t.content[0] == approx(content_ref).epsilon(1e-12));

        REQUIRE(t.style.size() == 3);
        for (std::size_t j = 0; j < s_layers.size(); ++j) {
            CAPTURE(j);
            ConstView<double> fx = net.output(s_layers[j]);
            const int c = fx.shape.c;
            const double m = double(fx.shape.plane()), ma = double(fa_shape[j].plane());
            const ConstView<double> fav(fa[j].data(), fa_shape[j]);
            double ref;
            if (preset == Preset::JcJohnson) {
                // w_s * w_l * mean over C^2 of (G - A)^2, both Grams divided by C * (own M).
                const std::vector<double> g = gram(fx, 1.0 / (c * m)), a = gram(fav, 1.0 / (c * ma));
                double s = 0;
                for (std::size_t i = 0; i < g.size(); ++i) s += (g[i] - a[i]) * (g[i] - a[i]);
                ref = sw * user_w[j] * s / (double(c) * c);
            } else {
                // beta * (w_l / L) * E_l, E_l = sum (G/M - A/M_a)^2 / (4 C^2): Eq. 4 with each
                // Gram normalised by its own M (paper.md §1.2), = Eq. 4 exactly when M = M_a.
                const std::vector<double> g = gram(fx, 1.0 / m), a = gram(fav, 1.0 / ma);
                double s = 0;
                for (std::size_t i = 0; i < g.size(); ++i) s += (g[i] - a[i]) * (g[i] - a[i]);
                ref = sw * (user_w[j] / 3.0) * s / (4.0 * c * c);
            }
            CHECK(t.style[j] == approx(ref).epsilon(1e-10));
        }

        // TV by the explicit formula of spec §5.
        double tv = 0;
        for (int ch = 0; ch < 3; ++ch)
            for (int i = 0; i + 1 < 32; ++i)
                for (int jj = 0; jj + 1 < 40; ++jj) {
                    const double a = x.view().at(0, ch, i, jj) - x.view().at(0, ch, i, jj + 1);
                    const double b = x.view().at(0, ch, i, jj) - x.view().at(0, ch, i + 1, jj);
                    tv += a * a + b * b;
                }
        CHECK(t.tv == approx(tvw * 0.5 * tv).epsilon(1e-12));
        CHECK(t.total == approx(t.content[0] + t.style[0] + t.style[1] + t.style[2] + t.tv).epsilon(1e-15));
    }
}

TEST_CASE("objective: gatys with a same-size style image is Eq. 4 exactly") {
    const Tensor<double> content = test::random_tensor<double>(Shape{1, 3, 32, 40}, 21, -1, 1);
    const Tensor<double> style = test::random_tensor<double>(Shape{1, 3, 32, 40}, 22, -1, 1);
    const Tensor<double> x = test::random_tensor<double>(Shape{1, 3, 32, 40}, 23, -1, 1);
    cpu::Vgg19Net<double> net(he_weights(), Pooling::Avg, cpu::ConvAlgo::Direct);
    LossSpec spec;
    spec.preset = Preset::Gatys;
    spec.content_layers = {};
    spec.style_layers = layers({"relu2_1", "relu4_1"});
    spec.content_weight = 1;
    spec.style_weight = 1e3;
    spec.tv_weight = 0;
    cpu::Objective<double> obj(net, spec);
    obj.set_content(content);
    obj.set_styles({style.cview()}, {});
    net.forward(style);
    const std::vector<double> a1 = gram(net.output(spec.style_layers[1]), 1.0);
    const LossTerms t = obj.evaluate(x, {});
    ConstView<double> f = net.output(spec.style_layers[1]);
    const std::vector<double> g = gram(f, 1.0);
    const double n = f.shape.c, m = double(f.shape.plane());
    double s = 0;
    for (std::size_t i = 0; i < g.size(); ++i) s += (g[i] - a1[i]) * (g[i] - a1[i]);
    CHECK(t.style[1] == approx(1e3 * 0.5 * s / (4 * n * n * m * m)).epsilon(1e-10));
    CHECK(t.tv == 0);
    CHECK(t.content.empty());
}

TEST_CASE("objective: blend weights (1 / 3) target 0.25 A1 + 0.75 A2") {
    const Tensor<double> content = test::random_tensor<double>(Shape{1, 3, 32, 32}, 31, -1, 1);
    const Tensor<double> s1 = test::random_tensor<double>(Shape{1, 3, 32, 48}, 32, -1, 1);
    const Tensor<double> s2 = test::random_tensor<double>(Shape{1, 3, 40, 24}, 33, -1, 1);
    const Tensor<double> x = test::random_tensor<double>(Shape{1, 3, 32, 32}, 34, -1, 1);
    const int layer = layer_index("relu3_1");
    cpu::Vgg19Net<double> net(he_weights(), Pooling::Max, cpu::ConvAlgo::Direct);
    LossSpec spec;
    spec.content_layers = {};
    spec.style_layers = {layer};
    spec.style_weight = 100;
    spec.tv_weight = 0;
    cpu::Objective<double> obj(net, spec);
    obj.set_content(content);
    obj.set_styles({s1.cview(), s2.cview()}, {1, 3});
    const double blended = obj.evaluate(x, {}).style[0];

    auto features = [&](const Tensor<double>& img) {
        net.forward(img);
        return std::make_pair(copy_of(net.output(layer)), net.output(layer).shape);
    };
    const auto [f1, sh1] = features(s1);
    const auto [f2, sh2] = features(s2);
    const auto [fx, shx] = features(x);
    const int c = shx.c;
    const std::vector<double> a1 = gram(ConstView<double>(f1.data(), sh1), 1.0 / (c * double(sh1.plane())));
    const std::vector<double> a2 = gram(ConstView<double>(f2.data(), sh2), 1.0 / (c * double(sh2.plane())));
    const std::vector<double> g = gram(ConstView<double>(fx.data(), shx), 1.0 / (c * double(shx.plane())));
    double s = 0;
    for (std::size_t i = 0; i < g.size(); ++i) {
        const double a = 0.25 * a1[i] + 0.75 * a2[i];
        s += (g[i] - a) * (g[i] - a);
    }
    CHECK(blended == approx(100 * s / (double(c) * c)).epsilon(1e-10));

    // Zero weight: the other image alone. Same loss for (0, 1) as for a single s2.
    obj.set_styles({s1.cview(), s2.cview()}, {0, 1});
    const double only2 = obj.evaluate(x, {}).style[0];
    obj.set_styles({s2.cview()}, {});
    CHECK(obj.evaluate(x, {}).style[0] == approx(only2).epsilon(1e-14));
    CHECK(only2 != approx(blended).epsilon(1e-3));

    // Usage errors: negative, all zero, wrong count.
    for (const std::vector<double>& bad : {std::vector<double>{-1, 2}, {0, 0}, {1, 2, 3}}) {
        bool usage = false;
        try {
            obj.set_styles({s1.cview(), s2.cview()}, bad);
        } catch (const Error& e) {
            usage = e.code() == ExitCode::Usage;
        }
        CHECK(usage);
    }
}

TEST_CASE("objective: style layer weights must match the style layers") {
    cpu::Vgg19Net<double> net(he_weights(), Pooling::Max, cpu::ConvAlgo::Direct);
    LossSpec spec;
    spec.content_layers = layers({"relu4_2"});
    spec.style_layers = layers({"relu1_1", "relu2_1"});
    spec.style_layer_weights = {1, 2, 3};
    bool usage = false;
    try {
        cpu::Objective<double> obj(net, spec);
    } catch (const Error& e) {
        usage = e.code() == ExitCode::Usage;
    }
    CHECK(usage);
    spec.style_layer_weights = {};  // empty means all 1
    CHECK_NOTHROW(cpu::Objective<double>(net, spec));
}

TEST_CASE("objective: float agrees with double") {
    const Tensor<double> content = test::random_tensor<double>(Shape{1, 3, 32, 40}, 41, -1, 1);
    const Tensor<double> style = test::random_tensor<double>(Shape{1, 3, 36, 44}, 42, -1, 1);
    const Tensor<double> x = test::random_tensor<double>(Shape{1, 3, 32, 40}, 43, -1, 1);
    LossSpec spec;
    spec.content_layers = layers({"relu4_2"});
    spec.style_layers = layers(kStyleNames);
    spec.content_weight = 5;
    spec.style_weight = 100;
    spec.tv_weight = 1e-3;
    cpu::Vgg19Net<double> netd(he_weights(), Pooling::Max, cpu::ConvAlgo::Direct);
    cpu::Objective<double> objd(netd, spec);
    objd.set_content(content);
    objd.set_styles({style.cview()}, {});
    Tensor<double> dxd(x.shape());
    const LossTerms td = objd.evaluate(x, dxd);

    const Tensor<float> cf = cast<float, double>(content), sf = cast<float, double>(style), xf = cast<float, double>(x);
    cpu::Vgg19Net<float> netf(he_weights(), Pooling::Max);
    cpu::Objective<float> objf(netf, spec);
    objf.set_content(cf);
    objf.set_styles({sf.cview()}, {});
    Tensor<float> dxf(x.shape());
    const LossTerms tf = objf.evaluate(xf, dxf);
    CHECK(tf.total == approx(td.total).epsilon(1e-4));
    CHECK(test::rel_l2(dxf.data(), dxd.data(), dxd.numel()) < 1e-3);
}
