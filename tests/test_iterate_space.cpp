// SPDX-License-Identifier: MIT
// The iterate's space and box (engine/iterate_space.h; --iterate-space, --clamp-iterate; the
// PyTorch tutorial's conventions, issue #16) on the CPU engine:
//  - image space: the engine's terms at an RGB x equal a network-space engine's at the
//    Preprocessor's to_network(x) (an independent double-precision formula), and its gradient is
//    the network-space gradient pulled back through the map (chain rule), for both weight
//    preprocessings (torchvision: scales; caffe: scales and the B/R swap);
//  - clamp: the engine's iterations equal a loop written out here the tutorial's way (clamp x in
//    place, evaluate, L-BFGS step from the clamped x), bit for bit, and differ from the same loop
//    without the clamp (so the test can fail);
//  - clamp_to_box keeps NaN and clamps per channel.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/engine.h"
#include "engine/iterate_space.h"
#include "io/preprocess.h"
#include "nn/vgg19_layers.h"
#include "nn/weights.h"
#include "optim/lbfgs.h"
#include "test_util.h"

using namespace nst;

namespace {

IterateSpace image_space_of(const Preprocessor& pre) {
    IterateSpace space;
    space.image = true;
    pre.affine(space.map.src, space.map.a, space.map.b);
    return space;
}

// A small problem (tutorial layers: pre-ReLU convs) with RGB images in [0, 1]; spec.iterate unset.
ProblemSpec rgb_problem() {
    ProblemSpec p;
    const Shape s{1, 3, 20, 23};
    p.content = test::random_tensor<float>(s, 1, 0.0, 1.0);
    p.styles.push_back(test::random_tensor<float>(Shape{1, 3, 22, 19}, 2, 0.0, 1.0));
    p.style_blend = {1.0};
    p.init = test::random_tensor<float>(s, 3, 0.0, 1.0);
    p.loss.preset = Preset::JcJohnson;
    p.loss.content_layers = parse_layer_list("conv2_2", "--content-layers");
    p.loss.style_layers = parse_layer_list("conv1_1,conv1_2,conv2_1,conv2_2,conv3_1", "--style-layers");
    p.loss.style_layer_weights.assign(p.loss.style_layers.size(), 1.0);
    p.loss.content_weight = 1;
    p.loss.style_weight = 1e6;
    p.loss.tv_weight = 0;
    return p;
}

Tensor<float> to_network(const Preprocessor& pre, const Tensor<float>& rgb) {
    Tensor<float> x(rgb.shape());
    pre.to_network(x.view(), rgb.cview());
    return x;
}

double rel(double a, double b) { return std::fabs(a - b) / std::max(std::fabs(b), 1e-30); }

}  // namespace

TEST_CASE("iterate space: image-space terms and gradient equal the network-space ones through the map") {
    for (PreprocessKind kind : {PreprocessKind::Torchvision, PreprocessKind::Caffe}) {
        INFO(preprocess_name(kind));
        VggWeights weights = random_weights(3);
        weights.preprocess = kind;
        Preprocessor pre;
        pre.kind = kind;

        ProblemSpec img = rgb_problem();
        img.iterate = image_space_of(pre);
        ProblemSpec net = rgb_problem();
        net.content = to_network(pre, net.content);
        net.styles[0] = to_network(pre, net.styles[0]);
        net.init = to_network(pre, net.init);
        std::unique_ptr<Engine> e_img = make_cpu_engine(weights, std::move(img));
        std::unique_ptr<Engine> e_net = make_cpu_engine(weights, std::move(net));

        const Tensor<float> x = test::random_tensor<float>(Shape{1, 3, 20, 23}, 4, -0.1, 1.1);
        Tensor<float> g_img(x.shape()), g_net(x.shape());
        const LossTerms t_img = e_img->evaluate(x.cview(), g_img.view());
        const Tensor<float> xn = to_network(pre, x);
        const LossTerms t_net = e_net->evaluate(xn.cview(), g_net.view());
        // The map rounds a * x + b in float, to_network (x - m) / s in double: inputs differ by
        // about one float rounding.
        CHECK(t_img.total > 0);
        CHECK(rel(t_img.total, t_net.total) <= 2e-5);
        CHECK(rel(t_img.content_sum(), t_net.content_sum()) <= 2e-5);

        // d total / d rgb[src_c] = a_c * d total / d x_c.
        int src[3];
        double a[3], b[3];
        pre.affine(src, a, b);
        const std::size_t plane = x.shape().plane();
        double num = 0, den = 0;
        for (int c = 0; c < 3; ++c)
            for (std::size_t i = 0; i < plane; ++i) {
                const double want = a[c] * g_net[c * plane + i];
                const double d = g_img[std::size_t(src[c]) * plane + i] - want;
                num += d * d;
                den += want * want;
            }
        CHECK(den > 0);
        CHECK(std::sqrt(num / den) <= 1e-4);
        // Without a gradient the terms are the same.
        CHECK(e_img->evaluate(x.cview(), TensorView<float>{}).total == t_img.total);
    }
}

TEST_CASE("iterate space: --clamp-iterate clamps x in place before every evaluation as the tutorial closure does") {
    Preprocessor pre;
    pre.kind = PreprocessKind::Torchvision;
    VggWeights weights = random_weights(5);
    weights.preprocess = PreprocessKind::Torchvision;
    ProblemSpec spec = rgb_problem();
    spec.init = test::random_tensor<float>(spec.content.shape(), 6, -0.3, 1.3);  // about a third outside [0, 1]
    spec.iterate = image_space_of(pre);
    spec.iterate.clamp = true;
    spec.lbfgs_tol_grad = 1e-7;
    spec.lbfgs_tol_change = 1e-9;
    const ProblemSpec copy = [&] {
        ProblemSpec c = rgb_problem();
        c.init = spec.init.clone();
        c.iterate = spec.iterate;
        return c;
    }();
    std::unique_ptr<Engine> engine = make_cpu_engine(weights, std::move(spec));

    // The tutorial's loop written out with the same parts: x.clamp_(0, 1); loss = f(norm(x));
    // L-BFGS steps from the clamped x. `clamp` false is the mutation the test must tell apart.
    const auto reference = [&](bool clamp, int iterations) {
        cpu::Vgg19Net<float> net(weights, Pooling::Max);
        cpu::Objective<float> objective(net, copy.loss);
        Tensor<float> mapped;
        objective.set_content(as_network_input(copy.iterate, copy.content, mapped));
        Tensor<float> mapped_style;
        objective.set_styles({as_network_input(copy.iterate, copy.styles[0], mapped_style)}, copy.style_blend);
        Tensor<float> x = copy.init.clone(), g(x.shape()), xn(x.shape()), gn(x.shape());
        cpu::Lbfgs<float> lbfgs(x.numel(), cpu::LbfgsOptions{1.0, 100, HistoryPrecision::Fp32, 1e-7, 1e-9});
        std::vector<double> totals;
        for (int it = 0; it < iterations; ++it) {
            if (clamp)
                for (float& v : x) v = std::min(1.f, std::max(0.f, v));
            apply_channel_map(copy.iterate.map, xn.view(), x.cview());
            const LossTerms t = objective.evaluate(xn.cview(), gn.view());
            apply_channel_map_transpose(copy.iterate.map, g.view(), gn.cview());
            totals.push_back(t.total);
            if (!lbfgs.step(x.data(), g.data(), t.total)) break;
        }
        return totals;
    };
    const int n = 6;
    const std::vector<double> want = reference(true, n);
    const std::vector<double> unclamped = reference(false, n);
    REQUIRE(want.size() == std::size_t(n));
    std::vector<double> got;
    for (int it = 0; it < n; ++it) got.push_back(engine->iterate().total);
    for (int it = 0; it < n; ++it) {
        INFO("iteration " << it + 1);
        CHECK(got[std::size_t(it)] == want[std::size_t(it)]);
    }
    // The clamp matters from the first evaluation on (x0 has values outside [0, 1]).
    CHECK(unclamped[0] != want[0]);
}

TEST_CASE("iterate space: clamp_to_box clamps each channel to its bounds and keeps NaN") {
    Tensor<float> x(Shape{2, 3, 1, 3});
    const float v[] = {-2.f, 0.5f, 3.f};
    for (std::size_t j = 0; j < x.numel(); ++j) x[j] = v[j % 3];
    x[4] = std::numeric_limits<float>::quiet_NaN();
    ChannelBox box;
    box.lo[0] = -1.f, box.hi[0] = 1.f;
    box.lo[1] = 0.f, box.hi[1] = 0.25f;
    box.lo[2] = -3.f, box.hi[2] = 2.f;
    clamp_to_box(box, x.view());
    const float want[2][3][3] = {{{-1.f, 0.5f, 1.f}, {0.f, 0.f, 0.25f}, {-2.f, 0.5f, 2.f}},
                                 {{-1.f, 0.5f, 1.f}, {0.f, 0.25f, 0.25f}, {-2.f, 0.5f, 2.f}}};
    for (int n = 0; n < 2; ++n)
        for (int c = 0; c < 3; ++c)
            for (int i = 0; i < 3; ++i) {
                const float got = x[std::size_t((n * 3 + c) * 3 + i)];
                if (n == 0 && c == 1 && i == 1)
                    CHECK(std::isnan(got));
                else
                    CHECK(got == want[n][c][i]);
            }
}
