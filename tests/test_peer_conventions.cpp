// SPDX-License-Identifier: MIT
// The peer conventions of issue #16 on the CPU (docs/conventions.md "Peer conventions"):
//  - L1 total variation (--tv-form l1): an explicit example, the value against the formula on
//    random data and the gradient against central differences (no difference is near 0 there);
//  - gradient normalisation (--normalize-gradients): jcjohnson's equals the plain objective with
//    the content weight w / (|u|_1 + 1e-8), u the unweighted tap gradient (from tap_gradients),
//    and neural-style-pt's is the plain gradient times w^2 / (|w| + 1e-8) / ... per term; the
//    values never change;
//  - torch's L-BFGS tolerances (--tol-grad / --tol-change): each of torch's breaks at the call
//    where torch makes it, x untouched, and -1 never stopping;
//  - --resize pil-bilinear against PIL itself (tests/data/pil_resize, tools/
//    make_pil_resize_fixture.py): every sample equal; the truncated target sizes against the
//    peers' formulas (neural-style-pt's int((N / max) * side), torchvision's Resize(N)).
#include <doctest/doctest.h>

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "io/image.h"
#include "io/npy.h"
#include "loss/losses.h"
#include "loss/objective.h"
#include "optim/lbfgs.h"
#include "test_util.h"

using namespace nst;

TEST_CASE("tv l1: explicit example and formula and finite differences") {
    // One plane 2 x 3: rows (1, 4, 4) and (0, 2, 7). Horizontal |d|: 3, 0, 2, 5; vertical: 1, 2, 3.
    Tensor<double> x(Shape{1, 1, 2, 3});
    const double v[6] = {1, 4, 4, 0, 2, 7};
    for (int i = 0; i < 6; ++i) x[i] = v[i];
    Tensor<double> dx(x.shape());
    for (auto& d : dx) d = 0.5;
    CHECK(cpu::tv_l1_loss<double>(x, 2.0, dx) == 2.0 * 16);
    // d/dx: sign(x - left) - sign(right - x) + sign(x - up) - sign(down - x); sign(0) = 0.
    // e.g. x[0][1] = 4: +sign(4 - 1) - sign(4 - 4) - sign(2 - 4) = 2; x[1][1] = 2: +1 - 1 - 1 = -1.
    const double g[6] = {0, 2, -1, -2, -1, 2};
    for (int i = 0; i < 6; ++i) CHECK(dx[i] == 0.5 + 2.0 * g[i]);

    Tensor<double> r = test::random_tensor<double>(Shape{1, 3, 6, 7}, 5, -2, 2);
    long double naive = 0;
    for (int c = 0; c < 3; ++c)
        for (int i = 0; i < 6; ++i)
            for (int j = 0; j < 7; ++j) {
                const std::size_t e = (std::size_t(c) * 6 + i) * 7 + j;
                if (j + 1 < 7) naive += std::fabs(r[e + 1] - r[e]);
                if (i + 1 < 6) naive += std::fabs(r[e + 7] - r[e]);
            }
    CHECK(cpu::tv_l1_loss<double>(r, 0.3, {}) == doctest::Approx(double(0.3L * naive)).epsilon(1e-14));
    Tensor<double> dr(r.shape());
    for (auto& d : dr) d = 0;
    cpu::tv_l1_loss<double>(r, 0.3, dr);
    double worst = 0;
    for (std::size_t i = 0; i < r.numel(); ++i) {
        const double fd = test::central_difference([&] { return cpu::tv_l1_loss<double>(r, 0.3, {}); }, r[i], 1e-7);
        worst = std::max(worst, std::fabs(fd - dr[i]));
    }
    MESSAGE("tv l1 FD: worst abs error " << worst << " (gradient entries are multiples of 0.3)");
    CHECK(worst < 1e-6);
}

namespace {

const Vgg19Weights& weights() {
    static const Vgg19Weights w = test::he_weights(91, 0.02, vgg19_layers()[layer_index("conv3_1")].conv);
    return w;
}

LossSpec small_spec(GradNorm g, double cw, double sw) {
    LossSpec s;
    s.content_layers = {layer_index("relu2_1")};
    s.style_layers = {layer_index("relu1_1"), layer_index("relu2_1")};
    s.style_layer_weights = {1.0, 0.5};
    s.content_weight = cw;
    s.style_weight = sw;
    s.tv_weight = 0;
    s.grad_norm = g;
    return s;
}

struct Eval {
    LossTerms terms;
    Tensor<double> dx;
};

// spec's double objective on the small problem: fixed content and style images.
struct SmallProblem {
    cpu::Vgg19Net<double> net{weights(), Pooling::Max};
    cpu::Objective<double> obj;
    explicit SmallProblem(const LossSpec& spec) : obj(net, spec) {
        static const Tensor<double> content = test::random_tensor<double>(Shape{1, 3, 12, 10}, 11, -1, 1);
        static const Tensor<double> style = test::random_tensor<double>(Shape{1, 3, 14, 12}, 12, -1, 1);
        obj.set_content(content.cview());
        obj.set_styles({style.cview()}, {});
    }
};

Eval evaluate(const LossSpec& spec, const Tensor<double>& x) {
    SmallProblem p(spec);
    Eval e;
    e.dx = Tensor<double>(x.shape());
    e.terms = p.obj.evaluate(x.cview(), e.dx.view());
    return e;
}

double l1_of_tap(const LossSpec& spec, const Tensor<double>& x, int layer) {
    SmallProblem p(spec);
    // Named: a range-for over .at() of the returned map would outlive the temporary map.
    const std::map<int, Tensor<double>> taps = p.obj.tap_gradients(x.cview());
    double l1 = 0;
    for (double v : taps.at(layer)) l1 += std::fabs(v);
    return l1;
}

}  // namespace

TEST_CASE("gradient normalisation: jcjohnson's L1 rule and neural-style-pt's scale with values unchanged") {
    const Tensor<double> x = test::random_tensor<double>(Shape{1, 3, 12, 10}, 13, -1, 1);
    const double cw = 5, sw = 100;
    const Eval plain = evaluate(small_spec(GradNorm::None, cw, sw), x);

    SUBCASE("jcjohnson, content term alone") {
        // u = unweighted content gradient at relu2_1 (weight 1); the rule injects w u / (|u|_1 + 1e-8).
        const double l1 = l1_of_tap(small_spec(GradNorm::None, 1, 0), x, layer_index("relu2_1"));
        const Eval ref = evaluate(small_spec(GradNorm::None, cw / (l1 + 1e-8), 0), x);
        const Eval got = evaluate(small_spec(GradNorm::JcJohnson, cw, 0), x);
        CHECK(got.terms.total == plain.terms.content_sum());  // the value is the plain one
        CHECK(test::rel_l2(got.dx.data(), ref.dx.data(), ref.dx.numel()) < 1e-12);
        CHECK(test::rel_l2(got.dx.data(), plain.dx.data(), ref.dx.numel()) > 1e-3);  // and it did change
    }
    SUBCASE("jcjohnson, style term at relu1_1 alone") {
        LossSpec one = small_spec(GradNorm::None, 0, 1);
        one.style_layers = {layer_index("relu1_1")};
        one.style_layer_weights = {1.0};
        const double l1 = l1_of_tap(one, x, layer_index("relu1_1"));
        LossSpec ref_spec = one;
        ref_spec.style_weight = sw / (l1 + 1e-8);
        LossSpec got_spec = one;
        got_spec.style_weight = sw;
        got_spec.grad_norm = GradNorm::JcJohnson;
        const Eval ref = evaluate(ref_spec, x);
        const Eval got = evaluate(got_spec, x);
        CHECK(test::rel_l2(got.dx.data(), ref.dx.data(), ref.dx.numel()) < 1e-12);
    }
    SUBCASE("neural-style-pt: each term's gradient times w / (|w| + 1e-8) * w") {
        // Content alone and style alone, against the plain gradient of each scaled by the factor.
        const Eval c_plain = evaluate(small_spec(GradNorm::None, cw, 0), x);
        const Eval c_got = evaluate(small_spec(GradNorm::NeuralStylePt, cw, 0), x);
        const double k = cw / (cw + 1e-8) * cw;
        for (std::size_t i = 0; i < x.numel(); ++i) CHECK(c_got.dx[i] == doctest::Approx(k * c_plain.dx[i]).epsilon(1e-12));
        CHECK(c_got.terms.total == c_plain.terms.total);
        // Style: layer weights 1 and 0.5 give the two terms w = 100 and 50: different factors.
        LossSpec s1 = small_spec(GradNorm::None, 0, sw);
        s1.style_layer_weights = {1.0, 0.0};
        LossSpec s2 = small_spec(GradNorm::None, 0, sw);
        s2.style_layer_weights = {0.0, 0.5};
        LossSpec both = small_spec(GradNorm::NeuralStylePt, 0, sw);
        const Eval a = evaluate(s1, x), b = evaluate(s2, x), got = evaluate(both, x);
        const double ka = sw / (sw + 1e-8) * sw, kb = 50 / (50 + 1e-8) * 50;
        for (std::size_t i = 0; i < x.numel(); ++i)
            CHECK(got.dx[i] == doctest::Approx(ka * a.dx[i] + kb * b.dx[i]).epsilon(1e-10));
    }
    SUBCASE("jcjohnson refuses tiling") {
        cpu::Vgg19Net<double> net(weights(), Pooling::Max);
        cpu::Objective<double> obj(net, small_spec(GradNorm::JcJohnson, cw, sw));
        CHECK_THROWS_WITH_AS(obj.set_tile_rows(8), doctest::Contains("--normalize-gradients jcjohnson"), Error);
    }
}

TEST_CASE("lbfgs tolerances: torch's breaks in torch's order") {
    const std::size_t n = 4;
    std::vector<double> x = {1, 2, 3, 4};
    SUBCASE("tol_grad: max|g| <= tol before the first step (torch returns before its loop)") {
        cpu::Lbfgs<double> opt(n, cpu::LbfgsOptions{1.0, 10, HistoryPrecision::Fp32, 1e-7, 1e-9});
        const std::vector<double> g = {1e-8, -1e-7, 0, 5e-8};
        CHECK_FALSE(opt.step(x.data(), g.data(), 3.0));
        CHECK(x == std::vector<double>{1, 2, 3, 4});
        cpu::Lbfgs<double> off(n, cpu::LbfgsOptions{});  // -1: never
        CHECK(off.step(x.data(), g.data(), 3.0));
    }
    SUBCASE("tol_change: the same loss twice stops at the second call") {
        cpu::Lbfgs<double> opt(n, cpu::LbfgsOptions{1.0, 10, HistoryPrecision::Fp32, 1e-7, 1e-9});
        const std::vector<double> g1 = {1, -2, 0.5, 1}, g2 = {0.5, -1, 0.2, 0.3};
        REQUIRE(opt.step(x.data(), g1.data(), 10.0));
        const std::vector<double> after1 = x;
        // float32 comparison: 10 and 10 + 1e-7 are the same float.
        CHECK_FALSE(opt.step(x.data(), g2.data(), 10.0 + 1e-7));
        CHECK(x == after1);
        cpu::Lbfgs<double> off(n, cpu::LbfgsOptions{});
        std::vector<double> y = {1, 2, 3, 4};
        REQUIRE(off.step(y.data(), g1.data(), 10.0));
        CHECK(off.step(y.data(), g2.data(), 10.0));
    }
    SUBCASE("tol_change: a step of max |t d| <= tol stops the next call") {
        // lr 1e-12: the first step t = min(1, 1 / |g|_1) lr = 2.5e-13 moves x by 2.5e-13 (g.d = -4).
        cpu::Lbfgs<double> opt(n, cpu::LbfgsOptions{1e-12, 10, HistoryPrecision::Fp32, -1, 1e-9});
        const std::vector<double> g1 = {1, 1, 1, 1};
        REQUIRE(opt.step(x.data(), g1.data(), 5.0));
        const std::vector<double> g2 = {2, 1, 0, 0};
        CHECK_FALSE(opt.step(x.data(), g2.data(), 4.0));
    }
    SUBCASE("g.d > -tol_change (torch's first break) with tolerance 1e-9") {
        cpu::Lbfgs<double> opt(n, cpu::LbfgsOptions{1.0, 10, HistoryPrecision::Fp32, -1, 1e-9});
        const std::vector<double> g = {1e-5, 0, 0, 0};  // g.d = -1e-10 > -1e-9
        CHECK_FALSE(opt.step(x.data(), g.data(), 5.0));
        std::vector<double> y = {1, 2, 3, 4};
        cpu::Lbfgs<double> d2(n, cpu::LbfgsOptions{});  // nst's default: g.d > 1 only
        CHECK(d2.step(y.data(), g.data(), 5.0));
    }
}

TEST_CASE("resize pil-bilinear: every sample equals PIL's") {
    const std::string dir = std::string(NST_SOURCE_DIR) + "/tests/data/pil_resize/";
    const Tensor<float> in = load_image(dir + "input.png");
    const int sizes[][2] = {{16, 23}, {7, 40}, {60, 80}, {37, 20}, {20, 53}, {1, 5}};
    for (const auto& s : sizes) {
        INFO(s[0] << "x" << s[1]);
        const Tensor<float> want = load_npy_image(dir + "out_" + std::to_string(s[0]) + "x" + std::to_string(s[1]) + ".npy");
        const Tensor<float> got = resize_pil_bilinear(in.cview(), s[0], s[1]);
        REQUIRE(got.shape() == want.shape());
        int differ = 0;
        for (std::size_t i = 0; i < got.numel(); ++i) differ += std::lround(got[i] * 255) != std::lround(want[i] * 255);
        CHECK(differ == 0);
    }
}

TEST_CASE("resize pil-bilinear: the peers' truncated target sizes") {
    int h = 0, w = 0;
    // neural-style-pt: int((512 / 1024) * 683) = 341 where rounding gives 342.
    target_size_truncated(683, 1024, 512, SizeRule::Max, h, w);
    CHECK((h == 341 && w == 512));
    target_size(683, 1024, 512, SizeRule::Max, h, w);
    CHECK(h == 342);
    // 333 x 500 (h x w) at 512: int(512 / 500 * 333) = 340.
    target_size_truncated(333, 500, 512, SizeRule::Max, h, w);
    CHECK((h == 340 && w == 512));
    // torchvision Resize(64) of 1024 x 640 (w x h): short side 64, int(64 * 1024 / 640) = 102.
    target_size_truncated(640, 1024, 64, SizeRule::Short, h, w);
    CHECK((h == 64 && w == 102));
    target_size_truncated(1000, 300, 64, SizeRule::Short, h, w);
    CHECK((h == 213 && w == 64));
}
