// SPDX-License-Identifier: MIT
// 3x3 convolution: Direct against a naive 7-loop convolution, backward-data against central
// differences (double), Winograd against Direct in double (exactness of the algorithm) and in
// float (its rounding error, measured and bounded).
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <vector>

#include "core/rng.h"
#include "nn/conv2d.h"
#include "nn/conv2d_impl.h"
#include "nn/relu.h"
#include "test_util.h"

using namespace nst;
using nst::test::random_tensor;
using nst::test::rel_l2;

namespace {

// y[o][y][x] = b[o] + sum_{i,ky,kx} w[o][i][ky][kx] x[i][y+ky-1][x+kx-1], zero padding.
Tensor<double> naive_conv(const Tensor<double>& x, const Tensor<double>& w, const Tensor<double>& b, bool relu) {
    const int in = x.shape().c, h = x.shape().h, wd = x.shape().w, out = w.shape().n;
    Tensor<double> y(Shape{1, out, h, wd});
    for (int o = 0; o < out; ++o)
        for (int yy = 0; yy < h; ++yy)
            for (int xx = 0; xx < wd; ++xx) {
                double s = b.empty() ? 0.0 : b[o];
                for (int i = 0; i < in; ++i)
                    for (int ky = 0; ky < 3; ++ky)
                        for (int kx = 0; kx < 3; ++kx) {
                            const int sy = yy + ky - 1, sx = xx + kx - 1;
                            if (sy < 0 || sy >= h || sx < 0 || sx >= wd) continue;
                            s += w[((std::size_t(o) * in + i) * 3 + ky) * 3 + kx] * x.view().at(0, i, sy, sx);
                        }
                y.view().at(0, o, yy, xx) = relu && s < 0 ? 0.0 : s;
            }
    return y;
}

// dx[i][sy][sx] = sum over (o, y, x, ky, kx) with y + ky - 1 = sy, x + kx - 1 = sx of w dy.
Tensor<double> naive_backward(const Tensor<double>& dy, const Tensor<double>& w) {
    const int out = dy.shape().c, h = dy.shape().h, wd = dy.shape().w, in = w.shape().c;
    Tensor<double> dx = filled(Shape{1, in, h, wd}, 0.0);
    for (int o = 0; o < out; ++o)
        for (int yy = 0; yy < h; ++yy)
            for (int xx = 0; xx < wd; ++xx)
                for (int i = 0; i < in; ++i)
                    for (int ky = 0; ky < 3; ++ky)
                        for (int kx = 0; kx < 3; ++kx) {
                            const int sy = yy + ky - 1, sx = xx + kx - 1;
                            if (sy < 0 || sy >= h || sx < 0 || sx >= wd) continue;
                            dx.view().at(0, i, sy, sx) +=
                                w[((std::size_t(o) * in + i) * 3 + ky) * 3 + kx] * dy.view().at(0, o, yy, xx);
                        }
    return dx;
}

struct ConvCase {
    int in, out, h, w;
};

template <typename T>
Tensor<T> he_weights(int out, int in, std::uint64_t seed) {
    Tensor<T> w(Shape{out, in, 3, 3});
    const double sd = std::sqrt(2.0 / (out * 9.0));
    for (std::size_t j = 0; j < w.numel(); ++j) w[j] = T(sd * rng::normal(seed, 5, j));
    return w;
}

}  // namespace

TEST_CASE("conv: direct forward matches a naive convolution (double)") {
    // Odd and even sizes, channel counts that do and do not fill the GEMM blocks.
    const ConvCase cases[] = {{3, 8, 7, 5}, {5, 3, 1, 1}, {4, 6, 2, 9}, {16, 24, 11, 10}};
    for (const auto& cc : cases) {
        CAPTURE(cc.in);
        CAPTURE(cc.out);
        CAPTURE(cc.h);
        CAPTURE(cc.w);
        auto x = random_tensor<double>(Shape{1, cc.in, cc.h, cc.w}, 11);
        auto w = random_tensor<double>(Shape{cc.out, cc.in, 3, 3}, 12);
        auto b = random_tensor<double>(Shape{1, cc.out, 1, 1}, 13);
        for (bool relu : {false, true}) {
            auto ref = naive_conv(x, w, b, relu);
            auto y = filled(ref.shape(), std::nan(""));
            cpu::conv3x3_forward<double>(y.view(), x.cview(), w.cview(), b.cview(), relu, cpu::ConvAlgo::Direct);
            CHECK(rel_l2(y.data(), ref.data(), y.numel()) < 1e-14);
        }
        // Backward-data against the naive transposed convolution.
        auto dy = random_tensor<double>(Shape{1, cc.out, cc.h, cc.w}, 14);
        auto ref = naive_backward(dy, w);
        auto dx = filled(ref.shape(), std::nan(""));
        cpu::conv3x3_backward_data<double>(dx.view(), dy.cview(), w.cview(), cpu::ConvAlgo::Direct);
        CHECK(rel_l2(dx.data(), ref.data(), dx.numel()) < 1e-14);
    }
}

TEST_CASE("conv: backward-data matches central differences (double)") {
    // L(x) = <R, conv(x)>; dL/dx = conv3x3_backward_data(R). Checked on a random subset.
    const int in = 5, out = 7, h = 9, wd = 6;
    auto x = random_tensor<double>(Shape{1, in, h, wd}, 21);
    auto w = random_tensor<double>(Shape{out, in, 3, 3}, 22);
    auto b = random_tensor<double>(Shape{1, out, 1, 1}, 23);
    auto r = random_tensor<double>(Shape{1, out, h, wd}, 24);
    Tensor<double> y(Shape{1, out, h, wd});
    auto loss = [&]() {
        cpu::conv3x3_forward<double>(y.view(), x.cview(), w.cview(), b.cview(), false, cpu::ConvAlgo::Direct);
        double s = 0;
        for (std::size_t j = 0; j < y.numel(); ++j) s += r[j] * y[j];
        return s;
    };
    for (auto algo : {cpu::ConvAlgo::Direct, cpu::ConvAlgo::Winograd}) {
        Tensor<double> dx(x.shape());
        cpu::conv3x3_backward_data<double>(dx.view(), r.cview(), w.cview(), algo);
        int checked = 0;
        for (std::size_t j = 0; j < x.numel(); j += 1 + std::size_t(rng::uniform(25, 0, j) * 4)) {
            const double eps = 1e-6 * std::max(1.0, std::abs(x[j]));
            const double fd = nst::test::central_difference(loss, x[j], eps);
            CHECK(std::abs(fd - dx[j]) <= 1e-6 * std::max({std::abs(fd), std::abs(dx[j]), 1.0}));
            ++checked;
        }
        CHECK(checked > 50);
    }
}

TEST_CASE("conv: winograd matches direct in double") {
    // Sizes that leave partial tiles at the right and bottom edges, tile rows that split across
    // chunks, groups of 16 tiles away from the left and right borders (w >= 66), output
    // channels that are not a multiple of the micro-kernel block, conv1_1's 3 channels, and
    // more input channels than one GEMM pass takes (with a partial last pass).
    const ConvCase cases[] = {{16, 16, 5, 7},   {16, 20, 1, 1},   {32, 64, 33, 18}, {64, 24, 64, 64},
                              {128, 128, 9, 9}, {16, 16, 7, 131}, {3, 64, 17, 21},  // conv1_1-like
                              {200, 40, 9, 11}};  // input channels split into GEMM passes of 128
    for (const auto& cc : cases) {
        CAPTURE(cc.in);
        CAPTURE(cc.out);
        CAPTURE(cc.h);
        CAPTURE(cc.w);
        auto x = random_tensor<double>(Shape{1, cc.in, cc.h, cc.w}, 31);
        auto w = he_weights<double>(cc.out, cc.in, 32);
        auto b = random_tensor<double>(Shape{1, cc.out, 1, 1}, 33);
        for (bool relu : {false, true}) {
            Tensor<double> ref(Shape{1, cc.out, cc.h, cc.w});
            auto y = filled(ref.shape(), std::nan(""));
            cpu::conv3x3_forward<double>(ref.view(), x.cview(), w.cview(), b.cview(), relu, cpu::ConvAlgo::Direct);
            cpu::conv3x3_forward<double>(y.view(), x.cview(), w.cview(), b.cview(), relu, cpu::ConvAlgo::Winograd);
            CHECK(rel_l2(y.data(), ref.data(), y.numel()) < 1e-12);
        }
        auto dy = random_tensor<double>(Shape{1, cc.out, cc.h, cc.w}, 34);
        Tensor<double> ref(x.shape());
        auto dx = filled(x.shape(), std::nan(""));
        cpu::conv3x3_backward_data<double>(ref.view(), dy.cview(), w.cview(), cpu::ConvAlgo::Direct);
        cpu::conv3x3_backward_data<double>(dx.view(), dy.cview(), w.cview(), cpu::ConvAlgo::Winograd);
        CHECK(rel_l2(dx.data(), ref.data(), dx.numel()) < 1e-12);
    }
}

TEST_CASE("conv: float winograd and direct stay close to double") {
    // VGG-like layer: He weights, inputs like ReLU features (non-negative, heavy-ish tail).
    // Measured on the development machine (rel L2 vs double): Direct 3.6e-7 (OpenBLAS sums
    // K = 1152 products in long chains), Winograd 2.8e-7 forward and 3.6e-7 backward.
    // The bounds leave a 3x margin; a real bug gives errors of order 1.
    const int in = 128, out = 128, h = 24, wd = 20;
    auto xd = random_tensor<double>(Shape{1, in, h, wd}, 41, 0.0, 2.0);
    auto wd_ = he_weights<double>(out, in, 42);
    auto bd = random_tensor<double>(Shape{1, out, 1, 1}, 43, -0.1, 0.1);
    auto xf = cast<float, double>(xd.cview());
    auto wf = cast<float, double>(wd_.cview());
    auto bf = cast<float, double>(bd.cview());
    // Reference: double direct on the float-rounded inputs, so only the float arithmetic differs.
    auto xr = cast<double, float>(xf.cview());
    auto wr = cast<double, float>(wf.cview());
    auto br = cast<double, float>(bf.cview());
    Tensor<double> ref(Shape{1, out, h, wd});
    cpu::conv3x3_forward<double>(ref.view(), xr.cview(), wr.cview(), br.cview(), false, cpu::ConvAlgo::Direct);
    double err[2];
    int k = 0;
    for (auto algo : {cpu::ConvAlgo::Direct, cpu::ConvAlgo::Winograd}) {
        Tensor<float> y(ref.shape());
        cpu::conv3x3_forward<float>(y.view(), xf.cview(), wf.cview(), bf.cview(), false, algo);
        err[k++] = rel_l2(y.data(), ref.data(), y.numel());
    }
    MESSAGE("float conv rel L2 vs double: direct " << err[0] << ", winograd " << err[1]);
    CHECK(err[0] < 1.1e-6);
    CHECK(err[1] < 9e-7);
    // Backward in float.
    auto dyd = random_tensor<double>(Shape{1, out, h, wd}, 44);
    auto dyf = cast<float, double>(dyd.cview());
    auto dyr = cast<double, float>(dyf.cview());
    Tensor<double> dref(xd.shape());
    cpu::conv3x3_backward_data<double>(dref.view(), dyr.cview(), wr.cview(), cpu::ConvAlgo::Direct);
    Tensor<float> dx(xd.shape());
    cpu::conv3x3_backward_data<float>(dx.view(), dyf.cview(), wf.cview(), cpu::ConvAlgo::Winograd);
    const double berr = rel_l2(dx.data(), dref.data(), dx.numel());
    MESSAGE("float winograd backward rel L2 vs double: " << berr);
    CHECK(berr < 1.1e-6);
}

TEST_CASE("conv: layer with cached filters applies the ReLU-backward mask") {
    // Conv3x3Layer::backward(dx, dy, mask) = relu_backward(conv^T(dy), mask), both algorithms.
    const int in = 24, out = 32, h = 13, wd = 10;
    auto w = random_tensor<float>(Shape{out, in, 3, 3}, 51);
    auto b = random_tensor<float>(Shape{1, out, 1, 1}, 52);
    auto dy = random_tensor<double>(Shape{1, out, h, wd}, 53);
    auto mask = random_tensor<double>(Shape{1, in, h, wd}, 54);
    auto wd_ = cast<double, float>(w.cview());
    Tensor<double> ref(Shape{1, in, h, wd});
    cpu::conv3x3_backward_data<double>(ref.view(), dy.cview(), wd_.cview(), cpu::ConvAlgo::Direct);
    cpu::relu_backward<double>(ref.view(), ref.cview(), mask.cview());
    for (auto algo : {cpu::ConvAlgo::Direct, cpu::ConvAlgo::Winograd}) {
        cpu::detail::Conv3x3Layer<double> layer(w.cview(), b.cview(), algo);
        auto dx = filled(ref.shape(), std::nan(""));
        layer.backward(dx.view(), dy.cview(), mask.data());
        CHECK(rel_l2(dx.data(), ref.data(), dx.numel()) < 1e-12);
    }
}

TEST_CASE("conv: shape mismatches are rejected") {
    Tensor<float> x(Shape{1, 4, 5, 5}), y(Shape{1, 6, 5, 5}), w(Shape{6, 3, 3, 3}), b(Shape{1, 6, 1, 1});
    CHECK_THROWS_AS(cpu::conv3x3_forward<float>(y.view(), x.cview(), w.cview(), b.cview(), false), Error);
    Tensor<float> y2(Shape{1, 6, 4, 5}), w2(Shape{6, 4, 3, 3});
    CHECK_THROWS_AS(cpu::conv3x3_forward<float>(y2.view(), x.cview(), w2.cview(), b.cview(), false), Error);
}
