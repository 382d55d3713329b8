// SPDX-License-Identifier: MIT
// The temporal term inside the objective and the CPU engine (video, issue #14): d total / dx
// against directional central differences in double; the term's value against the papers'
// formula written out here by loops (gamma / (C H W) * sum c (u (x - w))^2 with u from the
// preprocessing, not cpu::temporal_loss), the other terms untouched and the total's order;
// the edit mask applied to the temporal gradient too; tiled == untiled; and the CPU engine
// lowering the term over a few L-BFGS iterations, with the usage errors for targets that do
// not fit.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "core/rng.h"
#include "engine/engine.h"
#include "loss/objective.h"
#include "loss/tiling.h"
#include "test_errors.h"
#include "test_util.h"

using namespace nst;

namespace {

const Vgg19Weights& weights() {
    static const Vgg19Weights w = test::he_weights(77, 0.02, 6);  // up to conv3_3
    return w;
}

double rel(double a, double b) { return std::fabs(a - b) / std::max(std::fabs(b), 1e-300); }

// Two previous frames with non-binary weights in [0, 1] (one also has exact 0s and 1s).
struct Targets {
    std::vector<Tensor<float>> warped, weight;
    std::vector<TemporalTarget<float>> views() const {
        std::vector<TemporalTarget<float>> v;
        for (std::size_t j = 0; j < warped.size(); ++j) v.push_back({warped[j].cview(), weight[j].cview()});
        return v;
    }
};

Targets make_targets(int h, int w, std::uint64_t seed) {
    Targets t;
    for (int j = 0; j < 2; ++j) {
        t.warped.push_back(test::random_tensor<float>(Shape{1, 3, h, w}, seed + 2 * j, -1, 1));
        t.weight.push_back(test::random_tensor<float>(Shape{1, 1, h, w}, seed + 2 * j + 1, 0, 1));
    }
    for (int i = 0; i < w; ++i) {
        t.weight[1][std::size_t(i)] = 0.0f;  // first row: 0 in frame 2, 1 in frame 1
        t.weight[0][std::size_t(i)] = 1.0f;
    }
    return t;
}

// The papers' term (video.md §1.1) in the preset's pixel units: x and w differ from the
// reference code's 0..256 units by u_c per channel (caffe: 256 / S; torchvision: 256 std_c).
double explicit_temporal(const Tensor<double>& x, const Targets& t, PreprocessKind kind, double caffe_scale,
                         double gamma) {
    const int c_n = x.shape().c, h = x.shape().h, w = x.shape().w;
    const double std_c[3] = {0.229, 0.224, 0.225};
    double sum = 0;
    for (std::size_t j = 0; j < t.warped.size(); ++j)
        for (int c = 0; c < c_n; ++c) {
            const double u = kind == PreprocessKind::Caffe ? 256.0 / caffe_scale : 256.0 * std_c[c];
            for (int i = 0; i < h; ++i)
                for (int k = 0; k < w; ++k) {
                    const std::size_t p = std::size_t(i) * w + k, e = std::size_t(c) * h * w + p;
                    const double d = u * (x[e] - double(t.warped[j][e]));
                    sum += double(t.weight[j][p]) * d * d;
                }
        }
    return gamma * sum / (double(c_n) * h * w);
}

}  // namespace

TEST_CASE("objective/temporal: value is the papers' formula and the gradient matches central differences") {
    const int h = 20, w = 24;
    const Tensor<double> content = test::random_tensor<double>(Shape{1, 3, h, w}, 1, -1, 1);
    const Tensor<double> style = test::random_tensor<double>(Shape{1, 3, 24, 20}, 2, -1, 1);
    const Tensor<double> x0 = test::random_tensor<double>(Shape{1, 3, h, w}, 3, -1, 1);
    const Targets targets = make_targets(h, w, 40);
    Tensor<double> v(x0.shape());
    for (std::size_t i = 0; i < v.numel(); ++i) v[i] = rng::normal(4, 0, i);

    struct Config {
        Preset preset;
        PreprocessKind kind;
        double caffe_scale;
        bool layers;   // content and style terms too, or the temporal term alone
        double gamma;  // with layers: the temporal term about as large as the others, so that
                       // neither gradient hides behind the other
    };
    const Config configs[] = {
        {Preset::JcJohnson, PreprocessKind::Caffe, 256, true, 2},
        {Preset::Gatys, PreprocessKind::Caffe, 255, true, 500},
        {Preset::JcJohnson, PreprocessKind::Torchvision, 255, true, 1e-3},
        {Preset::JcJohnson, PreprocessKind::Torchvision, 255, false, 700},
        {Preset::Gatys, PreprocessKind::Caffe, 255, false, 700},
    };
    cpu::Vgg19Net<double> net(weights(), Pooling::Max, cpu::ConvAlgo::Direct);
    for (const Config& cfg : configs) {
        const std::string what = std::string(preset_name(cfg.preset)) + "/" + preprocess_name(cfg.kind) +
                                 (cfg.layers ? "/all" : "/temporal only");
        CAPTURE(what);
        LossSpec spec;
        spec.preset = cfg.preset;
        if (cfg.layers) {
            spec.content_layers = {layer_index("relu2_1")};
            spec.style_layers = {layer_index("relu1_1"), layer_index("relu2_1")};
        }
        spec.content_weight = 5;
        spec.style_weight = 100;
        spec.tv_weight = 1e-3;
        spec.temporal_weight = cfg.gamma;
        cpu::Objective<double> obj(net, spec);
        obj.set_content(content);
        if (cfg.layers) obj.set_styles({style.cview()}, {});

        const LossTerms base = obj.evaluate(x0, {});
        CHECK(base.temporal == 0);
        obj.set_temporal(targets.views(), cfg.kind, cfg.caffe_scale);
        Tensor<double> dx(x0.shape());
        for (auto& e : dx) e = NAN;  // assigned, not accumulated
        const LossTerms t = obj.evaluate(x0, dx);
        const double expected = explicit_temporal(x0, targets, cfg.kind, cfg.caffe_scale, spec.temporal_weight);
        MESSAGE(what << ": temporal " << t.temporal << ", formula " << expected << ", others " << base.total);
        CHECK(rel(t.temporal, expected) < 1e-12);
        CHECK(t.temporal > 0.2 * t.total);  // not drowned by the other terms
        if (cfg.layers) CHECK(t.temporal < 0.8 * t.total);  // nor drowning them
        // The other terms do not change, and the total adds the temporal term last.
        CHECK(t.content == base.content);
        CHECK(t.style == base.style);
        CHECK(t.tv == base.tv);
        CHECK(t.total == t.content_sum() + t.style_sum() + t.tv + t.temporal);
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
        MESSAGE(what << ": <dx, v> = " << analytic << ", central difference " << numeric);
        CHECK(rel(analytic, numeric) < 1e-6);

        // Clearing the targets gives the problem without them back.
        obj.set_temporal({}, cfg.kind, cfg.caffe_scale);
        CHECK(obj.evaluate(x0, {}).total == base.total);
    }
}

TEST_CASE("objective/temporal: the edit mask multiplies the temporal gradient as well") {
    const int h = 12, w = 16;
    const Tensor<double> x = test::random_tensor<double>(Shape{1, 3, h, w}, 5, -1, 1);
    const Targets targets = make_targets(h, w, 50);
    Tensor<float> mask(Shape{1, 1, h, w});
    for (std::size_t p = 0; p < mask.numel(); ++p) mask[p] = float(p % 3) * 0.5f;  // 0, 0.5, 1
    cpu::Vgg19Net<double> net(weights(), Pooling::Max, cpu::ConvAlgo::Direct);
    LossSpec spec;  // the temporal term alone: its gradient is 2 s_c sum_j c (x - w) per element
    spec.tv_weight = 0;
    cpu::Objective<double> obj(net, spec);
    obj.set_content(x);
    obj.set_temporal(targets.views(), PreprocessKind::Caffe, 256);
    obj.set_edit_mask(mask.cview());
    Tensor<double> dx(x.shape());
    obj.evaluate(x, dx);
    const double s = spec.temporal_weight / (3.0 * h * w);  // caffe, S = 256: u = 1
    double worst = 0;
    for (int c = 0; c < 3; ++c)
        for (std::size_t p = 0; p < std::size_t(h * w); ++p) {
            const std::size_t e = std::size_t(c) * h * w + p;
            double g = 0;
            for (int j = 0; j < 2; ++j) g += 2 * s * double(targets.weight[j][p]) * (x[e] - double(targets.warped[j][e]));
            worst = std::max(worst, std::fabs(dx[e] - double(mask[p]) * g) / std::max(std::fabs(g), 1e-3));
        }
    MESSAGE("edit mask: worst relative gradient error " << worst);
    CHECK(worst < 1e-12);
}

TEST_CASE("objective/temporal: tiled evaluation equals the untiled one") {
    const int h = 40, w = 20;
    const Tensor<float> content = test::random_tensor<float>(Shape{1, 3, h, w}, 7, -1, 1);
    const Tensor<float> style = test::random_tensor<float>(Shape{1, 3, 28, 32}, 8, -1, 1);
    const Tensor<float> x = test::random_tensor<float>(Shape{1, 3, h, w}, 9, -1, 1);
    const Targets targets = make_targets(h, w, 60);
    LossSpec spec;
    spec.content_layers = {layer_index("relu3_1")};
    spec.style_layers = {layer_index("relu1_1"), layer_index("relu2_1"), layer_index("relu3_1")};
    spec.temporal_weight = 2;  // about as large as the other terms together
    const int rows = 8;
    REQUIRE(plan_strips(h, rows, layer_index("relu3_1")).size() > 2);
    auto run = [&](int tile_rows, Tensor<float>& dx) {
        cpu::Vgg19Net<float> net(weights(), Pooling::Max, cpu::ConvAlgo::Direct);
        cpu::Objective<float> obj(net, spec);
        obj.set_tile_rows(tile_rows);
        obj.set_content(content.cview());
        obj.set_styles({style.cview()}, {});
        obj.set_temporal(targets.views(), PreprocessKind::Caffe, 256);
        dx = Tensor<float>(x.shape());
        return obj.evaluate(x.cview(), dx.view());
    };
    Tensor<float> g_full, g_tiled;
    const LossTerms full = run(0, g_full), tiled = run(rows, g_tiled);
    CHECK(full.temporal > 0.2 * full.total);
    CHECK(full.temporal < 0.8 * full.total);
    CHECK(tiled.temporal == full.temporal);  // the same whole-image sum
    CHECK(rel(tiled.total, full.total) < 1e-5);
    double num = 0, den = 0;
    for (std::size_t i = 0; i < g_full.numel(); ++i) {
        num = std::max(num, std::fabs(double(g_tiled[i]) - double(g_full[i])));
        den = std::max(den, std::fabs(double(g_full[i])));
    }
    MESSAGE("tiled vs untiled: total rel " << rel(tiled.total, full.total) << ", gradient max rel " << num / den);
    CHECK(num / den < 1e-4);
}

namespace {

ProblemSpec temporal_problem(int frames) {
    const int h = 24, w = 20;
    ProblemSpec spec;
    spec.content = test::random_tensor<float>(Shape{1, 3, h, w}, 11, -50, 50);
    spec.styles.push_back(test::random_tensor<float>(Shape{1, 3, 20, 28}, 12, -50, 50));
    spec.style_blend = {1.0};
    spec.init = test::random_tensor<float>(Shape{1, 3, h, w}, 13, -50, 50);
    spec.loss.content_layers = {layer_index("relu2_1")};
    spec.loss.style_layers = {layer_index("relu1_1"), layer_index("relu2_1")};
    spec.lbfgs_history = 5;
    for (int j = 0; j < frames; ++j)
        spec.temporal.push_back({test::random_tensor<float>(Shape{1, 3, h, w}, 20 + 2 * j, -50, 50),
                                 test::random_tensor<float>(Shape{1, 1, h, w}, 21 + 2 * j, 0, 1)});
    return spec;
}

}  // namespace

TEST_CASE("engine/temporal: L-BFGS lowers the temporal term and the total is the four sums in order") {
    auto engine = make_cpu_engine(weights(), temporal_problem(2));
    engine->advance(8);
    const std::vector<IterationRecord> r = engine->take_records();
    REQUIRE(r.size() == 8);
    for (const IterationRecord& rec : r) {
        const LossTerms& t = rec.terms;
        CHECK(t.temporal > 0);
        CHECK(t.total == t.content_sum() + t.style_sum() + t.tv + t.temporal);
    }
    MESSAGE("temporal term: iteration 1 " << r.front().terms.temporal << ", iteration 8 " << r.back().terms.temporal
                                          << "; total " << r.front().terms.total << " -> " << r.back().terms.total);
    CHECK(r.back().terms.temporal < 0.5 * r.front().terms.temporal);
    CHECK(r.back().terms.total < r.front().terms.total);
}

TEST_CASE("engine/temporal: targets that do not fit the problem are usage errors") {
    using test::contains;
    using test::error_of;
    {
        ProblemSpec spec = temporal_problem(kMaxTemporalFrames + 1);
        CHECK(contains(error_of([&] { make_cpu_engine(weights(), std::move(spec)); }, ExitCode::Usage), "at most 8"));
    }
    {
        ProblemSpec spec = temporal_problem(2);
        spec.temporal[1].warped = Tensor<float>(Shape{1, 3, 24, 24});
        CHECK(contains(error_of([&] { make_cpu_engine(weights(), std::move(spec)); }, ExitCode::Usage),
                       "previous frame 2"));
    }
    {
        ProblemSpec spec = temporal_problem(1);
        spec.temporal[0].weight = Tensor<float>(Shape{1, 3, 24, 20});
        CHECK(contains(error_of([&] { make_cpu_engine(weights(), std::move(spec)); }, ExitCode::Usage), "weight map"));
    }
    // The maximum itself is accepted.
    CHECK_NOTHROW(make_cpu_engine(weights(), temporal_problem(kMaxTemporalFrames)));
}
