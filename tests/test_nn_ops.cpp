// SPDX-License-Identifier: MIT
// The layer-library ops (convolution, transposed convolution, instance norm, pooling, resample):
// every forward against a naive loop written here in double, every backward (data, weight, bias,
// gamma, beta) against central differences in double of <R, op(x)> for a random R, and the float
// fast paths (Winograd for 3x3 stride 1) against the double reference.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>

#include "core/rng.h"
#include "nn/convolution.h"
#include "nn/instance_norm.h"
#include "nn/pooling.h"
#include "nn/resample.h"
#include "test_util.h"

using namespace nst;
using nst::test::random_tensor;
using nst::test::rel_l2;

namespace {

double dot(const Tensor<double>& a, const Tensor<double>& b) {
    double s = 0;
    for (std::size_t i = 0; i < a.numel(); ++i) s += a[i] * b[i];
    return s;
}

// Checks `grad` = d f / d x at up to `count` coordinates of x spread over the tensor (all when
// x is small), by central differences (f is linear or smooth in every case here).
void check_fd(Tensor<double>& x, const std::function<double()>& f, const Tensor<double>& grad, const std::string& what,
              int count = 40) {
    REQUIRE(grad.numel() == x.numel());
    const std::size_t n = x.numel();
    const std::size_t step = std::max<std::size_t>(1, n / std::size_t(count));
    double worst = 0;
    for (std::size_t i = (n > std::size_t(count) ? 3 : 0) % n; i < n; i += step) {
        const double num = test::central_difference(f, x[i], 1e-6 * std::max(1.0, std::abs(x[i])));
        const double err = std::abs(num - grad[i]) / std::max({std::abs(num), std::abs(grad[i]), 1.0});
        worst = std::max(worst, err);
    }
    INFO(what);
    CHECK(worst < 1e-6);
}

int reflect(int i, int n) { return i < 0 ? -i : (i >= n ? 2 * (n - 1) - i : i); }

// x[n][c][y][x] with the padding convention (Reflect mirrors, Zero gives 0 outside).
double padded_at(const Tensor<double>& x, int n, int c, int y, int xx, PadMode mode) {
    const Shape& s = x.shape();
    if (mode == PadMode::Zero && (y < 0 || y >= s.h || xx < 0 || xx >= s.w)) return 0;
    return x.view().at(n, c, reflect(y, s.h), reflect(xx, s.w));
}

Tensor<double> naive_conv(const Tensor<double>& x, const Tensor<double>& w, const Tensor<double>* b,
                          const cpu::ConvGeometry& g) {
    const Shape xs = x.shape(), ws = w.shape();
    const int ho = (xs.h + 2 * g.pad - g.kernel) / g.stride + 1, wo = (xs.w + 2 * g.pad - g.kernel) / g.stride + 1;
    Tensor<double> y(Shape{xs.n, ws.n, ho, wo});
    for (int n = 0; n < xs.n; ++n)
        for (int o = 0; o < ws.n; ++o)
            for (int oy = 0; oy < ho; ++oy)
                for (int ox = 0; ox < wo; ++ox) {
                    double s = b ? (*b)[std::size_t(o)] : 0.0;
                    for (int i = 0; i < xs.c; ++i)
                        for (int ky = 0; ky < g.kernel; ++ky)
                            for (int kx = 0; kx < g.kernel; ++kx)
                                s += w.view().at(o, i, ky, kx) *
                                     padded_at(x, n, i, oy * g.stride - g.pad + ky, ox * g.stride - g.pad + kx, g.pad_mode);
                    y.view().at(n, o, oy, ox) = s;
                }
    return y;
}

Tensor<double> naive_conv_transpose(const Tensor<double>& x, const Tensor<double>& w, const Tensor<double>& b,
                                    int stride, int pad, int output_padding) {
    const Shape xs = x.shape(), ws = w.shape();
    const int k = ws.h;
    const int ho = (xs.h - 1) * stride - 2 * pad + k + output_padding, wo = (xs.w - 1) * stride - 2 * pad + k + output_padding;
    Tensor<double> y(Shape{xs.n, ws.c, ho, wo});
    for (int n = 0; n < xs.n; ++n)
        for (int o = 0; o < ws.c; ++o)
            for (int yy = 0; yy < ho; ++yy)
                for (int xx = 0; xx < wo; ++xx) y.view().at(n, o, yy, xx) = b[std::size_t(o)];
    for (int n = 0; n < xs.n; ++n)
        for (int i = 0; i < xs.c; ++i)
            for (int iy = 0; iy < xs.h; ++iy)
                for (int ix = 0; ix < xs.w; ++ix)
                    for (int o = 0; o < ws.c; ++o)
                        for (int ky = 0; ky < k; ++ky)
                            for (int kx = 0; kx < k; ++kx) {
                                const int yy = iy * stride - pad + ky, xx = ix * stride - pad + kx;
                                if (yy < 0 || yy >= ho || xx < 0 || xx >= wo) continue;
                                y.view().at(n, o, yy, xx) += x.view().at(n, i, iy, ix) * w.view().at(i, o, ky, kx);
                            }
    return y;
}

template <typename T>
Tensor<T> to(const Tensor<double>& t) {
    return cast<T, double>(t.cview());
}

}  // namespace

TEST_CASE("nn ops: convolution forward and backward against naive loops and finite differences") {
    struct Case {
        int k, s, p;
        PadMode mode;
    };
    const Case cases[] = {{3, 1, 1, PadMode::Zero}, {3, 1, 1, PadMode::Reflect}, {3, 2, 1, PadMode::Zero},
                          {3, 2, 1, PadMode::Reflect}, {3, 1, 0, PadMode::Zero}, {3, 2, 0, PadMode::Zero},
                          {1, 1, 0, PadMode::Zero},  {9, 1, 4, PadMode::Reflect}, {9, 1, 4, PadMode::Zero},
                          {3, 1, 2, PadMode::Reflect}};
    std::uint64_t seed = 10;
    for (const Case& c : cases) {
        cpu::ConvGeometry g;
        g.kernel = c.k;
        g.stride = c.s;
        g.pad = c.p;
        g.pad_mode = c.mode;
        const std::string what = "k " + std::to_string(c.k) + " s " + std::to_string(c.s) + " p " + std::to_string(c.p) +
                                 (c.mode == PadMode::Reflect ? " reflect" : " zero");
        CAPTURE(what);
        auto x = random_tensor<double>(Shape{2, 3, 11, 9}, ++seed);
        auto w = random_tensor<double>(Shape{4, 3, c.k, c.k}, ++seed);
        auto b = random_tensor<double>(Shape{1, 4, 1, 1}, ++seed);
        const Tensor<double> ref = naive_conv(x, w, &b, g);
        Tensor<double> y(ref.shape());
        cpu::conv2d_forward<double>(y, x, w, b, g);
        CHECK(rel_l2(y.data(), ref.data(), y.numel()) < 1e-13);
        // Float (Winograd where it applies) against the double reference.
        Tensor<float> yf(ref.shape());
        cpu::conv2d_forward<float>(yf, to<float>(x), to<float>(w), to<float>(b), g);
        CHECK(rel_l2(yf.data(), ref.data(), y.numel()) < 2e-6);

        auto r = random_tensor<double>(ref.shape(), ++seed);
        auto f = [&] {
            Tensor<double> out(ref.shape());
            cpu::conv2d_forward<double>(out, x, w, b, g);
            return dot(out, r);
        };
        Tensor<double> dx(x.shape());
        cpu::conv2d_backward_data<double>(dx, r, w, g);
        check_fd(x, f, dx, what + " dx");
        Tensor<float> dxf(x.shape());
        cpu::conv2d_backward_data<float>(dxf, to<float>(r), to<float>(w), g);
        CHECK(rel_l2(dxf.data(), dx.data(), dx.numel()) < 2e-6);
        // Parameter gradients accumulate: start from 0.5 and take it off again.
        auto dw = filled(w.shape(), 0.5);
        auto db = filled(b.shape(), 0.5);
        cpu::conv2d_backward_params<double>(dw, db, r, x, g);
        for (auto& v : dw) v -= 0.5;
        for (auto& v : db) v -= 0.5;
        check_fd(w, f, dw, what + " dw");
        check_fd(b, f, db, what + " db");
        auto dwf = filled(w.shape(), 0.0f);
        auto dbf = filled(b.shape(), 0.0f);
        cpu::conv2d_backward_params<float>(dwf, dbf, to<float>(r), to<float>(x), g);
        CHECK(rel_l2(dwf.data(), dw.data(), dw.numel()) < 1e-5);
        // Without a bias.
        cpu::conv2d_forward<double>(y, x, w, ConstView<double>(), g);
        const Tensor<double> ref_nb = naive_conv(x, w, nullptr, g);
        CHECK(rel_l2(y.data(), ref_nb.data(), y.numel()) < 1e-13);
    }
}

TEST_CASE("nn ops: float fast paths on wider layers match the double reference") {
    // More channels than the kernels' register blocks (tails included), odd sizes, batch 2: the
    // float Winograd path (same, unpadded, reflection-padded) and the direct 9x9 kernels (zero
    // and reflection padding), forward, data and weight gradients, against the exact double path.
    struct Case {
        int k, p;
        PadMode mode;
    };
    const Case cases[] = {{3, 0, PadMode::Zero}, {3, 1, PadMode::Zero}, {3, 1, PadMode::Reflect},
                          {9, 4, PadMode::Zero}, {9, 4, PadMode::Reflect}, {9, 0, PadMode::Zero}};
    std::uint64_t seed = 500;
    for (const Case& c : cases) {
        CAPTURE(c.k);
        CAPTURE(c.p);
        cpu::ConvGeometry g;
        g.kernel = c.k;
        g.pad = c.p;
        g.pad_mode = c.mode;
        auto x = random_tensor<double>(Shape{2, 19, 37, 83}, ++seed);
        auto w = random_tensor<double>(Shape{11, 19, c.k, c.k}, ++seed, -0.2, 0.2);
        auto b = random_tensor<double>(Shape{1, 11, 1, 1}, ++seed);
        const Tensor<double> ref = naive_conv(x, w, &b, g);
        Tensor<float> yf(ref.shape());
        cpu::conv2d_forward<float>(yf, to<float>(x), to<float>(w), to<float>(b), g);
        CHECK(rel_l2(yf.data(), ref.data(), ref.numel()) < 2e-6);
        auto r = random_tensor<double>(ref.shape(), ++seed);
        Tensor<double> dx(x.shape());
        cpu::conv2d_backward_data<double>(dx, r, w, g);
        Tensor<float> dxf(x.shape());
        cpu::conv2d_backward_data<float>(dxf, to<float>(r), to<float>(w), g);
        CHECK(rel_l2(dxf.data(), dx.data(), dx.numel()) < 2e-6);
        auto dw = filled(w.shape(), 0.0);
        auto db = filled(b.shape(), 0.0);
        cpu::conv2d_backward_params<double>(dw, db, r, x, g);
        auto dwf = filled(w.shape(), 0.0f);
        auto dbf = filled(b.shape(), 0.0f);
        cpu::conv2d_backward_params<float>(dwf, dbf, to<float>(r), to<float>(x), g);
        CHECK(rel_l2(dwf.data(), dw.data(), dw.numel()) < 1e-5);
        CHECK(rel_l2(dbf.data(), db.data(), db.numel()) < 1e-6);
    }
}

TEST_CASE("nn ops: transposed convolution against naive loops and finite differences") {
    struct Case {
        int k, s, p, op;
    };
    const Case cases[] = {{3, 2, 1, 1}, {3, 2, 1, 0}, {3, 1, 1, 0}, {4, 2, 1, 0}, {1, 1, 0, 0}};
    std::uint64_t seed = 40;
    for (const Case& c : cases) {
        const std::string what = "k " + std::to_string(c.k) + " s " + std::to_string(c.s) + " p " +
                                 std::to_string(c.p) + " op " + std::to_string(c.op);
        CAPTURE(what);
        auto x = random_tensor<double>(Shape{2, 3, 5, 7}, ++seed);
        auto w = random_tensor<double>(Shape{3, 4, c.k, c.k}, ++seed);
        auto b = random_tensor<double>(Shape{1, 4, 1, 1}, ++seed);
        const Tensor<double> ref = naive_conv_transpose(x, w, b, c.s, c.p, c.op);
        Tensor<double> y(ref.shape());
        cpu::conv_transpose2d_forward<double>(y, x, w, b, c.s, c.p);
        CHECK(rel_l2(y.data(), ref.data(), y.numel()) < 1e-13);
        Tensor<float> yf(ref.shape());
        cpu::conv_transpose2d_forward<float>(yf, to<float>(x), to<float>(w), to<float>(b), c.s, c.p);
        CHECK(rel_l2(yf.data(), ref.data(), y.numel()) < 2e-6);
        auto r = random_tensor<double>(ref.shape(), ++seed);
        auto f = [&] {
            Tensor<double> out(ref.shape());
            cpu::conv_transpose2d_forward<double>(out, x, w, b, c.s, c.p);
            return dot(out, r);
        };
        Tensor<double> dx(x.shape());
        cpu::conv_transpose2d_backward_data<double>(dx, r, w, c.s, c.p);
        check_fd(x, f, dx, what + " dx");
        auto dw = filled(w.shape(), 0.0);
        auto db = filled(b.shape(), 0.0);
        cpu::conv_transpose2d_backward_params<double>(dw, db, r, x, c.s, c.p);
        check_fd(w, f, dw, what + " dw");
        check_fd(b, f, db, what + " db");
    }
}

TEST_CASE("nn ops: instance norm against the definition and finite differences") {
    for (bool affine : {true, false}) {
        CAPTURE(affine);
        const Shape s{2, 3, 7, 5};
        auto x = random_tensor<double>(s, 71, -2, 3);
        auto gamma = random_tensor<double>(Shape{1, 3, 1, 1}, 72, 0.5, 1.5);
        auto beta = random_tensor<double>(Shape{1, 3, 1, 1}, 73);
        const ConstView<double> gv = affine ? gamma.cview() : ConstView<double>();
        const ConstView<double> bv = affine ? beta.cview() : ConstView<double>();
        const double eps = 1e-5;
        Tensor<double> y(s), mean(Shape{2, 3, 1, 1}), inv(Shape{2, 3, 1, 1});
        cpu::instance_norm_forward<double>(y, mean, inv, x, gv, bv, eps);
        double worst = 0;
        for (int n = 0; n < 2; ++n)
            for (int c = 0; c < 3; ++c) {
                double m = 0, v = 0;
                for (int i = 0; i < 35; ++i) m += x.view().at(n, c, i / 5, i % 5);
                m /= 35;
                for (int i = 0; i < 35; ++i) v += std::pow(x.view().at(n, c, i / 5, i % 5) - m, 2);
                v /= 35;  // biased
                for (int i = 0; i < 35; ++i) {
                    double e = (x.view().at(n, c, i / 5, i % 5) - m) / std::sqrt(v + eps);
                    if (affine) e = gamma[std::size_t(c)] * e + beta[std::size_t(c)];
                    worst = std::max(worst, std::abs(e - y.view().at(n, c, i / 5, i % 5)));
                }
            }
        CHECK(worst < 1e-12);
        Tensor<float> yf(s), mf(Shape{2, 3, 1, 1}), inf(Shape{2, 3, 1, 1});
        cpu::instance_norm_forward<float>(yf, mf, inf, to<float>(x), affine ? ConstView<float>(to<float>(gamma)) : ConstView<float>(),
                                          affine ? ConstView<float>(to<float>(beta)) : ConstView<float>(), eps);
        CHECK(rel_l2(yf.data(), y.data(), y.numel()) < 1e-6);

        auto r = random_tensor<double>(s, 74);
        auto f = [&] {
            Tensor<double> out(s), m(Shape{2, 3, 1, 1}), is(Shape{2, 3, 1, 1});
            cpu::instance_norm_forward<double>(out, m, is, x, gv, bv, eps);
            return dot(out, r);
        };
        Tensor<double> dx(s);
        auto dg = filled(Shape{1, 3, 1, 1}, 0.25), dbt = filled(Shape{1, 3, 1, 1}, 0.25);
        cpu::instance_norm_backward<double>(dx, affine ? dg.view() : TensorView<double>(),
                                            affine ? dbt.view() : TensorView<double>(), r, x, mean, inv, gv);
        check_fd(x, f, dx, "in dx", 70);
        if (affine) {
            for (auto& v : dg) v -= 0.25;
            for (auto& v : dbt) v -= 0.25;
            check_fd(gamma, f, dg, "in dgamma");
            check_fd(beta, f, dbt, "in dbeta");
        }
    }
}

TEST_CASE("nn ops: pooling in floor and ceil mode against naive loops and finite differences") {
    struct Case {
        int k, s;
        bool ceil;
    };
    const Case cases[] = {{2, 2, false}, {2, 2, true}, {3, 2, false}, {3, 2, true}, {3, 1, false}};
    for (const Case& c : cases)
        for (Pooling kind : {Pooling::Max, Pooling::Avg}) {
            const std::string what = "k " + std::to_string(c.k) + " s " + std::to_string(c.s) +
                                     (c.ceil ? " ceil" : " floor") + (kind == Pooling::Max ? " max" : " avg");
            CAPTURE(what);
            const Shape s{2, 2, 7, 10};
            // Distinct values (a shuffled ramp) so that no finite-difference step changes a maximum.
            Tensor<double> x(s);
            for (std::size_t i = 0; i < x.numel(); ++i) x[i] = double((i * 37) % x.numel()) * 0.01;
            // torch's sizes, written out: ceil adds stride - 1 before dividing, and drops a last
            // window that would start past the input.
            auto size = [&](int in) {
                int o = (in - c.k + (c.ceil ? c.s - 1 : 0)) / c.s + 1;
                if (c.ceil && (o - 1) * c.s >= in) --o;
                return o;
            };
            const int ho = size(s.h), wo = size(s.w);
            CHECK(cpu::pooled_size(s.h, c.k, c.s, c.ceil) == ho);
            CHECK(cpu::pooled_size(s.w, c.k, c.s, c.ceil) == wo);
            Tensor<double> ref(Shape{2, 2, ho, wo});
            for (int n = 0; n < 2; ++n)
                for (int ch = 0; ch < 2; ++ch)
                    for (int oy = 0; oy < ho; ++oy)
                        for (int ox = 0; ox < wo; ++ox) {
                            double acc = kind == Pooling::Max ? -1e300 : 0;
                            int cnt = 0;
                            for (int ky = 0; ky < c.k; ++ky)
                                for (int kx = 0; kx < c.k; ++kx) {
                                    const int yy = oy * c.s + ky, xx = ox * c.s + kx;
                                    if (yy >= s.h || xx >= s.w) continue;
                                    const double v = x.view().at(n, ch, yy, xx);
                                    acc = kind == Pooling::Max ? std::max(acc, v) : acc + v;
                                    ++cnt;
                                }
                            ref.view().at(n, ch, oy, ox) = kind == Pooling::Max ? acc : acc / cnt;
                        }
            Tensor<double> y(ref.shape());
            cpu::pool2d_forward<double>(y, x, c.k, c.s, c.ceil, kind);
            CHECK(rel_l2(y.data(), ref.data(), y.numel()) < 1e-14);
            auto r = random_tensor<double>(ref.shape(), 81);
            auto f = [&] {
                Tensor<double> out(ref.shape());
                cpu::pool2d_forward<double>(out, x, c.k, c.s, c.ceil, kind);
                return dot(out, r);
            };
            Tensor<double> dx(s);
            cpu::pool2d_backward<double>(dx, r, x, c.k, c.s, c.ceil, kind);
            check_fd(x, f, dx, what, 140);
        }
}

TEST_CASE("nn ops: upsample pad crop-add and tanh against definitions and finite differences") {
    const Shape s{2, 3, 5, 6};
    auto x = random_tensor<double>(s, 91);
    for (int f : {2, 3}) {
        Tensor<double> y(Shape{2, 3, 5 * f, 6 * f});
        cpu::upsample_nearest_forward<double>(y, x, f);
        bool ok = true;
        for (int n = 0; n < 2; ++n)
            for (int c = 0; c < 3; ++c)
                for (int yy = 0; yy < 5 * f; ++yy)
                    for (int xx = 0; xx < 6 * f; ++xx) ok = ok && y.view().at(n, c, yy, xx) == x.view().at(n, c, yy / f, xx / f);
        CHECK(ok);
        auto r = random_tensor<double>(y.shape(), 92);
        auto loss = [&] {
            Tensor<double> out(y.shape());
            cpu::upsample_nearest_forward<double>(out, x, f);
            return dot(out, r);
        };
        Tensor<double> dx(s);
        cpu::upsample_nearest_backward<double>(dx, r, f);
        check_fd(x, loss, dx, "upsample", 200);
    }
    for (PadMode mode : {PadMode::Zero, PadMode::Reflect}) {
        for (int p : {1, 2, 4}) {
            CAPTURE(p);
            Tensor<double> y(Shape{2, 3, 5 + 2 * p, 6 + 2 * p});
            cpu::pad_forward<double>(y, x, p, mode);
            double worst = 0;
            for (int n = 0; n < 2; ++n)
                for (int c = 0; c < 3; ++c)
                    for (int yy = 0; yy < y.shape().h; ++yy)
                        for (int xx = 0; xx < y.shape().w; ++xx)
                            worst = std::max(worst, std::abs(y.view().at(n, c, yy, xx) - padded_at(x, n, c, yy - p, xx - p, mode)));
            CHECK(worst == 0);
            auto r = random_tensor<double>(y.shape(), 93);
            auto loss = [&] {
                Tensor<double> out(y.shape());
                cpu::pad_forward<double>(out, x, p, mode);
                return dot(out, r);
            };
            Tensor<double> dx(s);
            cpu::pad_backward<double>(dx, r, p, mode);
            check_fd(x, loss, dx, "pad", 200);
        }
    }
    {
        auto src = random_tensor<double>(Shape{2, 3, 9, 10}, 94);
        Tensor<double> y(s);
        cpu::add_cropped_forward<double>(y, x, src);
        double worst = 0;
        for (int n = 0; n < 2; ++n)
            for (int c = 0; c < 3; ++c)
                for (int yy = 0; yy < 5; ++yy)
                    for (int xx = 0; xx < 6; ++xx)
                        worst = std::max(worst, std::abs(y.view().at(n, c, yy, xx) -
                                                         (x.view().at(n, c, yy, xx) + src.view().at(n, c, yy + 2, xx + 2))));
        CHECK(worst == 0);
        auto r = random_tensor<double>(s, 95);
        auto loss = [&] {
            Tensor<double> out(s);
            cpu::add_cropped_forward<double>(out, x, src);
            return dot(out, r);
        };
        auto ds = filled(src.shape(), 0.0);
        cpu::add_cropped_backward_source<double>(ds, r);
        check_fd(src, loss, ds, "crop-add source", 200);
    }
    {
        Tensor<double> y(s);
        cpu::tanh_forward<double>(y, x, 150);
        double worst = 0;
        for (std::size_t i = 0; i < x.numel(); ++i) worst = std::max(worst, std::abs(y[i] - 150 * std::tanh(x[i])));
        CHECK(worst < 1e-12);
        auto r = random_tensor<double>(s, 96);
        auto loss = [&] {
            Tensor<double> out(s);
            cpu::tanh_forward<double>(out, x, 150);
            return dot(out, r);
        };
        Tensor<double> dx(s);
        cpu::tanh_backward<double>(dx, r, y, 150);
        check_fd(x, loss, dx, "tanh", 200);
    }
}
