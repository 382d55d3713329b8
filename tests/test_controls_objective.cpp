// SPDX-License-Identifier: MIT
// Spatial and scale controls of the CPU objective (objective.h): d total / dx of guided Grams
// (content regions, style masks, soft masks), layer sets and the edit mask against directional
// central differences in double; identities with the plain objective; guided terms against a
// computation by loops from the network's outputs with binary regions whose layer guides are
// known geometrically; the input and usage errors.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "core/rng.h"
#include "loss/losses.h"
#include "loss/objective.h"
#include "test_errors.h"
#include "test_util.h"

using namespace nst;

static doctest::Approx approx(double v) { return doctest::Approx(v).scale(0); }

namespace {

// conv1_1 .. conv3_1 only: every test here stops at relu3_1.
const Vgg19Weights& weights3() {
    static const Vgg19Weights w = test::he_weights(91, 0.02, 4);
    return w;
}

std::vector<int> layers(const std::vector<std::string>& names) {
    std::vector<int> k;
    for (const auto& n : names) k.push_back(layer_index(n));
    return k;
}

// A soft mask (1, 1, h, w): a logistic ramp across the columns, offset by a seeded wobble.
Tensor<float> soft_mask(int h, int w, double centre, double width, std::uint64_t seed, bool flip = false) {
    Tensor<float> m(Shape{1, 1, h, w});
    for (int i = 0; i < h; ++i)
        for (int j = 0; j < w; ++j) {
            const double z = (j - centre + 1.5 * std::sin(0.7 * i + double(seed))) / width;
            const double s = 1.0 / (1.0 + std::exp(-z));
            m.view().at(0, 0, i, j) = float(flip ? 1.0 - s : s);
        }
    return m;
}

// Columns [j0, j1) set to 1, the rest 0.
Tensor<float> column_mask(int h, int w, int j0, int j1) {
    Tensor<float> m(Shape{1, 1, h, w});
    for (int i = 0; i < h; ++i)
        for (int j = 0; j < w; ++j) m.view().at(0, 0, i, j) = (j >= j0 && j < j1) ? 1.0f : 0.0f;
    return m;
}

std::vector<ConstView<float>> views(const std::vector<Tensor<float>>& ts) {
    std::vector<ConstView<float>> v;
    for (const auto& t : ts) v.push_back(t.cview());
    return v;
}

// |<dx, v> - (f(x + eps u) - f(x - eps u)) / 2 eps| / |<dx, v>|, with u = v o mask (the edit
// mask multiplies dx, so <mask o g, v> = <g, mask o v>), or u = v without a mask.
double directional_error(cpu::Objective<double>& obj, const Tensor<double>& x0, const Tensor<float>* edit,
                         std::uint64_t seed) {
    Tensor<double> v(x0.shape());
    for (std::size_t i = 0; i < v.numel(); ++i) v[i] = rng::normal(seed, 0, i);
    Tensor<double> dx(x0.shape());
    for (auto& e : dx) e = NAN;  // assigned, not accumulated
    const LossTerms t = obj.evaluate(x0, dx);
    CHECK(std::isfinite(t.total));
    CHECK(obj.evaluate(x0, {}).total == t.total);
    double analytic = 0;
    for (std::size_t i = 0; i < dx.numel(); ++i) analytic += dx[i] * v[i];
    const std::size_t plane = x0.shape().plane();
    const double eps = 1e-6;
    Tensor<double> xp = x0.clone(), xm = x0.clone();
    for (std::size_t i = 0; i < x0.numel(); ++i) {
        const double u = v[i] * (edit ? double((*edit)[i % plane]) : 1.0);
        xp[i] += eps * u;
        xm[i] -= eps * u;
    }
    const double numeric = (obj.evaluate(xp, {}).total - obj.evaluate(xm, {}).total) / (2 * eps);
    const double rel = std::fabs(analytic - numeric) / std::max(std::fabs(analytic), 1e-300);
    MESSAGE("<dx, v> = " << analytic << ", central difference " << numeric << ", rel err " << rel);
    return rel;
}

// Independent Gram by loops over the positions in `cols` (column range at the layer), scaled by
// `scale`: scale * sum_{i in region} f_i f_i^T.
std::vector<double> region_gram(ConstView<double> f, int j0, int j1, double scale) {
    const int c = f.shape.c, h = f.shape.h, w = f.shape.w;
    std::vector<double> g(std::size_t(c) * c, 0.0);
    for (int a = 0; a < c; ++a)
        for (int b = 0; b < c; ++b) {
            double s = 0;
            for (int i = 0; i < h; ++i)
                for (int j = std::max(j0, 0); j < std::min(j1, w); ++j) s += f.at(0, a, i, j) * f.at(0, b, i, j);
            g[std::size_t(a) * c + b] = scale * s;
        }
    return g;
}

std::vector<double> copy_of(ConstView<double> v) { return std::vector<double>(v.begin(), v.end()); }

}  // namespace

TEST_CASE("controls: guided Grams d total / dx against directional differences") {
    // Content 20x24; style 1 is 24x20 (whole image), style 2 16x28 with a soft style mask.
    const int h = 20, w = 24;
    const Tensor<double> content = test::random_tensor<double>(Shape{1, 3, h, w}, 501, -1, 1);
    const Tensor<double> s1 = test::random_tensor<double>(Shape{1, 3, 24, 20}, 502, -1, 1);
    const Tensor<double> s2 = test::random_tensor<double>(Shape{1, 3, 16, 28}, 503, -1, 1);
    const Tensor<double> x0 = test::random_tensor<double>(Shape{1, 3, h, w}, 504, -1, 1);
    // Soft, overlapping content regions and a soft style mask.
    const std::vector<Tensor<float>> content_masks = [&] {
        std::vector<Tensor<float>> m;
        m.push_back(soft_mask(h, w, 10, 3, 1));
        m.push_back(soft_mask(h, w, 13, 2, 2, true));
        return m;
    }();
    const Tensor<float> style_mask2 = soft_mask(16, 28, 12, 4, 3);
    const Tensor<float> edit = soft_mask(h, w, 8, 5, 4, true);

    struct Config {
        const char* name;
        Preset preset;
        Pooling pooling;
        bool regions, style_mask, sets, edit;
        GuidePropagation mode;
        int grow;
    };
    const Config configs[] = {
        {"jcjohnson/regions+style mask", Preset::JcJohnson, Pooling::Avg, true, true, false, false, GuidePropagation::Simple, 0},
        {"gatys/regions+style mask", Preset::Gatys, Pooling::Avg, true, true, false, false, GuidePropagation::Simple, 0},
        {"jcjohnson/regions+style mask+sets/max", Preset::JcJohnson, Pooling::Max, true, true, true, false, GuidePropagation::Simple, 0},
        {"gatys/regions+sets+inside", Preset::Gatys, Pooling::Avg, true, true, true, false, GuidePropagation::Inside, 0},
        {"jcjohnson/regions/all grow 1", Preset::JcJohnson, Pooling::Avg, true, false, false, false, GuidePropagation::All, 1},
        {"jcjohnson/style mask only (blended)", Preset::JcJohnson, Pooling::Avg, false, true, false, false, GuidePropagation::Simple, 0},
        {"gatys/sets only (blended)", Preset::Gatys, Pooling::Max, false, false, true, false, GuidePropagation::Simple, 0},
        {"jcjohnson/everything+edit mask", Preset::JcJohnson, Pooling::Avg, true, true, true, true, GuidePropagation::Simple, 0},
        {"gatys/sets+edit mask", Preset::Gatys, Pooling::Avg, false, false, true, true, GuidePropagation::Simple, 0},
    };
    cpu::Vgg19Net<double> net_max(weights3(), Pooling::Max, cpu::ConvAlgo::Direct);
    cpu::Vgg19Net<double> net_avg(weights3(), Pooling::Avg, cpu::ConvAlgo::Direct);
    for (const Config& cfg : configs) {
        const std::string name = cfg.name;
        CAPTURE(name);
        cpu::Vgg19Net<double>& net = cfg.pooling == Pooling::Max ? net_max : net_avg;
        LossSpec spec;
        spec.preset = cfg.preset;
        spec.content_layers = layers({"relu2_2"});
        spec.style_layers = layers({"relu1_1", "relu2_1", "relu3_1"});
        spec.style_layer_weights = {1, 3, 10};
        spec.content_weight = cfg.preset == Preset::Gatys ? 1e-3 : 5;
        spec.style_weight = cfg.preset == Preset::Gatys ? 1e3 : 100;
        spec.tv_weight = cfg.edit ? 0.05 : 0;
        if (cfg.sets) spec.style_layer_sets = {layers({"relu1_1", "relu2_1"}), layers({"relu2_1", "relu3_1"})};
        spec.guides = {cfg.mode, cfg.grow};
        cpu::Objective<double> obj(net, spec);
        obj.set_content(content);
        std::vector<ConstView<float>> smasks;
        if (cfg.style_mask) smasks = {ConstView<float>{}, style_mask2.cview()};
        obj.set_styles({s1.cview(), s2.cview()}, {1, 2}, smasks);
        if (cfg.regions) obj.set_content_masks(views(content_masks));
        if (cfg.edit) obj.set_edit_mask(edit.cview());
        CHECK(directional_error(obj, x0, cfg.edit ? &edit : nullptr, 505) < 1e-6);
    }
}

TEST_CASE("controls: a content mask of ones and no style mask is the plain objective") {
    const int h = 20, w = 24;
    const Tensor<double> content = test::random_tensor<double>(Shape{1, 3, h, w}, 511, -1, 1);
    const Tensor<double> style = test::random_tensor<double>(Shape{1, 3, 24, 20}, 512, -1, 1);
    const Tensor<double> x = test::random_tensor<double>(Shape{1, 3, h, w}, 513, -1, 1);
    const Tensor<float> ones = filled(Shape{1, 1, h, w}, 1.0f);
    for (Preset preset : {Preset::JcJohnson, Preset::Gatys})
        for (GuidePropagation mode : {GuidePropagation::Simple, GuidePropagation::Inside, GuidePropagation::All}) {
            CAPTURE(preset_name(preset));
            CAPTURE(guide_propagation_name(mode));
            cpu::Vgg19Net<double> net(weights3(), Pooling::Max, cpu::ConvAlgo::Direct);
            LossSpec spec;
            spec.preset = preset;
            spec.content_layers = layers({"relu2_2"});
            spec.style_layers = layers({"relu1_1", "relu2_1", "relu3_1"});
            spec.tv_weight = 1e-3;
            spec.guides.mode = mode;
            cpu::Objective<double> plain(net, spec), guided(net, spec);
            plain.set_content(content);
            plain.set_styles({style.cview()}, {});
            guided.set_content(content);
            guided.set_styles({style.cview()}, {}, {ConstView<float>{}});
            guided.set_content_masks({ones.cview()});
            guided.set_edit_mask(ones.cview());
            Tensor<double> dp(x.shape()), dg(x.shape());
            const LossTerms tp = plain.evaluate(x, dp);
            const LossTerms tg = guided.evaluate(x, dg);
            for (std::size_t j = 0; j < tp.style.size(); ++j) CHECK(tg.style[j] == approx(tp.style[j]).epsilon(1e-12));
            CHECK(tg.total == approx(tp.total).epsilon(1e-12));
            CHECK(test::rel_l2(dg.data(), dp.data(), dp.numel()) < 1e-12);
        }
}

TEST_CASE("controls: two binary regions and style masks against Grams by loops") {
    // Regions split at column 8 of a 16-column image: at relu1_1, relu2_1 and relu3_1 (1, 2 and 4
    // pixels per position) the layer guides are exactly columns < 8, < 4, < 2 under 'simple', so
    // the reference needs no propagation code. Style masks split style images 16x24 likewise at
    // column 12 (-> 12, 6, 3). Each region: w_s w_l s_style b_k sum (G_k - A_k)^2 with
    // G_k = gs * (M / m_k) sum_{i in R_k} f_i f_i^T and A_k = gs * (M / m_sk) sum_{i in S_k} f_i f_i^T.
    const int h = 12, w = 16;
    const Tensor<double> content = test::random_tensor<double>(Shape{1, 3, h, w}, 521, -1, 1);
    const Tensor<double> s1 = test::random_tensor<double>(Shape{1, 3, 16, 24}, 522, -1, 1);
    const Tensor<double> s2 = test::random_tensor<double>(Shape{1, 3, 16, 24}, 523, -1, 1);
    const Tensor<double> x = test::random_tensor<double>(Shape{1, 3, h, w}, 524, -1, 1);
    const std::vector<Tensor<float>> cmasks = [&] {
        std::vector<Tensor<float>> m;
        m.push_back(column_mask(h, w, 0, 8));
        m.push_back(column_mask(h, w, 8, 16));
        return m;
    }();
    const Tensor<float> sm_left = column_mask(16, 24, 0, 12), sm_right = column_mask(16, 24, 12, 24);
    const std::vector<int> sl = layers({"relu1_1", "relu2_1", "relu3_1"});
    const std::vector<int> pools = {0, 1, 2};  // pools before each style layer
    const std::vector<double> user_w = {1, 2, 5};
    for (Preset preset : {Preset::JcJohnson, Preset::Gatys})
        for (bool same_style : {true, false}) {
            CAPTURE(preset_name(preset));
            CAPTURE(same_style);
            cpu::Vgg19Net<double> net(weights3(), Pooling::Avg, cpu::ConvAlgo::Direct);
            LossSpec spec;
            spec.preset = preset;
            spec.content_layers = {};
            spec.style_layers = sl;
            spec.style_layer_weights = user_w;
            spec.style_weight = 100;
            spec.tv_weight = 0;
            cpu::Objective<double> obj(net, spec);
            obj.set_content(content);
            // Same style: the same image twice, its left half for region 1 and its right half
            // for region 2; otherwise style 1 whole ('-') and the right half of style 2.
            const Tensor<double>& second = same_style ? s1 : s2;
            const std::vector<double> blend = {1, 3};
            if (same_style)
                obj.set_styles({s1.cview(), second.cview()}, blend, {sm_left.cview(), sm_right.cview()});
            else
                obj.set_styles({s1.cview(), second.cview()}, blend, {ConstView<float>{}, sm_right.cview()});
            obj.set_content_masks(views(cmasks));
            const LossTerms t = obj.evaluate(x, {});

            std::vector<std::vector<double>> fx, f1, f2;
            std::vector<Shape> shx, sh1, sh2;
            auto grab = [&](const Tensor<double>& img, std::vector<std::vector<double>>& out, std::vector<Shape>& sh) {
                net.forward(img);
                for (int l : sl) {
                    out.push_back(copy_of(net.output(l)));
                    sh.push_back(net.output(l).shape);
                }
            };
            grab(x, fx, shx);
            grab(s1, f1, sh1);
            grab(second, f2, sh2);
            const double b[2] = {0.25, 0.75};
            for (std::size_t j = 0; j < sl.size(); ++j) {
                CAPTURE(j);
                const int c = shx[j].c, scale = 1 << pools[j];
                const double m = double(shx[j].plane());
                const LossScales sc = loss_scales(preset, c, (long long)m);
                const double wl = style_layer_weight(preset, user_w[j], 3);
                const ConstView<double> vx(fx[j].data(), shx[j]), v1(f1[j].data(), sh1[j]), v2(f2[j].data(), sh2[j]);
                const int half_x = 8 / scale, half_s = 12 / scale, sw = sh1[j].w;
                const double m_region = double(shx[j].h) * half_x;
                const double m_s_half = double(sh1[j].h) * half_s, m_s_whole = double(sh1[j].plane());
                double ref = 0;
                for (int k = 0; k < 2; ++k) {
                    const std::vector<double> g =
                        k == 0 ? region_gram(vx, 0, half_x, sc.gram * m / m_region)
                               : region_gram(vx, half_x, 1 << 20, sc.gram * m / (double(shx[j].h) * (shx[j].w - half_x)));
                    std::vector<double> a;
                    if (k == 0)
                        a = same_style ? region_gram(v1, 0, half_s, sc.gram * m / m_s_half)
                                       : region_gram(v1, 0, sw, sc.gram * m / m_s_whole);
                    else
                        a = region_gram(v2, half_s, 1 << 20, sc.gram * m / (double(sh2[j].h) * (sw - half_s)));
                    double s = 0;
                    for (std::size_t i = 0; i < g.size(); ++i) s += (g[i] - a[i]) * (g[i] - a[i]);
                    ref += spec.style_weight * wl * sc.style * b[k] * s;
                }
                CHECK(t.style[j] == approx(ref).epsilon(1e-10));
            }
        }
}

TEST_CASE("controls: layer sets take the target of each layer from the styles that use it") {
    const int h = 20, w = 24;
    const Tensor<double> content = test::random_tensor<double>(Shape{1, 3, h, w}, 531, -1, 1);
    const Tensor<double> s1 = test::random_tensor<double>(Shape{1, 3, 24, 20}, 532, -1, 1);
    const Tensor<double> s2 = test::random_tensor<double>(Shape{1, 3, 16, 28}, 533, -1, 1);
    const Tensor<double> x = test::random_tensor<double>(Shape{1, 3, h, w}, 534, -1, 1);
    for (Preset preset : {Preset::JcJohnson, Preset::Gatys}) {
        CAPTURE(preset_name(preset));
        cpu::Vgg19Net<double> net(weights3(), Pooling::Max, cpu::ConvAlgo::Direct);
        LossSpec spec;
        spec.preset = preset;
        spec.content_layers = layers({"relu2_2"});
        spec.style_layers = layers({"relu1_1", "relu2_1", "relu3_1"});
        spec.style_layer_weights = {1, 2, 3};
        auto terms = [&](const LossSpec& sp, const std::vector<ConstView<double>>& styles, std::vector<double> blend) {
            cpu::Objective<double> obj(net, sp);
            obj.set_content(content);
            obj.set_styles(styles, blend);
            return obj.evaluate(x, {});
        };
        // Style 1 gives relu1_1 and relu2_1, style 2 relu2_1 and relu3_1, blend (1, 3).
        LossSpec sets = spec;
        sets.style_layer_sets = {layers({"relu1_1", "relu2_1"}), layers({"relu3_1", "relu2_1"})};
        const LossTerms t = terms(sets, {s1.cview(), s2.cview()}, {1, 3});
        const LossTerms only1 = terms(spec, {s1.cview()}, {});
        const LossTerms only2 = terms(spec, {s2.cview()}, {});
        const LossTerms both = terms(spec, {s1.cview(), s2.cview()}, {1, 3});
        CHECK(t.style[0] == approx(only1.style[0]).epsilon(1e-13));  // relu1_1: style 1 alone
        CHECK(t.style[1] == approx(both.style[1]).epsilon(1e-13));   // relu2_1: the (1/4, 3/4) blend
        CHECK(t.style[2] == approx(only2.style[2]).epsilon(1e-13));  // relu3_1: style 2 alone
        CHECK(t.content[0] == approx(only1.content[0]).epsilon(1e-14));
        // '*' for every style: the plain blended objective.
        LossSpec all = spec;
        all.style_layer_sets = {spec.style_layers, spec.style_layers};
        CHECK(terms(all, {s1.cview(), s2.cview()}, {1, 3}).total == approx(both.total).epsilon(1e-14));
    }
}

TEST_CASE("controls: the edit mask multiplies the gradient and leaves the value") {
    const int h = 20, w = 24;
    const Tensor<double> content = test::random_tensor<double>(Shape{1, 3, h, w}, 541, -1, 1);
    const Tensor<double> style = test::random_tensor<double>(Shape{1, 3, 24, 20}, 542, -1, 1);
    const Tensor<double> x = test::random_tensor<double>(Shape{1, 3, h, w}, 543, -1, 1);
    const Tensor<float> mask = soft_mask(h, w, 12, 3, 5);
    cpu::Vgg19Net<double> net(weights3(), Pooling::Max, cpu::ConvAlgo::Direct);
    LossSpec spec;
    spec.content_layers = layers({"relu2_2"});
    spec.style_layers = layers({"relu1_1", "relu3_1"});
    spec.tv_weight = 0.1;
    cpu::Objective<double> obj(net, spec);
    obj.set_content(content);
    obj.set_styles({style.cview()}, {});
    Tensor<double> d0(x.shape()), d1(x.shape());
    const LossTerms t0 = obj.evaluate(x, d0);
    obj.set_edit_mask(mask.cview());
    const LossTerms t1 = obj.evaluate(x, d1);
    CHECK(t1.total == t0.total);
    const std::size_t plane = x.shape().plane();
    for (std::size_t i = 0; i < x.numel(); ++i) CHECK(d1[i] == d0[i] * double(mask[i % plane]));
    // Removing it restores the plain gradient.
    obj.set_edit_mask({});
    obj.evaluate(x, d1);
    CHECK(test::rel_l2(d1.data(), d0.data(), d0.numel()) == 0);
}

TEST_CASE("controls: a content region that vanishes at a layer contributes nothing there") {
    // Under 'inside' columns 0..2 (at the border, where the padding does not count against a
    // position) keep columns 0 and 1 at relu1_1 (3x3 erosion) and lose everything by relu3_1
    // (conv1_2 leaves column 0, pool1 needs columns 0 and 1).
    const int h = 16, w = 32;
    const Tensor<double> content = test::random_tensor<double>(Shape{1, 3, h, w}, 551, -1, 1);
    const Tensor<double> style = test::random_tensor<double>(Shape{1, 3, 16, 16}, 552, -1, 1);
    const Tensor<double> x = test::random_tensor<double>(Shape{1, 3, h, w}, 553, -1, 1);
    const std::vector<Tensor<float>> cm = [&] {
        std::vector<Tensor<float>> m;
        m.push_back(column_mask(h, w, 0, 3));
        m.push_back(column_mask(h, w, 3, 32));
        return m;
    }();
    cpu::Vgg19Net<double> net(weights3(), Pooling::Avg, cpu::ConvAlgo::Direct);
    LossSpec spec;
    spec.content_layers = {};
    spec.style_layers = layers({"relu1_1", "relu3_1"});
    spec.tv_weight = 0;
    spec.guides.mode = GuidePropagation::Inside;
    const Tensor<double> guide1 = propagate_guide(cm[0].cview(), spec.style_layers[1], spec.guides);
    double sum = 0;
    for (double v : guide1) sum += v;
    REQUIRE(sum == 0);  // region 1 is gone at relu3_1
    cpu::Objective<double> obj(net, spec);
    obj.set_content(content);
    obj.set_styles({style.cview(), style.cview()}, {});
    obj.set_content_masks(views(cm));
    const LossTerms t = obj.evaluate(x, {});
    CHECK(t.style[0] > 0);
    CHECK(t.style[1] > 0);
    // Region 2 alone, with the same (1/2) weight, gives the same relu3_1 term.
    LossSpec spec2 = spec;
    cpu::Objective<double> obj2(net, spec2);
    obj2.set_content(content);
    obj2.set_styles({style.cview(), style.cview()}, {});
    std::vector<Tensor<float>> cm2;
    cm2.push_back(column_mask(h, w, 0, 1));  // a 1-column region: gone at both layers under 'inside'
    cm2.push_back(column_mask(h, w, 3, 32));
    obj2.set_content_masks(views(cm2));
    CHECK(obj2.evaluate(x, {}).style[1] == approx(t.style[1]).epsilon(1e-13));
}

TEST_CASE("controls: errors for empty regions and wrong counts") {
    const int h = 16, w = 16;
    const Tensor<double> content = test::random_tensor<double>(Shape{1, 3, h, w}, 561, -1, 1);
    const Tensor<double> style = test::random_tensor<double>(Shape{1, 3, 16, 16}, 562, -1, 1);
    cpu::Vgg19Net<double> net(weights3(), Pooling::Avg, cpu::ConvAlgo::Direct);
    LossSpec spec;
    spec.content_layers = {};
    spec.style_layers = layers({"relu1_1", "relu3_1"});
    spec.guides.mode = GuidePropagation::Inside;
    const Tensor<float> zero = filled(Shape{1, 1, h, w}, 0.0f), faint = filled(Shape{1, 1, h, w}, 0.3f);
    const Tensor<float> thin = column_mask(h, w, 4, 8);  // 2 columns at relu1_1, none at relu3_1
    {
        cpu::Objective<double> obj(net, spec);
        obj.set_content(content);
        // Empty at pixel level; below the 0.5 threshold of 'inside'; vanished at relu3_1.
        CHECK(test::contains(test::error_of([&] { obj.set_content_masks({zero.cview()}); }), "content mask 1 is empty"));
        CHECK(test::contains(test::error_of([&] { obj.set_content_masks({faint.cview()}); }), "content mask 1 is empty"));
        CHECK(test::contains(test::error_of([&] { obj.set_styles({style.cview()}, {}, {zero.cview()}); }),
                             "style mask 1 is empty"));
        const std::string vanished = test::error_of([&] { obj.set_styles({style.cview()}, {}, {thin.cview()}); });
        CHECK(test::contains(vanished, "style mask 1 is empty at relu3_1"));
        CHECK(test::contains(vanished, "inside"));
        // Counts: usage errors.
        test::error_of([&] { obj.set_styles({style.cview()}, {}, {thin.cview(), thin.cview()}); }, ExitCode::Usage);
        obj.set_styles({style.cview(), style.cview()}, {});
        const Tensor<float> ones = filled(Shape{1, 1, h, w}, 1.0f);
        CHECK(test::contains(test::error_of([&] { obj.set_content_masks({ones.cview()}); }, ExitCode::Usage),
                             "--content-masks: 1 masks given for 2 style images"));
    }
    {
        // Under 'simple' the faint mask is a valid soft region.
        LossSpec simple = spec;
        simple.guides.mode = GuidePropagation::Simple;
        cpu::Objective<double> obj(net, simple);
        CHECK_NOTHROW(obj.set_content_masks({faint.cview()}));
    }
    // Layer sets: wrong count (at set_styles), layer outside the style layers, empty set, uncovered layer.
    LossSpec sets = spec;
    sets.style_layer_sets = {layers({"relu1_1", "relu3_1"})};
    {
        cpu::Objective<double> obj(net, sets);
        CHECK(test::contains(
            test::error_of([&] { obj.set_styles({style.cview(), style.cview()}, {}); }, ExitCode::Usage),
            "--style-layer-sets: 1 sets given for 2 style images"));
    }
    sets.style_layer_sets = {layers({"relu1_1", "relu2_1"})};
    CHECK(test::contains(test::error_of([&] { cpu::Objective<double>(net, sets); }, ExitCode::Usage),
                         "relu2_1 is not one of the style layers"));
    sets.style_layer_sets = {layers({"relu1_1"}), {}};
    CHECK(test::contains(test::error_of([&] { cpu::Objective<double>(net, sets); }, ExitCode::Usage), "set 2 is empty"));
    sets.style_layer_sets = {layers({"relu1_1"}), layers({"relu1_1"})};
    CHECK(test::contains(test::error_of([&] { cpu::Objective<double>(net, sets); }, ExitCode::Usage),
                         "relu3_1 is in no set"));
    sets.style_layer_sets = {layers({"relu1_1", "relu3_1", "relu1_1"})};
    CHECK(test::contains(test::error_of([&] { cpu::Objective<double>(net, sets); }, ExitCode::Usage), "given twice"));
}

TEST_CASE("controls: the compacted guided style loss equals the dense one") {
    // Supports of 1, 30 and 70 of 100 positions (70: the gradient runs in three blocks of 30, the
    // free columns of the scratch),
    // soft values on the support; df starts non-zero to check that both accumulate.
    const int c = 5, h = 10, w = 10;
    const Tensor<double> f = test::random_tensor<double>(Shape{1, c, h, w}, 571, -1, 2);
    const Tensor<double> a = test::random_tensor<double>(Shape{1, 1, c, c}, 572, -1, 1);
    for (int count : {1, 30, 70}) {
        CAPTURE(count);
        Tensor<double> t = filled(Shape{1, 1, h, w}, 0.0);
        for (int i = 0; i < count; ++i) t[std::size_t((i * 37) % 100)] = 0.25 + rng::uniform(573, 0, std::size_t(i));
        const std::vector<std::int32_t> support = cpu::guide_support(t.cview());
        REQUIRE(support.size() == std::size_t(count));
        Tensor<double> ft1(f.shape()), ft2(f.shape()), g1(a.shape()), g2(a.shape()), d1(a.shape()), d2(a.shape());
        Tensor<double> df1 = test::random_tensor<double>(f.shape(), 574, -1, 1), df2 = df1.clone();
        const double v1 = cpu::guided_style_loss<double>(f, t, a, 0.3, 1.7, ft1, g1, d1, df1);
        const double v2 = cpu::guided_style_loss<double>(f, t, a, 0.3, 1.7, ft2, g2, d2, df2, support);
        CHECK(v2 == approx(v1).epsilon(1e-13));
        CHECK(test::rel_l2(df2.data(), df1.data(), df1.numel()) < 1e-13);
        CHECK(test::rel_l2(g2.data(), g1.data(), g1.numel()) < 1e-13);
    }
    // A support of 3/4 or more: the dense path (empty support).
    CHECK(cpu::guide_support(filled(Shape{1, 1, 4, 4}, 1.0).cview()).empty());
}
