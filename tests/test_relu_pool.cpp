// SPDX-License-Identifier: MIT
// ReLU and 2x2 pooling: forward against their definitions, backward against central
// differences in double (inputs kept away from ReLU's kink and from max-pool ties), and the
// window-coded pool (pool + ReLU backward in one) against the two uncoded calls.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/rng.h"
#include "nn/pool.h"
#include "nn/relu.h"
#include "test_util.h"

using namespace nst;
using nst::test::random_tensor;

namespace {

// Values in +-[0.1, 1]: no value within 0.1 of ReLU's kink at 0.
Tensor<double> away_from_zero(Shape s, std::uint64_t seed) {
    auto t = random_tensor<double>(s, seed, 0.1, 1.0);
    for (std::size_t i = 0; i < t.numel(); ++i)
        if (rng::uniform(seed, 1, i) < 0.5) t[i] = -t[i];
    return t;
}

// A random permutation of 0..n-1, scaled: no two values closer than 1e-3, so eps = 1e-6 steps
// never change which element of a window is the maximum.
Tensor<double> distinct_values(Shape s, std::uint64_t seed) {
    Tensor<double> t(s);
    const std::size_t n = t.numel();
    for (std::size_t i = 0; i < n; ++i) t[i] = double(i);
    for (std::size_t i = n - 1; i > 0; --i) std::swap(t[i], t[std::size_t(rng::uniform(seed, 2, i) * double(i + 1))]);
    for (std::size_t i = 0; i < n; ++i) t[i] = (t[i] - 0.5 * n) * 1e-3;
    return t;
}

double dot(const Tensor<double>& a, const Tensor<double>& b) {
    double s = 0;
    for (std::size_t i = 0; i < a.numel(); ++i) s += a[i] * b[i];
    return s;
}

bool fd_close(double fd, double an) { return std::abs(fd - an) <= 1e-6 * std::max({std::abs(fd), std::abs(an), 1.0}); }

}  // namespace

TEST_CASE("relu: forward and backward (double / finite differences)") {
    const Shape s{1, 3, 5, 7};
    auto x = away_from_zero(s, 1);
    auto r = random_tensor<double>(s, 2);
    Tensor<double> y(s);
    cpu::relu_forward<double>(y.view(), x.cview());
    for (std::size_t i = 0; i < x.numel(); ++i) CHECK(y[i] == std::max(x[i], 0.0));
    auto loss = [&]() {
        cpu::relu_forward<double>(y.view(), x.cview());
        return dot(r, y);
    };
    loss();
    Tensor<double> dx(s);
    cpu::relu_backward<double>(dx.view(), r.cview(), y.cview());
    for (std::size_t i = 0; i < x.numel(); ++i) {
        const double fd = nst::test::central_difference(loss, x[i], 1e-6 * std::max(1.0, std::abs(x[i])));
        CHECK(fd_close(fd, dx[i]));
    }
    // In place (dx aliases dy), as the network uses it.
    Tensor<double> g = r.clone();
    loss();
    cpu::relu_backward<double>(g.view(), g.cview(), y.cview());
    for (std::size_t i = 0; i < x.numel(); ++i) CHECK(g[i] == dx[i]);
}

TEST_CASE("pool: forward matches the definition / floor mode") {
    for (auto shape : {Shape{1, 2, 4, 6}, Shape{1, 3, 5, 7}, Shape{1, 1, 3, 2}}) {
        CAPTURE(shape.str());
        auto x = random_tensor<double>(shape, 3);
        Tensor<double> ymax(Shape{1, shape.c, shape.h / 2, shape.w / 2}), yavg(ymax.shape());
        cpu::pool2x2_forward<double>(ymax.view(), x.cview(), Pooling::Max);
        cpu::pool2x2_forward<double>(yavg.view(), x.cview(), Pooling::Avg);
        for (int c = 0; c < shape.c; ++c)
            for (int oy = 0; oy < shape.h / 2; ++oy)
                for (int ox = 0; ox < shape.w / 2; ++ox) {
                    const auto xv = x.view();
                    const double a = xv.at(0, c, 2 * oy, 2 * ox), b = xv.at(0, c, 2 * oy, 2 * ox + 1);
                    const double d = xv.at(0, c, 2 * oy + 1, 2 * ox), e = xv.at(0, c, 2 * oy + 1, 2 * ox + 1);
                    CHECK(ymax.view().at(0, c, oy, ox) == std::max({a, b, d, e}));
                    CHECK(yavg.view().at(0, c, oy, ox) == doctest::Approx((a + b + d + e) / 4).epsilon(1e-15));
                }
    }
}

TEST_CASE("pool: backward matches central differences (double / odd sizes)") {
    for (auto kind : {Pooling::Max, Pooling::Avg}) {
        for (auto shape : {Shape{1, 2, 6, 4}, Shape{1, 3, 7, 5}}) {
            CAPTURE(int(kind));
            CAPTURE(shape.str());
            auto x = distinct_values(shape, 4);
            const Shape ys{1, shape.c, shape.h / 2, shape.w / 2};
            auto r = random_tensor<double>(ys, 5);
            Tensor<double> y(ys);
            auto loss = [&]() {
                cpu::pool2x2_forward<double>(y.view(), x.cview(), kind);
                return dot(r, y);
            };
            auto dx = filled(shape, std::nan(""));
            cpu::pool2x2_backward<double>(dx.view(), r.cview(), x.cview(), kind);
            for (std::size_t i = 0; i < x.numel(); ++i) {
                const double fd = nst::test::central_difference(loss, x[i], 1e-6 * std::max(1.0, std::abs(x[i])));
                CHECK(fd_close(fd, dx[i]));
            }
        }
    }
}

TEST_CASE("pool: max backward routes ties to the first maximum in row-major order") {
    // PyTorch's rule: with equal values the gradient goes to the first one (top-left first).
    Tensor<double> x(Shape{1, 1, 2, 4});
    const double v[8] = {1, 2, 5, 0,   // window 0: max 2 at (1, 0) tie with (0, 1) -> (0, 1)
                         2, 2, 5, 5};  // window 1: max 5 at (0, 2), (1, 2), (1, 3) -> (0, 2)
    for (int i = 0; i < 8; ++i) x[i] = v[i];
    Tensor<double> dy(Shape{1, 1, 1, 2});
    dy[0] = 10;
    dy[1] = 20;
    Tensor<double> dx(x.shape());
    cpu::pool2x2_backward<double>(dx.view(), dy.cview(), x.cview(), Pooling::Max);
    const double expect[8] = {0, 10, 20, 0, 0, 0, 0, 0};
    for (int i = 0; i < 8; ++i) CHECK(dx[i] == expect[i]);
}

TEST_CASE("pool: float matches double") {
    const Shape s{1, 16, 9, 11};
    auto xd = random_tensor<double>(s, 6);
    auto xf = cast<float, double>(xd.cview());
    auto gd = random_tensor<double>(Shape{1, 16, 4, 5}, 7);
    auto gf = cast<float, double>(gd.cview());
    for (auto kind : {Pooling::Max, Pooling::Avg}) {
        Tensor<double> yd(gd.shape()), dxd(s);
        Tensor<float> yf(gd.shape()), dxf(s);
        cpu::pool2x2_forward<double>(yd.view(), cast<double, float>(xf.cview()).cview(), kind);
        cpu::pool2x2_forward<float>(yf.view(), xf.cview(), kind);
        CHECK(nst::test::rel_l2(yf.data(), yd.data(), yd.numel()) < 1e-7);
        cpu::pool2x2_backward<double>(dxd.view(), cast<double, float>(gf.cview()).cview(),
                                      cast<double, float>(xf.cview()).cview(), kind);
        cpu::pool2x2_backward<float>(dxf.view(), gf.cview(), xf.cview(), kind);
        CHECK(nst::test::rel_l2(dxf.data(), dxd.data(), dxd.numel()) < 1e-7);
    }
}

TEST_CASE("pool: window codes reproduce pool and ReLU backward bit for bit") {
    // x as a ReLU output: a third zeros (all-zero windows, zero maxima), and values drawn from a
    // few levels so that windows hold exact ties. Odd sizes leave a row and a column outside.
    const Shape s{1, 5, 9, 11};
    const Shape ys{1, 5, 4, 5};
    Tensor<float> x(s);
    for (std::size_t i = 0; i < x.numel(); ++i) {
        const double u = rng::uniform(20, 0, i);
        x[i] = u < 0.35 ? 0.0f : float(int(u * 4)) * 0.5f;
    }
    auto dy = cast<float, double>(random_tensor<double>(ys, 21).cview());
    for (auto kind : {Pooling::Max, Pooling::Avg}) {
        CAPTURE(int(kind));
        Tensor<float> y(ys), y_coded(ys), ref(s);
        Tensor<std::uint8_t> code(ys);
        cpu::pool2x2_forward<float>(y.view(), x.cview(), kind);
        cpu::pool2x2_forward_coded<float>(y_coded.view(), code.view(), x.cview(), kind);
        CHECK(std::equal(y.begin(), y.end(), y_coded.begin()));
        cpu::pool2x2_backward<float>(ref.view(), dy.cview(), x.cview(), kind);
        cpu::relu_backward<float>(ref.view(), ref.cview(), x.cview());
        auto dx = filled(s, std::nanf(""));
        cpu::pool2x2_backward_coded<float>(dx.view(), dy.cview(), code.cview(), kind);
        CHECK(std::memcmp(dx.data(), ref.data(), ref.numel() * sizeof(float)) == 0);
        std::size_t nonzero = 0;
        for (float v : ref) nonzero += v != 0.0f;
        CHECK(nonzero > ref.numel() / 8);  // the comparison is not between zeros
    }
    // The codes themselves on hand-made windows (max pooling): a tie goes to the first
    // maximum, a window whose maximum is 0 passes nothing on.
    Tensor<float> w(Shape{1, 1, 2, 6});
    const float v[12] = {1, 2, 0, 0, 3, 0,   // windows (1 2 / 2 0) -> b, (0 0 / 0 0) -> none,
                         2, 0, 0, 0, 3, 3};  // (3 0 / 3 3) -> a
    std::copy(v, v + 12, w.begin());
    Tensor<float> wy(Shape{1, 1, 1, 3});
    Tensor<std::uint8_t> wc(wy.shape());
    cpu::pool2x2_forward_coded<float>(wy.view(), wc.view(), w.cview(), Pooling::Max);
    CHECK(int(wc[0]) == 2);
    CHECK(int(wc[1]) == 0);
    CHECK(int(wc[2]) == 1);
    cpu::pool2x2_forward_coded<float>(wy.view(), wc.view(), w.cview(), Pooling::Avg);
    CHECK(int(wc[0]) == 1 + 2 + 4);
    CHECK(int(wc[1]) == 0);
    CHECK(int(wc[2]) == 1 + 4 + 8);
}

TEST_CASE("pool: shape mismatches are rejected") {
    Tensor<float> x(Shape{1, 2, 5, 5}), y(Shape{1, 2, 3, 2});
    CHECK_THROWS_AS(cpu::pool2x2_forward<float>(y.view(), x.cview(), Pooling::Max), Error);
}
