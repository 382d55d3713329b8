// SPDX-License-Identifier: MIT
// Loss terms on the CPU: values against naive loops and a hand-computed example, gradients
// against central finite differences in double (style.md §2.5), float against double.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <omp.h>

#include "core/rng.h"
#include "loss/conventions.h"
#include "loss/losses.h"
#include "test_util.h"

using namespace nst;

// doctest::Approx compares with an absolute floor of epsilon (its scale defaults to 1), which
// would accept any small value; every comparison here is purely relative.
static doctest::Approx approx(double v) { return doctest::Approx(v).scale(0); }

namespace {

struct GradCheck {
    double worst_rel = 0;  // max |ga - gn| / max(|ga|, |gn|, floor)
    int checked = 0;
};

// Central differences of f w.r.t. the coordinates of x listed in `coords`, against `grad`.
// eps = 1e-6 * max(1, |x_i|). The difference quotient carries an absolute rounding error of
// about eps_mach * |f| / eps whatever the coordinate, so the relative error has a floor: 1e-2 of
// the largest analytic gradient entry. Coordinates with a near-zero gradient are thus judged at
// the problem's scale rather than against an absolute 1, which would let small losses pass
// trivially.
GradCheck check_gradient(std::vector<double*> coords, const std::function<double()>& f,
                         const std::vector<double>& grad_at_coords, double eps_rel = 1e-6) {
    double gmax = 0;
    for (double g : grad_at_coords) gmax = std::max(gmax, std::fabs(g));
    const double floor = std::max(1e-2 * gmax, 1e-300);
    GradCheck r;
    for (std::size_t k = 0; k < coords.size(); ++k) {
        double& xi = *coords[k];
        const double eps = eps_rel * std::max(1.0, std::fabs(xi));
        const double gn = test::central_difference(f, xi, eps);
        const double ga = grad_at_coords[k];
        const double rel = std::fabs(ga - gn) / std::max({std::fabs(ga), std::fabs(gn), floor});
        r.worst_rel = std::max(r.worst_rel, rel);
        ++r.checked;
    }
    return r;
}

// Up to `max_n` distinct coordinates of a tensor of n elements, deterministic.
std::vector<std::size_t> pick_coords(std::size_t n, std::size_t max_n, std::uint64_t seed) {
    std::vector<std::size_t> idx;
    if (n <= max_n) {
        for (std::size_t i = 0; i < n; ++i) idx.push_back(i);
        return idx;
    }
    for (std::size_t k = 0; idx.size() < max_n; ++k) {
        const std::size_t i = std::size_t(rng::uniform(seed, 42, k) * double(n));
        if (std::find(idx.begin(), idx.end(), i) == idx.end()) idx.push_back(i);
    }
    return idx;
}

// Naive Gram: g_ij = scale * sum_k F_ik F_jk by a triple loop in long double.
std::vector<double> naive_gram(const Tensor<double>& f, double scale) {
    const int c = f.shape().c;
    const std::size_t m = f.shape().plane();
    std::vector<double> g(std::size_t(c) * c);
    for (int i = 0; i < c; ++i)
        for (int j = 0; j < c; ++j) {
            long double s = 0;
            for (std::size_t k = 0; k < m; ++k) s += (long double)f[i * m + k] * f[j * m + k];
            g[std::size_t(i) * c + j] = double(scale * s);
        }
    return g;
}

}  // namespace

TEST_CASE("conventions: preset names") {
    CHECK(parse_preset("jcjohnson") == Preset::JcJohnson);
    CHECK(parse_preset("gatys") == Preset::Gatys);
    CHECK(std::string(preset_name(Preset::Gatys)) == "gatys");
    CHECK(std::string(preset_name(Preset::JcJohnson)) == "jcjohnson");
    try {
        parse_preset("Gatys2");
        FAIL("no error for an unknown preset");
    } catch (const Error& e) {
        CHECK(e.code() == ExitCode::Usage);
        CHECK(std::string(e.what()).find("Gatys2") != std::string::npos);
    }
}

TEST_CASE("conventions: scale table of spec §5") {
    const int c = 64;
    const long long m = 1000;
    const LossScales j = loss_scales(Preset::JcJohnson, c, m);
    CHECK(j.content == approx(1.0 / 64000).epsilon(1e-15));
    CHECK(j.gram == approx(1.0 / 64000).epsilon(1e-15));
    CHECK(j.style == approx(1.0 / 4096).epsilon(1e-15));
    const LossScales g = loss_scales(Preset::Gatys, c, m);
    CHECK(g.content == 0.5);
    CHECK(g.gram == 1.0);
    CHECK(g.style == approx(1.0 / (4.0 * 4096 * 1e6)).epsilon(1e-15));
    CHECK(style_layer_weight(Preset::JcJohnson, 2.5, 5) == 2.5);
    CHECK(style_layer_weight(Preset::Gatys, 2.5, 5) == approx(0.5).epsilon(1e-15));
    CHECK(style_layer_weight(Preset::Gatys, 1.0, 4) == 0.25);
}

TEST_CASE("gram: values match a triple loop / small integers are exact in float") {
    const Shape fs{1, 7, 5, 9};
    Tensor<double> f = test::random_tensor<double>(fs, 11);
    Tensor<double> g(Shape{1, 1, 7, 7});
    for (auto& v : g) v = NAN;  // unwritten entries fail
    cpu::gram_matrix<double>(g, f, 0.125);
    const std::vector<double> ref = naive_gram(f, 0.125);
    CHECK(test::rel_l2(g.data(), ref.data(), ref.size()) < 1e-14);
    for (std::size_t i = 0; i < ref.size(); ++i) REQUIRE(std::fabs(g[i] - ref[i]) <= 1e-14 * std::fabs(ref[i]) + 1e-15);

    // Integers in [-8, 8): every product and partial sum is exact in float (the CUTLASS trick),
    // so the BLAS result must equal the triple loop bit for bit, lower triangle included.
    Tensor<float> fi(Shape{1, 33, 6, 7});
    Tensor<double> fid(fi.shape());
    for (std::size_t i = 0; i < fi.numel(); ++i) {
        fi[i] = float(std::floor(rng::uniform(3, 9, i) * 16) - 8);
        fid[i] = fi[i];
    }
    Tensor<float> gi(Shape{1, 1, 33, 33});
    for (auto& v : gi) v = NAN;
    cpu::gram_matrix<float>(gi, fi, 1.0);
    const std::vector<double> refi = naive_gram(fid, 1.0);
    int mismatches = 0;
    for (std::size_t i = 0; i < refi.size(); ++i) mismatches += double(gi[i]) != refi[i];
    CHECK(mismatches == 0);
}

TEST_CASE("gram: <R / G(F)> against finite differences") {
    // d<R, s F F^T>/dF = s (R + R^T) F, formed here by explicit loops; checks that G is the
    // full (mirrored) matrix as a function of F, not just its values at one point.
    const int c = 4, m = 6;
    Tensor<double> f = test::random_tensor<double>(Shape{1, c, 2, 3}, 5);
    Tensor<double> r = test::random_tensor<double>(Shape{1, 1, c, c}, 6);
    const double s = 0.3;
    Tensor<double> g(Shape{1, 1, c, c});
    auto value = [&]() {
        cpu::gram_matrix<double>(g, f, s);
        double v = 0;
        for (std::size_t i = 0; i < g.numel(); ++i) v += r[i] * g[i];
        return v;
    };
    std::vector<double*> coords;
    std::vector<double> grad;
    for (int i = 0; i < c; ++i)
        for (int k = 0; k < m; ++k) {
            double acc = 0;
            for (int j = 0; j < c; ++j) acc += (r[i * c + j] + r[j * c + i]) * f[j * m + k];
            coords.push_back(&f[i * m + k]);
            grad.push_back(s * acc);
        }
    const GradCheck gc = check_gradient(coords, value, grad);
    MESSAGE("gram FD: worst rel err " << gc.worst_rel << " over " << gc.checked);
    CHECK(gc.worst_rel < 1e-6);
}

TEST_CASE("content loss: value / accumulating gradient / finite differences") {
    const Shape fs{1, 3, 4, 5};
    Tensor<double> f = test::random_tensor<double>(fs, 1);
    Tensor<double> p = test::random_tensor<double>(fs, 2);
    const double scale = 0.7;
    long double naive = 0;
    for (std::size_t i = 0; i < f.numel(); ++i) naive += (long double)(f[i] - p[i]) * (f[i] - p[i]);
    CHECK(cpu::content_loss<double>(f, p, scale, {}) == approx(double(scale * naive)).epsilon(1e-14));

    // df accumulates: start from a known non-zero gradient.
    Tensor<double> df = filled<double>(fs, 0.25);
    const double v = cpu::content_loss<double>(f, p, scale, df);
    CHECK(v == approx(double(scale * naive)).epsilon(1e-14));
    std::vector<double*> coords;
    std::vector<double> grad;
    for (std::size_t i = 0; i < f.numel(); ++i) {
        coords.push_back(&f[i]);
        grad.push_back(df[i] - 0.25);
    }
    const GradCheck gc = check_gradient(coords, [&] { return cpu::content_loss<double>(f, p, scale, {}); }, grad);
    MESSAGE("content FD: worst rel err " << gc.worst_rel << " over " << gc.checked);
    CHECK(gc.worst_rel < 1e-6);

    // Float agrees with double.
    Tensor<float> ff = cast<float, double>(f), pf = cast<float, double>(p);
    Tensor<float> dff = filled<float>(fs, 0.0f);
    const double vf = cpu::content_loss<float>(ff, pf, scale, dff);
    CHECK(vf == approx(v).epsilon(1e-6));
    Tensor<double> dref(fs);
    for (std::size_t i = 0; i < f.numel(); ++i) dref[i] = df[i] - 0.25;
    CHECK(test::rel_l2(dff.data(), dref.data(), f.numel()) < 1e-6);
}

TEST_CASE("style loss: value and gradient for both presets' scales") {
    const Shape fs{1, 6, 3, 5};
    const int c = fs.c;
    const long long m = (long long)fs.plane();
    for (Preset preset : {Preset::JcJohnson, Preset::Gatys}) {
        const std::string name = preset_name(preset);
        CAPTURE(name);
        Tensor<double> f = test::random_tensor<double>(fs, 21, -1, 2);
        // A target Gram of the same preset from another feature map (symmetric, as in use).
        Tensor<double> fa = test::random_tensor<double>(fs, 22, -1, 2);
        const LossScales sc = loss_scales(preset, c, m);
        const double w = 3.0;  // a user weight folded into the loss scale, as the objective does
        Tensor<double> a(Shape{1, 1, c, c});
        cpu::gram_matrix<double>(a, fa, sc.gram);

        // Naive value: loss_scale * sum (G - A)^2 with G by a triple loop.
        const std::vector<double> gref = naive_gram(f, sc.gram);
        long double naive = 0;
        for (std::size_t i = 0; i < gref.size(); ++i) naive += (long double)(gref[i] - a[i]) * (gref[i] - a[i]);
        naive *= w * sc.style;

        Tensor<double> g(Shape{1, 1, c, c}), diff(Shape{1, 1, c, c});
        Tensor<double> df = filled<double>(fs, -1.5);
        const double v = cpu::style_loss<double>(f, a, sc.gram, w * sc.style, g, diff, df);
        CHECK(v == approx(double(naive)).epsilon(1e-12));
        CHECK(test::rel_l2(g.data(), gref.data(), gref.size()) < 1e-14);  // g receives G
        // The overload without the diff scratch gives the same value and gradient.
        Tensor<double> df2 = filled<double>(fs, -1.5);
        CHECK(cpu::style_loss<double>(f, a, sc.gram, w * sc.style, g, df2) == v);
        CHECK(test::rel_l2(df2.data(), df.data(), df.numel()) == 0);

        std::vector<double*> coords;
        std::vector<double> grad;
        for (std::size_t i = 0; i < f.numel(); ++i) {
            coords.push_back(&f[i]);
            grad.push_back(df[i] + 1.5);
        }
        Tensor<double> gs(Shape{1, 1, c, c});
        const GradCheck gc = check_gradient(
            coords, [&] { return cpu::style_loss<double>(f, a, sc.gram, w * sc.style, gs, {}); }, grad);
        MESSAGE("style FD (" << name << "): worst rel err " << gc.worst_rel << " over " << gc.checked);
        CHECK(gc.worst_rel < 1e-6);

        // Float agrees with double.
        Tensor<float> ff = cast<float, double>(f), af = cast<float, double>(a);
        Tensor<float> gf(Shape{1, 1, c, c}), difff(Shape{1, 1, c, c});
        Tensor<float> dff = filled<float>(fs, 0.0f);
        const double vf = cpu::style_loss<float>(ff, af, sc.gram, w * sc.style, gf, difff, dff);
        CHECK(vf == approx(v).epsilon(1e-5));
        Tensor<double> dref(fs);
        for (std::size_t i = 0; i < f.numel(); ++i) dref[i] = df[i] + 1.5;
        CHECK(test::rel_l2(dff.data(), dref.data(), f.numel()) < 1e-5);
    }
}

TEST_CASE("style loss: gradient at a larger layer / random coordinates") {
    // Enough positions that the BLAS calls take their blocked paths.
    const Shape fs{1, 40, 23, 31};
    Tensor<double> f = test::random_tensor<double>(fs, 31, 0, 1);
    Tensor<double> fa = test::random_tensor<double>(fs, 32, 0, 1.2);
    const LossScales sc = loss_scales(Preset::JcJohnson, fs.c, (long long)fs.plane());
    Tensor<double> a(Shape{1, 1, fs.c, fs.c}), g(a.shape()), diff(a.shape());
    cpu::gram_matrix<double>(a, fa, sc.gram);
    Tensor<double> df = filled<double>(fs, 0.0);
    cpu::style_loss<double>(f, a, sc.gram, sc.style, g, diff, df);
    std::vector<double*> coords;
    std::vector<double> grad;
    for (std::size_t i : pick_coords(f.numel(), 300, 9)) {
        coords.push_back(&f[i]);
        grad.push_back(df[i]);
    }
    // A sum over N = 28520 features has partial derivatives ~|f|/N, while the difference
    // quotient's rounding error is ~eps_mach |f| / eps: with eps = 1e-6 that is ~N * 1e-10 ~ 3e-6
    // relative. eps = 1e-4 brings it to ~3e-8; the truncation error of the central difference,
    // ~eps^2 f'''/f', stays near 1e-8 for entries of order 1.
    const GradCheck gc = check_gradient(
        coords, [&] { return cpu::style_loss<double>(f, a, sc.gram, sc.style, g, {}); }, grad, 1e-4);
    MESSAGE("style FD (40x23x31): worst rel err " << gc.worst_rel << " over " << gc.checked);
    CHECK(gc.worst_rel < 1e-6);
}

TEST_CASE("tv loss: hand-computed 3x4 example") {
    // Channel 0 below, channel 1 constant (no variation, no gradient).
    //   1 2 4 7
    //   0 3 3 1
    //   2 2 5 0
    // Terms at (i, j), i < 2, j < 3: a = x_ij - x_i,j+1, b = x_ij - x_i+1,j
    //   a^2 + b^2 = 2, 5, 10 (row 0); 13, 1, 8 (row 1); sum 39, loss = scale * 39 / 2.
    // Gradient (scale 1): a_ij + b_ij - a_i,j-1 - b_i-1,j where defined:
    const double x0[12] = {1, 2, 4, 7, 0, 3, 3, 1, 2, 2, 5, 0};
    const double grad0[12] = {0, -2, 0, 3, -6, 5, -1, -2, 2, -1, 2, 0};
    Tensor<double> x(Shape{1, 2, 3, 4});
    for (int i = 0; i < 12; ++i) {
        x[i] = x0[i];
        x[12 + i] = 5;
    }
    const double scale = 2;
    Tensor<double> dx = filled<double>(x.shape(), 1.0);
    CHECK(cpu::tv_loss<double>(x, scale, dx) == 39.0);
    for (int i = 0; i < 12; ++i) {
        CHECK(dx[i] == 1.0 + scale * grad0[i]);
        CHECK(dx[12 + i] == 1.0);
    }
    CHECK(cpu::tv_loss<double>(x, scale, {}) == 39.0);
    Tensor<float> xf = cast<float, double>(x);
    CHECK(cpu::tv_loss<float>(xf, scale, {}) == 39.0);
    // A single row or column has no position with both neighbours.
    Tensor<double> line = test::random_tensor<double>(Shape{1, 3, 1, 9}, 4);
    Tensor<double> dline = filled<double>(line.shape(), 0.0);
    CHECK(cpu::tv_loss<double>(line, 1.0, dline) == 0.0);
    for (double v : dline) CHECK(v == 0.0);
}

TEST_CASE("tv loss: finite differences") {
    Tensor<double> x = test::random_tensor<double>(Shape{1, 3, 7, 6}, 8, -2, 2);
    const double scale = 0.37;
    Tensor<double> dx = filled<double>(x.shape(), 0.0);
    cpu::tv_loss<double>(x, scale, dx);
    std::vector<double*> coords;
    std::vector<double> grad;
    for (std::size_t i = 0; i < x.numel(); ++i) {
        coords.push_back(&x[i]);
        grad.push_back(dx[i]);
    }
    const GradCheck gc = check_gradient(coords, [&] { return cpu::tv_loss<double>(x, scale, {}); }, grad);
    MESSAGE("tv FD: worst rel err " << gc.worst_rel << " over " << gc.checked);
    CHECK(gc.worst_rel < 1e-6);

    // Explicit formula on random data (independent of the implementation's gather form).
    long double naive = 0;
    for (int c = 0; c < 3; ++c)
        for (int i = 0; i + 1 < 7; ++i)
            for (int j = 0; j + 1 < 6; ++j) {
                const long double v = x[(c * 7 + i) * 6 + j];
                const long double a = v - x[(c * 7 + i) * 6 + j + 1], b = v - x[(c * 7 + i + 1) * 6 + j];
                naive += a * a + b * b;
            }
    CHECK(cpu::tv_loss<double>(x, scale, {}) == approx(double(scale * 0.5L * naive)).epsilon(1e-14));
}

TEST_CASE("losses: large tensors give the same sums for any thread count") {
    // The sums use fixed chunks combined in order, so a seeded run is bit-reproducible.
    const Shape fs{1, 8, 120, 130};
    Tensor<float> f = test::random_tensor<float>(fs, 51), p = test::random_tensor<float>(fs, 52);
    std::vector<double> vals;
    for (int threads : {1, 2, 3}) {
        omp_set_num_threads(threads);
        vals.push_back(cpu::content_loss<float>(f, p, 1.0, {}) + 1e3 * cpu::tv_loss<float>(f, 1.0, {}));
    }
    omp_set_num_threads(omp_get_num_procs());
    CHECK(vals[0] == vals[1]);
    CHECK(vals[0] == vals[2]);
}
