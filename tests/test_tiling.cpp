// SPDX-License-Identifier: MIT
// Exact tiled evaluation (loss/tiling.h, cpu::Objective::set_tile_rows): the strip plans'
// geometry, and the tiled objective against the untiled one at sizes where both fit — totals,
// every term and the gradient — for the presets, several styles of other sizes (their targets
// are tiled too), layer sets, content and style masks, max and average pooling, image heights
// that are not multiples of the alignment, and strips whose windows are cut by the image edges;
// and the objective's tap gradients (tap_gradients) against its evaluated gradient.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "engine/presets.h"
#include "loss/objective.h"
#include "loss/tiling.h"
#include "test_util.h"

using namespace nst;

namespace {

// conv1_1 .. conv5_1: the default taps stop at relu5_1.
const Vgg19Weights& weights5() {
    static const Vgg19Weights w = test::he_weights(77, 0.02, 12);
    return w;
}

// Rows [i0, i1) and columns [j0, j1) set to 1.
Tensor<float> box_mask(int h, int w, int i0, int i1, int j0, int j1) {
    Tensor<float> m(Shape{1, 1, h, w});
    for (int i = 0; i < h; ++i)
        for (int j = 0; j < w; ++j) m.view().at(0, 0, i, j) = (i >= i0 && i < i1 && j >= j0 && j < j1) ? 1.0f : 0.0f;
    return m;
}

// max |a - b| / max |b|.
template <typename T>
double max_rel(const Tensor<T>& a, const Tensor<T>& b) {
    double num = 0, den = 0;
    for (std::size_t i = 0; i < a.numel(); ++i) {
        num = std::max(num, std::abs(double(a[i]) - double(b[i])));
        den = std::max(den, std::abs(double(b[i])));
    }
    return num / std::max(den, 1e-300);
}

double rel(double a, double b) { return std::abs(a - b) / std::max(std::abs(b), 1e-300); }

struct Problem {
    LossSpec spec;
    Pooling pooling = Pooling::Max;
    int h = 0, w = 0;
    std::vector<Shape> styles;
    bool content_masks = false, style_masks = false, edit_mask = false;
};

struct Result {
    LossTerms terms;
    double worst_term = 0, grad = 0;
};

// The objective of `p` untiled and in strips of `rows`, at the same x; relative differences.
template <typename T>
Result compare(const Problem& p, int rows) {
    const Tensor<T> content = test::random_tensor<T>(Shape{1, 3, p.h, p.w}, 11, -1, 1);
    const Tensor<T> x = test::random_tensor<T>(Shape{1, 3, p.h, p.w}, 12, -1, 1);
    std::vector<Tensor<T>> styles;
    for (std::size_t k = 0; k < p.styles.size(); ++k) styles.push_back(test::random_tensor<T>(p.styles[k], 20 + k, -1, 1));
    std::vector<ConstView<T>> style_views;
    for (const auto& s : styles) style_views.push_back(s.cview());
    std::vector<Tensor<float>> cmasks, smasks;
    if (p.content_masks) {  // a box and its complement; the box crosses strip boundaries
        cmasks.push_back(box_mask(p.h, p.w, p.h / 5, p.h - p.h / 4, 3, p.w - 5));
        Tensor<float> rest = cmasks[0].clone();
        for (auto& v : rest) v = 1.0f - v;
        cmasks.push_back(std::move(rest));
    }
    if (p.style_masks)
        for (const Shape& s : p.styles) smasks.push_back(box_mask(s.h, s.w, s.h / 3, s.h, 0, s.w / 2 + 4));
    std::vector<ConstView<float>> cm, sm;
    for (const auto& m : cmasks) cm.push_back(m.cview());
    for (const auto& m : smasks) sm.push_back(m.cview());
    const Tensor<float> edit = box_mask(p.h, p.w, 0, p.h / 2, 0, p.w);

    auto run = [&](int tile_rows, Tensor<T>& dx) {
        cpu::Vgg19Net<T> net(weights5(), p.pooling, cpu::ConvAlgo::Direct);
        cpu::Objective<T> obj(net, p.spec);
        obj.set_tile_rows(tile_rows);
        obj.set_content(content.cview());
        obj.set_styles(style_views, {}, sm);
        obj.set_content_masks(cm);
        if (p.edit_mask) obj.set_edit_mask(edit.cview());
        dx = Tensor<T>(x.shape());
        const LossTerms t = obj.evaluate(x.cview(), dx.view());
        CHECK(obj.evaluate(x.cview(), {}).total == t.total);  // the value alone is the same sum
        return t;
    };
    Tensor<T> g_full, g_tiled;
    const LossTerms full = run(0, g_full);
    const LossTerms tiled = run(rows, g_tiled);
    Result r;
    r.terms = full;
    r.worst_term = rel(tiled.total, full.total);
    for (std::size_t i = 0; i < full.content.size(); ++i) r.worst_term = std::max(r.worst_term, rel(tiled.content[i], full.content[i]));
    for (std::size_t j = 0; j < full.style.size(); ++j)
        if (full.style[j] != 0) r.worst_term = std::max(r.worst_term, rel(tiled.style[j], full.style[j]));
    r.grad = max_rel(g_tiled, g_full);
    return r;
}

Problem default_problem(Preset preset, int h, int w) {
    const PresetDefaults& d = preset_defaults(preset);
    Problem p;
    p.spec.preset = preset;
    p.spec.content_layers = parse_layer_list(d.content_layers, "content");
    p.spec.style_layers = parse_layer_list(d.style_layers, "style");
    p.spec.content_weight = d.content_weight;
    p.spec.style_weight = d.style_weight;
    p.spec.tv_weight = d.tv_weight;
    p.pooling = d.pooling;
    p.h = h;
    p.w = w;
    p.styles = {Shape{1, 3, h + 36, w + 8}};  // larger than the content: its targets are tiled too
    return p;
}

}  // namespace

TEST_CASE("tiling: strips partition the rows on the alignment grid with the halo") {
    for (const char* deepest : {"relu1_1", "relu3_1", "relu4_2", "relu5_1", "pool5"}) {
        const int k = layer_index(deepest);
        const int a = tile_alignment(k), halo = tile_halo_rows(k);
        const std::string name = deepest;
        CAPTURE(name);
        CHECK(halo % a == 0);
        // The halo covers the reach of every 3x3 convolution up to k (s rows at scale s).
        int reach = 0, scale = 1;
        for (int i = 0; i <= k; ++i) {
            if (vgg19_layers()[i].kind == LayerKind::Conv) reach += scale;
            if (vgg19_layers()[i].kind == LayerKind::Pool) scale *= 2;
        }
        CHECK(halo >= reach);
        CHECK(halo < reach + a);
        for (int height : {a, 3 * a - 1, 200, 517})
            for (int rows : {0, 1, a, 2 * a + 3, 100, height, height + 5}) {
                CAPTURE(height);
                CAPTURE(rows);
                const std::vector<Strip> s = plan_strips(height, rows, k);
                REQUIRE(!s.empty());
                CHECK(s.front().own_begin == 0);
                CHECK(s.back().own_end == height);
                if (rows <= 0 || rows >= height) CHECK(s.size() == 1);
                for (std::size_t i = 0; i < s.size(); ++i) {
                    if (i > 0) CHECK(s[i].own_begin == s[i - 1].own_end);
                    CHECK(s[i].own_begin % a == 0);
                    CHECK((s[i].own_end % a == 0 || s[i].own_end == height));
                    CHECK(s[i].win_begin == std::max(0, s[i].own_begin - (s.size() > 1 ? halo : 0)));
                    CHECK(s[i].win_end == std::min(height, s[i].own_end + (s.size() > 1 ? halo : 0)));
                    if (s.size() > 1) CHECK(s[i].own_end - s[i].own_begin >= a);
                }
            }
    }
}

TEST_CASE("tiling: the tiled objective equals the untiled one (float: the bounds of issue 11)") {
    // 200 rows in strips of 32 and 48: windows cut by the top, the bottom and both edges.
    for (const auto& [preset, rows] : {std::pair{Preset::JcJohnson, 32}, std::pair{Preset::Gatys, 48}}) {
            const std::string name = std::string(preset_name(preset)) + " rows " + std::to_string(rows);
            CAPTURE(name);
            const Result r = compare<float>(default_problem(preset, 200, 24), rows);
            MESSAGE(name << ": terms rel " << r.worst_term << ", gradient " << r.grad);
            CHECK(r.terms.style_sum() > 0);
            CHECK(r.terms.content_sum() > 0);
            CHECK(r.worst_term <= 1e-5);
            CHECK(r.grad <= 1e-4);
        }
}

TEST_CASE("tiling: in double the tiled objective equals the untiled one to rounding with every control") {
    struct Case {
        const char* name;
        Preset preset;
        bool content_masks, style_masks, sets, edit;
        Pooling pooling;
        int h, rows;
    };
    const Case cases[] = {
        {"jcjohnson plain, 117 rows", Preset::JcJohnson, false, false, false, false, Pooling::Max, 117, 16},
        {"gatys, regions + style masks", Preset::Gatys, true, true, false, false, Pooling::Avg, 136, 32},
        {"jcjohnson, regions + sets + edit", Preset::JcJohnson, true, false, true, true, Pooling::Max, 150, 48},
        {"gatys, style masks + sets, avg", Preset::Gatys, false, true, true, false, Pooling::Avg, 129, 64},
    };
    for (const Case& c : cases) {
        const std::string name = c.name;
        CAPTURE(name);
        Problem p = default_problem(c.preset, c.h, 20);
        p.pooling = c.pooling;
        p.styles = {Shape{1, 3, c.h + 20, 28}, Shape{1, 3, c.h - 16, 20}};
        p.content_masks = c.content_masks;
        p.style_masks = c.style_masks;
        p.edit_mask = c.edit;
        if (c.sets) {
            const auto& sl = p.spec.style_layers;
            p.spec.style_layer_sets = {{sl[0], sl[1], sl[2]}, {sl.begin() + 2, sl.end()}};
        }
        const Result r = compare<double>(p, c.rows);
        MESSAGE(name << ": terms rel " << r.worst_term << ", gradient " << r.grad);
        CHECK(r.terms.style_sum() > 0);
        CHECK(r.worst_term <= 1e-11);
        CHECK(r.grad <= 1e-10);
    }
}

TEST_CASE("objective: tap_gradients backpropagated by the net give the evaluated gradient") {
    // The gradients the objective injects at its taps, fed through the net's own backward pass
    // (grad buffers), must give evaluate()'s dx (TV off: it acts in image space), with content
    // masks so that the guided terms are included.
    Problem p = default_problem(Preset::JcJohnson, 40, 28);
    p.spec.tv_weight = 0;
    const Tensor<double> content = test::random_tensor<double>(Shape{1, 3, p.h, p.w}, 31, -1, 1);
    const Tensor<double> style = test::random_tensor<double>(p.styles[0], 32, -1, 1);
    const Tensor<double> x = test::random_tensor<double>(Shape{1, 3, p.h, p.w}, 33, -1, 1);
    cpu::Vgg19Net<double> net(weights5(), p.pooling, cpu::ConvAlgo::Direct);
    cpu::Objective<double> obj(net, p.spec);
    obj.set_content(content.cview());
    obj.set_styles({style.cview(), style.cview()}, {0.3, 0.7});
    const Tensor<float> box = box_mask(p.h, p.w, 8, 30, 0, 20);
    Tensor<float> rest = box.clone();
    for (auto& v : rest) v = 1.0f - v;
    obj.set_content_masks({box.cview(), rest.cview()});
    Tensor<double> dx(x.shape());
    obj.evaluate(x.cview(), dx.view());
    const std::map<int, Tensor<double>> taps = obj.tap_gradients(x.cview());
    CHECK(taps.size() == loss_taps(p.spec).size());
    net.zero_grads();
    for (const auto& [l, g] : taps) {
        TensorView<double> dst = net.grad(l);
        REQUIRE(dst.shape == g.shape());
        std::copy(g.begin(), g.end(), dst.data);
    }
    Tensor<double> dx2(x.shape());
    net.backward(dx2.view());
    const double err = max_rel(dx2, dx);
    MESSAGE("tap_gradients through the net vs evaluate: " << err);
    CHECK(err <= 1e-12);
    double norm = 0;
    for (double v : dx) norm = std::max(norm, std::abs(v));
    CHECK(norm > 0);
}
