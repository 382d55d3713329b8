// SPDX-License-Identifier: MIT
// L-BFGS (torch.optim.LBFGS without line search): the first step in closed form, convergence on
// a quadratic and on Rosenbrock, the (s, y) history bookkeeping, and the two-loop recursion
// against the dense inverse-Hessian update it stands for.
#include <doctest/doctest.h>
#include <omp.h>

#include <cmath>
#include <vector>

#include "core/bf16.h"
#include "core/error.h"
#include "core/rng.h"
#include "optim/lbfgs.h"

using namespace nst;
using Vec = std::vector<double>;
using Mat = std::vector<Vec>;

// doctest::Approx compares with an absolute floor of epsilon (its scale defaults to 1), which
// would accept any small value; every comparison here is purely relative.
static doctest::Approx approx(double v) { return doctest::Approx(v).scale(0); }

namespace {

double dot(const Vec& a, const Vec& b) {
    double s = 0;
    for (std::size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
    return s;
}

Vec matvec(const Mat& a, const Vec& x) {
    Vec y(a.size(), 0.0);
    for (std::size_t i = 0; i < a.size(); ++i) y[i] = dot(a[i], x);
    return y;
}

Mat matmul(const Mat& a, const Mat& b) {
    const std::size_t n = a.size();
    Mat c(n, Vec(n, 0.0));
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t k = 0; k < n; ++k)
            for (std::size_t j = 0; j < n; ++j) c[i][j] += a[i][k] * b[k][j];
    return c;
}

// SPD matrix A = B B^T / n + I with B uniform in [-1, 1): eigenvalues in [1, ~n/3 + 1].
Mat spd_matrix(std::size_t n, std::uint64_t seed) {
    Mat b(n, Vec(n)), a(n, Vec(n, 0.0));
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < n; ++j) b[i][j] = 2 * rng::uniform(seed, 1, i * n + j) - 1;
    for (std::size_t i = 0; i < n; ++i) {
        for (std::size_t j = 0; j < n; ++j) a[i][j] = dot(b[i], b[j]) / double(n);
        a[i][i] += 1;
    }
    return a;
}

// Solves A x = b by Gaussian elimination with partial pivoting (the reference minimiser).
Vec solve(Mat a, Vec b) {
    const std::size_t n = b.size();
    for (std::size_t k = 0; k < n; ++k) {
        std::size_t p = k;
        for (std::size_t i = k + 1; i < n; ++i)
            if (std::fabs(a[i][k]) > std::fabs(a[p][k])) p = i;
        std::swap(a[k], a[p]);
        std::swap(b[k], b[p]);
        for (std::size_t i = k + 1; i < n; ++i) {
            const double f = a[i][k] / a[k][k];
            for (std::size_t j = k; j < n; ++j) a[i][j] -= f * a[k][j];
            b[i] -= f * b[k];
        }
    }
    Vec x(n);
    for (std::size_t i = n; i-- > 0;) {
        double s = b[i];
        for (std::size_t j = i + 1; j < n; ++j) s -= a[i][j] * x[j];
        x[i] = s / a[i][i];
    }
    return x;
}

// Gradient of f = 1/2 x^T A x - b^T x.
Vec quad_grad(const Mat& a, const Vec& b, const Vec& x) {
    Vec g = matvec(a, x);
    for (std::size_t i = 0; i < g.size(); ++i) g[i] -= b[i];
    return g;
}

double max_abs_diff(const Vec& a, const Vec& b) {
    double m = 0;
    for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
    return m;
}

Vec rosenbrock_grad(const Vec& x) {
    return {-2 * (1 - x[0]) - 400 * x[0] * (x[1] - x[0] * x[0]), 200 * (x[1] - x[0] * x[0])};
}

// The dense inverse-Hessian approximation of L-BFGS from pairs (s_i, y_i), oldest first:
// H <- (I - rho s y^T) H (I - rho y s^T) + rho s s^T per pair, starting from H0 = gamma I
// with gamma = s.y / y.y of the newest pair (torch's H_diag).
Mat dense_inverse_hessian(const std::vector<Vec>& s, const std::vector<Vec>& y) {
    const std::size_t n = s[0].size();
    const double gamma = dot(s.back(), y.back()) / dot(y.back(), y.back());
    Mat h(n, Vec(n, 0.0));
    for (std::size_t i = 0; i < n; ++i) h[i][i] = gamma;
    for (std::size_t k = 0; k < s.size(); ++k) {
        const double rho = 1.0 / dot(y[k], s[k]);
        Mat left(n, Vec(n)), right(n, Vec(n));  // left = I - rho s y^T, right = its transpose
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t j = 0; j < n; ++j) {
                left[i][j] = (i == j) - rho * s[k][i] * y[k][j];
                right[j][i] = left[i][j];
            }
        h = matmul(matmul(left, h), right);
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t j = 0; j < n; ++j) h[i][j] += rho * s[k][i] * s[k][j];
    }
    return h;
}

}  // namespace

TEST_CASE("lbfgs: first step is x - min(1 / 1/|g|_1) lr g / exactly") {
    // Dyadic values: |g|_1 and t * g are exact, so the comparison can be bit for bit.
    {
        Vec x = {1, 2, -3, 0.25};
        const Vec g = {0.5, -1.5, 2, 4};  // |g|_1 = 8 > 1: t = lr / 8
        cpu::Lbfgs<double> opt(4, {1.0, 10});
        REQUIRE(opt.step(x.data(), g.data()));
        CHECK(opt.last_step_size() == 0.125);
        CHECK(x == Vec{1 - 0.0625, 2 + 0.1875, -3 - 0.25, 0.25 - 0.5});
        for (int i = 0; i < 4; ++i) CHECK(opt.direction()[i] == -g[i]);
        CHECK(opt.num_pairs() == 0);
        CHECK(opt.iterations() == 1);
        CHECK(opt.h_diag() == 1.0);
    }
    {
        std::vector<float> x = {1, -2, 3};
        const std::vector<float> g = {0.25f, -0.5f, 0};  // |g|_1 = 0.75 < 1: t = lr
        cpu::Lbfgs<float> opt(3, {0.5, 10});
        REQUIRE(opt.step(x.data(), g.data()));
        CHECK(opt.last_step_size() == 0.5);
        CHECK(x == std::vector<float>{0.875f, -1.75f, 3});
    }
    {
        // Generic values: within an ulp or so of the formula.
        Vec x(7), g(7);
        for (int i = 0; i < 7; ++i) {
            x[i] = rng::normal(4, 0, i);
            g[i] = rng::normal(4, 1, i);
        }
        double l1 = 0;
        for (double v : g) l1 += std::fabs(v);
        const double t = std::min(1.0, 1.0 / l1) * 0.7;
        Vec expect(7);
        for (int i = 0; i < 7; ++i) expect[i] = x[i] - t * g[i];
        cpu::Lbfgs<double> opt(7, {0.7, 5});
        opt.step(x.data(), g.data());
        CHECK(opt.last_step_size() == approx(t).epsilon(1e-15));
        CHECK(max_abs_diff(x, expect) < 1e-15);
    }
}

TEST_CASE("lbfgs: quadratic converges to A^-1 b") {
    const std::size_t n = 10;
    const Mat a = spd_matrix(n, 17);
    Vec b(n), x(n, 0.0);
    for (std::size_t i = 0; i < n; ++i) b[i] = rng::normal(18, 0, i);
    const Vec xstar = solve(a, b);
    cpu::Lbfgs<double> opt(n, {1.0, 100});
    int iters = 0;
    for (; iters < 30 && max_abs_diff(x, xstar) >= 1e-8; ++iters) {
        const Vec g = quad_grad(a, b, x);
        REQUIRE(opt.step(x.data(), g.data()));
    }
    MESSAGE("quadratic n=10: |x - A^-1 b|_inf = " << max_abs_diff(x, xstar) << " after " << iters << " steps");
    CHECK(max_abs_diff(x, xstar) < 1e-8);

    // Float reaches float accuracy.
    std::vector<float> xf(n, 0.0f);
    cpu::Lbfgs<float> optf(n, {1.0, 100});
    for (int k = 0; k < 40; ++k) {
        const Vec xd(xf.begin(), xf.end());
        const Vec g = quad_grad(a, b, xd);
        const std::vector<float> gf(g.begin(), g.end());
        if (!optf.step(xf.data(), gf.data())) break;
    }
    CHECK(max_abs_diff(Vec(xf.begin(), xf.end()), xstar) < 1e-4);
}

TEST_CASE("lbfgs: Rosenbrock from (-1.2 / 1) with lr 1 / against torch's iterates and to the minimum") {
    // Reference iterates from torch 1.13 (python3-torch), float64:
    //   import torch; torch.set_default_dtype(torch.float64)
    //   x = torch.tensor([-1.2, 1.0], requires_grad=True)
    //   opt = torch.optim.LBFGS([x], lr=1, max_iter=8, max_eval=100, tolerance_grad=-1,
    //                           tolerance_change=-1, history_size=3, line_search_fn=None)
    //   xs = []
    //   def closure():
    //       opt.zero_grad(); f = (1 - x[0])**2 + 100 * (x[1] - x[0]**2)**2; f.backward()
    //       xs.append(x.detach().clone()); return f
    //   opt.step(closure); xs.append(x.detach().clone())
    //   for v in xs: print("{%.17g, %.17g}," % (v[0].item(), v[1].item()))
    // History 3 with 8 steps also exercises the ring wrapping around.
    const double ref[9][2] = {
        {-1.2, 1},
        {-0.48985507246376808, 1.2898550724637681},
        {-0.82167109907527935, 1.0682753957715367},
        {-1.3655416389879744, 0.93797605519385263},
        {-0.92536323778548191, 1.020778699827523},
        {-0.9681431272364307, 1.0046005515440501},
        {-0.99511567428903558, 0.99313696580671618},
        {-0.99188356206263617, 0.99231244901262317},
        {-0.98876836216092867, 0.98916253563531054},
    };
    {
        Vec x = {-1.2, 1};
        cpu::Lbfgs<double> opt(2, {1.0, 3});
        for (int k = 1; k <= 8; ++k) {
            const Vec g = rosenbrock_grad(x);
            REQUIRE(opt.step(x.data(), g.data()));
            CAPTURE(k);
            CHECK(x[0] == approx(ref[k][0]).epsilon(1e-12));
            CHECK(x[1] == approx(ref[k][1]).epsilon(1e-12));
        }
        CHECK(opt.num_pairs() == 3);
    }
    // With the default history, torch's run reaches (1, 1) within 1e-6 after 62 evaluations
    // (fixed steps: the loss is not monotone on the way, 24.2 -> 112.4 -> 18.8 -> ...).
    Vec x = {-1.2, 1};
    cpu::Lbfgs<double> opt(2, {1.0, 100});
    for (int k = 0; k < 100; ++k) {
        const Vec g = rosenbrock_grad(x);
        if (!opt.step(x.data(), g.data())) break;
    }
    MESSAGE("Rosenbrock after 100 steps: (" << x[0] << ", " << x[1] << ")");
    CHECK(max_abs_diff(x, {1, 1}) < 1e-6);
}

TEST_CASE("lbfgs: pairs with y.s <= 1e-10 are rejected") {
    // n = 2, g0 = (1, 0): t = 1 (|g|_1 = 1, lr = 1), d = (-1, 0), so the candidate s = (-1, 0)
    // and y.s = -y_0: the sign and size of y.s are set by the first gradient component.
    auto second_step = [](double y0, cpu::Lbfgs<double>& opt) {
        Vec x = {0, 0};
        const Vec g0 = {1, 0};
        opt.step(x.data(), g0.data());
        const Vec g1 = {1 + y0, 7};
        opt.step(x.data(), g1.data());
        return x;
    };
    {
        cpu::Lbfgs<double> opt(2, {1.0, 5});
        second_step(+0.5, opt);  // y.s = -0.5
        CHECK(opt.num_pairs() == 0);
        CHECK(opt.h_diag() == 1.0);
        // No pair: d = -H_diag g with H_diag = 1.
        CHECK(opt.direction()[0] == -1.5);
        CHECK(opt.direction()[1] == -7.0);
    }
    {
        cpu::Lbfgs<double> opt(2, {1.0, 5});
        second_step(-5e-11, opt);  // y.s = 5e-11 <= 1e-10
        CHECK(opt.num_pairs() == 0);
        CHECK(opt.h_diag() == 1.0);
    }
    {
        cpu::Lbfgs<double> opt(2, {1.0, 5});
        second_step(-2e-10, opt);  // y.s = 2e-10 > 1e-10: kept
        REQUIRE(opt.num_pairs() == 1);
        CHECK(opt.s(0)[0] == -1.0);
        CHECK(opt.s(0)[1] == 0.0);
        CHECK(opt.y(0)[1] == 7.0);
        CHECK(opt.rho(0) == approx(1 / 2e-10).epsilon(1e-6));
        CHECK(opt.h_diag() == approx(2e-10 / 49).epsilon(1e-6));
    }
    {
        // After pairs have been kept, a rejected pair leaves the pairs and H_diag untouched, but
        // the iteration still moves on: g_prev becomes this gradient and d the new direction, as
        // in torch, so the next pair is measured from the rejected step.
        const Mat a = spd_matrix(4, 3);
        const Vec b = {1, -2, 0.5, 3};
        Vec x = {0.1, 0.2, 0.3, 0.4};
        cpu::Lbfgs<double> opt(4, {1.0, 5});
        Vec g_last;
        for (int k = 0; k < 3; ++k) {
            g_last = quad_grad(a, b, x);
            opt.step(x.data(), g_last.data());
        }
        REQUIRE(opt.num_pairs() == 2);
        const double h = opt.h_diag();
        std::vector<Vec> s_before, y_before;
        for (int i = 0; i < 2; ++i) {
            s_before.emplace_back(opt.s(i), opt.s(i) + 4);
            y_before.emplace_back(opt.y(i), opt.y(i) + 4);
        }
        // The candidate is s = t d (t = lr = 1); y = -d makes y.s = -|d|^2 < 0.
        const Vec d_last(opt.direction(), opt.direction() + 4);
        Vec g_bad(4);
        for (int i = 0; i < 4; ++i) g_bad[i] = g_last[i] - d_last[i];
        const Vec x_before = x;
        REQUIRE(opt.step(x.data(), g_bad.data()));
        CHECK(opt.num_pairs() == 2);
        CHECK(opt.h_diag() == h);
        for (int i = 0; i < 2; ++i) {
            CHECK(Vec(opt.s(i), opt.s(i) + 4) == s_before[i]);
            CHECK(Vec(opt.y(i), opt.y(i) + 4) == y_before[i]);
        }
        // The direction is still -H g from the old pairs.
        const Mat hm = dense_inverse_hessian(s_before, y_before);
        const Vec hg = matvec(hm, g_bad);
        for (int i = 0; i < 4; ++i) CHECK(opt.direction()[i] == approx(-hg[i]).epsilon(1e-12));
        const Vec d_rej(opt.direction(), opt.direction() + 4);
        const Vec x_after = x;
        // Next step: the new pair is y = g - g_bad, s = t * d_rej.
        const Vec g_next = quad_grad(a, b, x);
        opt.step(x.data(), g_next.data());
        REQUIRE(opt.num_pairs() == 3);
        for (int i = 0; i < 4; ++i) {
            CHECK(opt.y(2)[i] == g_next[i] - g_bad[i]);
            CHECK(opt.s(2)[i] == d_rej[i]);
            CHECK(opt.s(2)[i] == approx(x_after[i] - x_before[i]).epsilon(1e-12));
        }
    }
}

TEST_CASE("lbfgs: a ring of M pairs holds the last M (x_k+1 - x_k / g_k+1 - g_k)") {
    const std::size_t n = 6;
    const Mat a = spd_matrix(n, 23);
    Vec b(n), x(n);
    for (std::size_t i = 0; i < n; ++i) {
        b[i] = rng::normal(24, 0, i);
        x[i] = rng::normal(24, 1, i);
    }
    cpu::Lbfgs<double> opt(n, {1.0, 3});
    std::vector<Vec> xs, gs;
    for (int k = 0; k < 6; ++k) {
        const Vec g = quad_grad(a, b, x);
        xs.push_back(x);
        gs.push_back(g);
        REQUIRE(opt.step(x.data(), g.data()));
        // Pairs formed so far: one per step after the first, all kept on an SPD quadratic.
        CHECK(opt.num_pairs() == std::min(k, 3));
    }
    // Steps 2..6 formed pairs from (x_k, g_k) -> (x_k+1, g_k+1), k = 0..4; the last 3 are
    // k = 2, 3, 4, oldest first. s is t d, equal to x_k+1 - x_k up to the rounding of x.
    for (int i = 0; i < 3; ++i) {
        const int k = 2 + i;
        CAPTURE(i);
        double s_err = 0, y_err = 0, s_norm = 0, y_norm = 0;
        for (std::size_t e = 0; e < n; ++e) {
            const double s_ref = xs[k + 1][e] - xs[k][e], y_ref = gs[k + 1][e] - gs[k][e];
            s_err = std::max(s_err, std::fabs(opt.s(i)[e] - s_ref));
            y_err = std::max(y_err, std::fabs(opt.y(i)[e] - y_ref));
            s_norm = std::max(s_norm, std::fabs(s_ref));
            y_norm = std::max(y_norm, std::fabs(y_ref));
        }
        CHECK(s_err <= 1e-14 * std::max(1.0, s_norm) * 4);
        CHECK(y_err == 0);  // the same subtraction of the same gradients
        double ys = 0;
        for (std::size_t e = 0; e < n; ++e) ys += opt.y(i)[e] * opt.s(i)[e];
        CHECK(opt.rho(i) == approx(1 / ys).epsilon(1e-13));
    }
    // H_diag comes from the newest pair.
    double ys = 0, yy = 0;
    for (std::size_t e = 0; e < n; ++e) {
        ys += opt.y(2)[e] * opt.s(2)[e];
        yy += opt.y(2)[e] * opt.y(2)[e];
    }
    CHECK(opt.h_diag() == approx(ys / yy).epsilon(1e-13));
}

TEST_CASE("lbfgs: the two-loop recursion equals the dense BFGS inverse update") {
    const std::size_t n = 5;
    const Mat a = spd_matrix(n, 31);
    Vec b(n), x(n);
    for (std::size_t i = 0; i < n; ++i) {
        b[i] = rng::normal(32, 0, i);
        x[i] = rng::normal(32, 1, i);
    }
    cpu::Lbfgs<double> opt(n, {1.0, 10});
    for (int step = 1; step <= 4; ++step) {
        const Vec g = quad_grad(a, b, x);
        REQUIRE(opt.step(x.data(), g.data()));
        if (step == 1) continue;
        // Step k has k - 1 pairs; d = -H g with H built from them by the matrix formula.
        CAPTURE(step);
        REQUIRE(opt.num_pairs() == step - 1);
        std::vector<Vec> s, y;
        for (int i = 0; i < opt.num_pairs(); ++i) {
            s.emplace_back(opt.s(i), opt.s(i) + n);
            y.emplace_back(opt.y(i), opt.y(i) + n);
        }
        const Vec hg = matvec(dense_inverse_hessian(s, y), g);
        double err = 0, norm = 0;
        for (std::size_t i = 0; i < n; ++i) {
            err = std::max(err, std::fabs(opt.direction()[i] + hg[i]));
            norm = std::max(norm, std::fabs(hg[i]));
        }
        CHECK(err <= 1e-12 * norm);
        CHECK(opt.last_step_size() == 1.0);  // t = lr after the first step
    }
}

TEST_CASE("lbfgs: iterates are bit-identical for any thread count") {
    // n large enough for several fixed reduction chunks; a separable quadratic.
    const std::size_t n = 100000;
    auto run = [&](int threads) {
        omp_set_num_threads(threads);
        std::vector<float> x(n), g(n);
        for (std::size_t i = 0; i < n; ++i) x[i] = float(rng::normal(5, 0, i));
        cpu::Lbfgs<float> opt(n, {1.0, 4});
        for (int k = 0; k < 7; ++k) {
            for (std::size_t i = 0; i < n; ++i) g[i] = float((1 + (i % 7)) * double(x[i]) - 0.5);
            opt.step(x.data(), g.data());
        }
        return x;
    };
    const std::vector<float> x1 = run(1), x2 = run(2), x3 = run(3);
    omp_set_num_threads(omp_get_num_procs());
    CHECK(x1 == x2);
    CHECK(x1 == x3);
}

TEST_CASE("lbfgs: options are validated") {
    CHECK_THROWS_AS(cpu::Lbfgs<double>(3, {1.0, 0}), Error);
    CHECK_THROWS_AS(cpu::Lbfgs<double>(3, {0.0, 5}), Error);
    bool usage = false;
    try {
        cpu::Lbfgs<float> opt(3, {1.0, -1});
    } catch (const Error& e) {
        usage = e.code() == ExitCode::Usage;
    }
    CHECK(usage);
}

// ---- bf16 history (--lbfgs-history-precision bf16) ----------------------------------------

namespace {

cpu::LbfgsOptions bf16_options(int history) { return {1.0, history, HistoryPrecision::Bf16}; }

double vec_dot(const std::vector<float>& a, const std::vector<float>& b) {
    double s = 0;
    for (std::size_t i = 0; i < a.size(); ++i) s += double(a[i]) * double(b[i]);
    return s;
}

}  // namespace

TEST_CASE("lbfgs bf16: the stored pair is the bf16 rounding of the fp32 pair and rho uses it") {
    // Same x0 and gradients: step 1 has no history, so both optimisers form the same pair at
    // step 2; fp32 stores it as is, bf16 rounded.
    const std::size_t n = 1000;
    std::vector<float> x32(n), x16(n), g1(n), g2(n);
    // s = -t g1, so y.s = -t (g2 - g1).g1 > 0 needs g2 - g1 = -c g1 + noise with c > 0.
    for (std::size_t i = 0; i < n; ++i) {
        x32[i] = x16[i] = float(rng::normal(41, 0, i));
        g1[i] = float(rng::normal(41, 1, i));
        g2[i] = g1[i] - float(0.3 * g1[i] + 0.01 * rng::normal(41, 3, i));
    }
    cpu::Lbfgs<float> full(n, {1.0, 5});
    cpu::Lbfgs<float> half(n, bf16_options(5));
    REQUIRE(full.step(x32.data(), g1.data()));
    REQUIRE(half.step(x16.data(), g1.data()));
    REQUIRE(x16 == x32);
    full.step(x32.data(), g2.data());
    half.step(x16.data(), g2.data());
    REQUIRE(full.num_pairs() == 1);
    REQUIRE(half.num_pairs() == 1);
    const std::vector<float> s32 = full.stored_s(0), y32 = full.stored_y(0);
    const std::vector<float> s16 = half.stored_s(0), y16 = half.stored_y(0);
    int rounded = 0;
    for (std::size_t i = 0; i < n; ++i) {
        CAPTURE(i);
        REQUIRE(float_bits(s16[i]) == float_bits(bf16_round(s32[i])));
        REQUIRE(float_bits(y16[i]) == float_bits(bf16_round(y32[i])));
        rounded += s16[i] != s32[i];
    }
    CHECK(rounded > int(n) / 2);  // the values really were rounded
    // rho and H0 from the stored (rounded) values, not from the unrounded pair.
    const double ys16 = vec_dot(y16, s16), ys32 = vec_dot(y32, s32);
    CHECK(half.rho(0) == approx(1.0 / ys16).epsilon(1e-12));
    CHECK(half.h_diag() == approx(ys16 / vec_dot(y16, y16)).epsilon(1e-12));
    CHECK(std::fabs(1.0 / ys32 - half.rho(0)) > 1e-9 * std::fabs(half.rho(0)));  // the check can tell
    CHECK(full.rho(0) == approx(1.0 / ys32).epsilon(1e-12));
    CHECK_THROWS_AS(half.s(0), Error);  // raw pointers only for a history stored as T
}

TEST_CASE("lbfgs bf16: the two-loop recursion is the dense BFGS update of the stored pairs") {
    const std::size_t n = 6;
    const Mat a = spd_matrix(n, 51);
    std::vector<float> x(n), b(n);
    for (std::size_t i = 0; i < n; ++i) {
        b[i] = float(rng::normal(52, 0, i));
        x[i] = float(rng::normal(52, 1, i));
    }
    cpu::Lbfgs<float> opt(n, bf16_options(10));
    double worst = 0;
    for (int step = 1; step <= 5; ++step) {
        const Vec g = quad_grad(a, Vec(b.begin(), b.end()), Vec(x.begin(), x.end()));
        const std::vector<float> gf(g.begin(), g.end());
        REQUIRE(opt.step(x.data(), gf.data()));
        if (step == 1) continue;
        CAPTURE(step);
        REQUIRE(opt.num_pairs() == step - 1);
        std::vector<Vec> s, y;
        for (int i = 0; i < opt.num_pairs(); ++i) {
            const std::vector<float> si = opt.stored_s(i), yi = opt.stored_y(i);
            s.emplace_back(si.begin(), si.end());
            y.emplace_back(yi.begin(), yi.end());
        }
        const Vec hg = matvec(dense_inverse_hessian(s, y), Vec(gf.begin(), gf.end()));
        double err = 0, norm = 0;
        for (std::size_t i = 0; i < n; ++i) {
            err = std::max(err, std::fabs(opt.direction()[i] + hg[i]));
            norm = std::max(norm, std::fabs(hg[i]));
        }
        worst = std::max(worst, err / norm);
        // Float vectors, double sums: float accuracy. Rounded s, y with unrounded rho would be off
        // by about bf16's 2^-9.
        CHECK(err <= 1e-5 * norm);
    }
    MESSAGE("bf16 two-loop vs dense update of the stored pairs: max rel err " << worst);
}

TEST_CASE("lbfgs bf16: quadratic and Rosenbrock converge and stay close to fp32") {
    // Quadratic, n = 200: the iterates of bf16 follow fp32's closely for the first steps and
    // both converge.
    const std::size_t n = 200;
    const Mat a = spd_matrix(n, 61);
    Vec b(n);
    for (std::size_t i = 0; i < n; ++i) b[i] = rng::normal(62, 0, i);
    const Vec xstar = solve(a, b);
    std::vector<float> x32(n, 0.0f), x16(n, 0.0f);
    cpu::Lbfgs<float> full(n, {1.0, 20});
    cpu::Lbfgs<float> half(n, bf16_options(20));
    double early_drift = 0;
    for (int k = 1; k <= 150; ++k) {
        for (auto [x, opt] : {std::pair{&x32, &full}, std::pair{&x16, &half}}) {
            const Vec g = quad_grad(a, b, Vec(x->begin(), x->end()));
            const std::vector<float> gf(g.begin(), g.end());
            opt->step(x->data(), gf.data());
        }
        if (k == 5) {
            const Vec v32(x32.begin(), x32.end()), v16(x16.begin(), x16.end());
            early_drift = max_abs_diff(v32, v16) / max_abs_diff(v32, Vec(n, 0.0));
        }
    }
    const double e32 = max_abs_diff(Vec(x32.begin(), x32.end()), xstar);
    const double e16 = max_abs_diff(Vec(x16.begin(), x16.end()), xstar);
    MESSAGE("quadratic n=200, 150 steps: |x - x*|_inf fp32 " << e32 << ", bf16 " << e16
                                                             << "; relative drift after 5 steps " << early_drift);
    CHECK(early_drift < 1e-2);
    CHECK(early_drift > 0);  // the rounding does change the iterates
    CHECK(e32 < 1e-4);
    CHECK(e16 < 1e-4);

    // Rosenbrock in float from (-1.2, 1).
    std::vector<float> x = {-1.2f, 1.0f};
    cpu::Lbfgs<float> opt(2, bf16_options(100));
    for (int k = 0; k < 200; ++k) {
        const Vec g = rosenbrock_grad(Vec(x.begin(), x.end()));
        const std::vector<float> gf(g.begin(), g.end());
        if (!opt.step(x.data(), gf.data())) break;
    }
    MESSAGE("Rosenbrock bf16 history after 200 steps: (" << x[0] << ", " << x[1] << ")");
    CHECK(max_abs_diff(Vec(x.begin(), x.end()), {1, 1}) < 1e-3);
}

TEST_CASE("lbfgs bf16: planned bytes halve the history and options are checked") {
    const std::size_t n = 3 * 8192 * 8192;
    const std::size_t f32 = cpu::Lbfgs<float>::planned_bytes(n, 100);
    CHECK(f32 == cpu::Lbfgs<float>::planned_bytes(n, 100, HistoryPrecision::Fp32));
    CHECK(f32 == 202 * n * 4);
    CHECK(cpu::Lbfgs<float>::planned_bytes(n, 100, HistoryPrecision::Bf16) == 200 * n * 2 + 2 * n * 4);
    CHECK(cpu::Lbfgs<float>::planned_bytes(n, 0, HistoryPrecision::Bf16) == cpu::Lbfgs<float>::planned_bytes(n, 0));
    CHECK_THROWS_AS(cpu::Lbfgs<double>(3, bf16_options(5)), Error);
    CHECK(parse_history_precision("bf16") == HistoryPrecision::Bf16);
    CHECK(parse_history_precision("fp32") == HistoryPrecision::Fp32);
    bool usage = false;
    try {
        parse_history_precision("fp16");
    } catch (const Error& e) {
        usage = e.code() == ExitCode::Usage;
    }
    CHECK(usage);
}
