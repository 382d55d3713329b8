// SPDX-License-Identifier: MIT
// Adam against its closed form, step by step, computed here in the textbook arrangement
// (m_hat = m / (1 - b1^t), v_hat = v / (1 - b2^t), x -= lr m_hat / (sqrt(v_hat) + eps)).
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "core/error.h"
#include "optim/adam.h"

using namespace nst;

// doctest::Approx compares with an absolute floor of epsilon (its scale defaults to 1), which
// would accept any small value; every comparison here is purely relative.
static doctest::Approx approx(double v) { return doctest::Approx(v).scale(0); }

TEST_CASE("adam: first step moves each coordinate by lr * sign(g)") {
    // t = 1: m_hat = g, v_hat = g^2, so the step is lr * g / (|g| + eps).
    std::vector<double> x = {1.0, -2.0, 0.5};
    const std::vector<double> g = {3.0, -0.25, 1e-3};
    cpu::Adam<double> opt(3, {0.1, 0.9, 0.999, 1e-8});
    opt.step(x.data(), g.data());
    CHECK(opt.iterations() == 1);
    CHECK(x[0] == approx(1.0 - 0.1 * 3.0 / (3.0 + 1e-8)).epsilon(1e-15));
    CHECK(x[1] == approx(-2.0 + 0.1 * 0.25 / (0.25 + 1e-8)).epsilon(1e-15));
    CHECK(x[2] == approx(0.5 - 0.1 * 1e-3 / (1e-3 + 1e-8)).epsilon(1e-15));
}

TEST_CASE("adam: three steps on f(x / y) = x^2 + 10 y^2 match the closed form") {
    const double lr = 0.05, b1 = 0.9, b2 = 0.999, eps = 1e-8;
    auto grad = [](const std::vector<double>& p) { return std::vector<double>{2 * p[0], 20 * p[1]}; };
    std::vector<double> x = {1.5, -0.7}, ref = x;
    double m[2] = {0, 0}, v[2] = {0, 0};
    cpu::Adam<double> opt(2, {lr, b1, b2, eps});
    std::vector<float> xf(x.begin(), x.end());
    cpu::Adam<float> optf(2, {lr, b1, b2, eps});
    for (int t = 1; t <= 3; ++t) {
        const std::vector<double> gr = grad(ref);
        for (int i = 0; i < 2; ++i) {
            m[i] = b1 * m[i] + (1 - b1) * gr[i];
            v[i] = b2 * v[i] + (1 - b2) * gr[i] * gr[i];
            const double m_hat = m[i] / (1 - std::pow(b1, t)), v_hat = v[i] / (1 - std::pow(b2, t));
            ref[i] -= lr * m_hat / (std::sqrt(v_hat) + eps);
        }
        const std::vector<double> g = grad(x);
        opt.step(x.data(), g.data());
        const std::vector<double> xfd(xf.begin(), xf.end());
        const std::vector<double> gd = grad(xfd);
        const std::vector<float> gf(gd.begin(), gd.end());
        optf.step(xf.data(), gf.data());
        CAPTURE(t);
        CHECK(x[0] == approx(ref[0]).epsilon(1e-14));
        CHECK(x[1] == approx(ref[1]).epsilon(1e-14));
        CHECK(xf[0] == approx(ref[0]).epsilon(1e-6));
        CHECK(xf[1] == approx(ref[1]).epsilon(1e-6));
    }
    CHECK(opt.iterations() == 3);
}

TEST_CASE("adam: a constant gradient moves by lr per step") {
    // g = c every step: m = c (1 - b1^t), v = c^2 (1 - b2^t), so m_hat = c and v_hat = c^2 at
    // every t (bias correction exact), and each step is lr * c / (|c| + eps).
    std::vector<double> x = {2.0};
    const std::vector<double> g = {-4.0};
    cpu::Adam<double> opt(1, {0.25, 0.9, 0.999, 1e-8});
    for (int t = 0; t < 3; ++t) opt.step(x.data(), g.data());
    CHECK(x[0] == approx(2.0 + 3 * 0.25 * 4.0 / (4.0 + 1e-8)).epsilon(1e-14));
}

TEST_CASE("adam: options are validated") {
    CHECK_THROWS_AS(cpu::Adam<double>(2, {0.0, 0.9, 0.999, 1e-8}), Error);
    CHECK_THROWS_AS(cpu::Adam<double>(2, {1.0, 1.0, 0.999, 1e-8}), Error);
}
