// SPDX-License-Identifier: MIT
// Temporal loss (loss/temporal_loss.h): value and gradient against a direct double loop of the
// papers' formula, gradient by central differences in double, zero weights, the unit conversion
// through the real preprocessing, and long-term weights on hand-made masks (video.md §1.3).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "core/error.h"
#include "io/preprocess.h"
#include "loss/temporal_loss.h"
#include "test_util.h"

using namespace nst;

namespace {

constexpr int kC = 3, kH = 13, kW = 17;  // odd sizes: rows cross no chunk boundary evenly

// gamma * (1/D) * sum_j sum_k c_{j,k} * u_c^2 * (x_k - w_{j,k})^2 as video.md §1.1 writes it, with
// u_c given per channel, and its gradient 2 gamma/D u_c^2 sum_j c (x - w): plain nested loops.
template <typename T>
double direct_value(const Tensor<T>& x, const std::vector<Tensor<T>>& warped, const std::vector<Tensor<T>>& weight,
                    double gamma, const double* u, std::vector<double>* grad) {
    const int c_n = x.shape().c, h = x.shape().h, w = x.shape().w;
    const double d = double(c_n) * h * w;
    double sum = 0;
    if (grad) grad->assign(x.numel(), 0.0);
    for (std::size_t j = 0; j < warped.size(); ++j)
        for (int c = 0; c < c_n; ++c)
            for (int i = 0; i < h; ++i)
                for (int k = 0; k < w; ++k) {
                    const std::size_t e = (std::size_t(c) * h + i) * w + k;
                    const double cw = double(weight[j].data()[std::size_t(i) * w + k]);
                    const double diff = double(x.data()[e]) - double(warped[j].data()[e]);
                    sum += cw * u[c] * u[c] * diff * diff;
                    if (grad) (*grad)[e] += 2 * gamma / d * cw * u[c] * u[c] * diff;
                }
    return gamma / d * sum;
}

template <typename T>
std::vector<TemporalTarget<T>> targets_of(const std::vector<Tensor<T>>& warped, const std::vector<Tensor<T>>& weight) {
    std::vector<TemporalTarget<T>> t;
    for (std::size_t j = 0; j < warped.size(); ++j) t.push_back({warped[j].cview(), weight[j].cview()});
    return t;
}

template <typename T>
void check_against_direct_formula() {
    const Shape shape{1, kC, kH, kW}, plane{1, 1, kH, kW};
    const Tensor<T> x = test::random_tensor<T>(shape, 1, -120, 120);
    std::vector<Tensor<T>> warped, weight;
    for (int j = 0; j < 3; ++j) {
        warped.push_back(test::random_tensor<T>(shape, 10 + j, -120, 120));
        weight.push_back(test::random_tensor<T>(plane, 20 + j, 0, 1));
    }
    const double gamma = 1e3;
    const double u[3] = {256.0 / 255, 256.0 / 255, 256.0 / 255};  // caffe at S = 255
    std::vector<double> g_ref;
    const double ref = direct_value(x, warped, weight, gamma, u, &g_ref);

    const std::vector<double> s = temporal_channel_scales(PreprocessKind::Caffe, 255, gamma, kC, kH, kW);
    Tensor<T> dx = test::random_tensor<T>(shape, 30, -1, 1);  // += onto an existing gradient
    const Tensor<T> dx0 = test::random_tensor<T>(shape, 30, -1, 1);
    const double value = cpu::temporal_loss<T>(x.cview(), targets_of(warped, weight), s, dx.view());
    const double rel = std::fabs(value - ref) / ref;
    double grad_err = 0, grad_max = 0;
    for (std::size_t e = 0; e < x.numel(); ++e) {
        grad_err = std::max(grad_err, std::fabs((double(dx.data()[e]) - double(dx0.data()[e])) - g_ref[e]));
        grad_max = std::max(grad_max, std::fabs(g_ref[e]));
    }
    MESSAGE("value rel err " << rel << ", gradient max err / max " << grad_err / grad_max);
    CHECK(rel <= 1e-12);
    // float: the gradient element is rounded once to float and then added to dx.
    CHECK(grad_err / grad_max <= (sizeof(T) == 4 ? 1e-6 : 1e-13));

    // Value only: same value, bit for bit.
    CHECK(cpu::temporal_loss<T>(x.cview(), targets_of(warped, weight), s, TensorView<T>()) == value);
}

}  // namespace

TEST_CASE("temporal loss: value and gradient against the direct formula (float and double)") {
    check_against_direct_formula<float>();
    check_against_direct_formula<double>();
}

TEST_CASE("temporal loss: gradient by central finite differences in double") {
    const Shape shape{1, kC, 6, 7}, plane{1, 1, 6, 7};
    Tensor<double> x = test::random_tensor<double>(shape, 2, -2, 2);
    std::vector<Tensor<double>> warped, weight;
    for (int j = 0; j < 2; ++j) {
        warped.push_back(test::random_tensor<double>(shape, 40 + j, -2, 2));
        weight.push_back(test::random_tensor<double>(plane, 50 + j, 0, 1));
    }
    const std::vector<double> s = temporal_channel_scales(PreprocessKind::Torchvision, 255, 7.5, kC, 6, 7);
    const auto targets = targets_of(warped, weight);
    Tensor<double> dx(shape);
    std::fill(dx.begin(), dx.end(), 0.0);
    cpu::temporal_loss<double>(x.cview(), targets, s, dx.view());
    const auto f = [&] { return cpu::temporal_loss<double>(x.cview(), targets, s, TensorView<double>()); };
    double worst = 0, gmax = 0;
    for (std::size_t e = 0; e < x.numel(); ++e) gmax = std::max(gmax, std::fabs(dx.data()[e]));
    for (std::size_t e = 0; e < x.numel(); ++e) {
        const double gn = test::central_difference(f, x.data()[e], 1e-5);
        worst = std::max(worst, std::fabs(gn - dx.data()[e]) / gmax);
    }
    MESSAGE("finite differences: max |ga - gn| / max |ga| = " << worst << " over " << x.numel() << " coordinates");
    CHECK(worst <= 1e-7);
}

TEST_CASE("temporal loss: zero weight map gives zero") {
    const Shape shape{1, kC, kH, kW}, plane{1, 1, kH, kW};
    const Tensor<float> x = test::random_tensor<float>(shape, 3, -100, 100);
    const Tensor<float> w1 = test::random_tensor<float>(shape, 4, -100, 100);
    const Tensor<float> w2 = test::random_tensor<float>(shape, 5, -100, 100);
    const Tensor<float> c1 = test::random_tensor<float>(plane, 6, 0, 1);
    Tensor<float> zero(plane);
    std::fill(zero.begin(), zero.end(), 0.f);
    const std::vector<double> s = temporal_channel_scales(PreprocessKind::Caffe, 256, 1e3, kC, kH, kW);

    Tensor<float> dx(shape);
    std::fill(dx.begin(), dx.end(), 0.f);
    CHECK(cpu::temporal_loss<float>(x.cview(), {{w1.cview(), zero.cview()}}, s, dx.view()) == 0.0);
    CHECK(std::all_of(dx.begin(), dx.end(), [](float v) { return v == 0.f; }));

    // A zero-weighted target beside another changes nothing, bit for bit.
    Tensor<float> da(shape), db(shape);
    std::fill(da.begin(), da.end(), 0.f);
    std::fill(db.begin(), db.end(), 0.f);
    const double a = cpu::temporal_loss<float>(x.cview(), {{w1.cview(), c1.cview()}}, s, da.view());
    const double b = cpu::temporal_loss<float>(x.cview(), {{w1.cview(), c1.cview()}, {w2.cview(), zero.cview()}}, s,
                                               db.view());
    CHECK(a > 0);
    CHECK(a == b);
    CHECK(std::equal(da.begin(), da.end(), db.begin()));
    // No targets at all: 0, nothing written.
    CHECK(cpu::temporal_loss<float>(x.cview(), {}, s, dx.view()) == 0.0);
    CHECK(std::all_of(dx.begin(), dx.end(), [](float v) { return v == 0.f; }));
}

TEST_CASE("temporal loss: the papers' weight means the same on every preprocessing") {
    // Two RGB frames in [0, 1]; the reference code's loss is gamma/D sum c (256 (a - b))^2 over
    // RGB. Each of nst's input spaces (caffe S = 256 and 255, torchvision), through the real
    // preprocessing, with temporal_channel_scales, must give that value.
    const Shape shape{1, 3, kH, kW}, plane{1, 1, kH, kW};
    const Tensor<float> a = test::random_tensor<float>(shape, 7, 0, 1);
    const Tensor<float> b = test::random_tensor<float>(shape, 8, 0, 1);
    const Tensor<float> c = test::random_tensor<float>(plane, 9, 0, 1);
    const double gamma = 200, d = 3.0 * kH * kW;
    double ref = 0;
    for (std::size_t e = 0; e < a.numel(); ++e) {
        const double diff = 256 * (double(a.data()[e]) - double(b.data()[e]));
        ref += double(c.data()[e % (std::size_t(kH) * kW)]) * diff * diff;
    }
    ref *= gamma / d;
    struct Space {
        PreprocessKind kind;
        float scale;
    };
    for (const Space sp : {Space{PreprocessKind::Caffe, 256.f}, Space{PreprocessKind::Caffe, 255.f},
                           Space{PreprocessKind::Torchvision, 255.f}}) {
        Preprocessor pre;
        pre.kind = sp.kind;
        pre.caffe_scale = sp.scale;
        Tensor<float> xa(shape), xb(shape);
        pre.to_network(xa.view(), a.cview());
        pre.to_network(xb.view(), b.cview());
        const std::vector<double> s = temporal_channel_scales(sp.kind, sp.scale, gamma, 3, kH, kW);
        const double v = cpu::temporal_loss<float>(xa.cview(), {{xb.cview(), c.cview()}}, s, TensorView<float>());
        const double rel = std::fabs(v - ref) / ref;
        const std::string name = sp.kind == PreprocessKind::Caffe ? "caffe S=" + std::to_string(int(sp.scale))
                                                                  : std::string("torchvision");
        MESSAGE(name << ": rel err " << rel);
        CHECK(rel <= 1e-7);  // the preprocessed images are float (measured up to 5e-9)
    }
}

TEST_CASE("temporal loss: long-term weights against the formula on hand-made masks") {
    // Three maps of 2 x 4 pixels, nearest (j = 1) first, then j = 2, j = 4.
    const Shape plane{1, 1, 2, 4};
    const std::vector<std::vector<double>> c = {
        {1, 0, 0, 0, 0.25, 0.5, 0, 1},
        {1, 1, 0, 0, 1, 0.25, 0.5, 0},
        {1, 1, 1, 0, 1, 1, 1, 0.5},
    };
    // c_long_j = max(c_j - sum of nearer ORIGINAL maps, 0), worked by hand:
    //   j=1: c_1 itself
    //   j=2: max(c_2 - c_1, 0)        = {0, 1, 0, 0, 0.75, 0, 0.5, 0}
    //   j=4: max(c_4 - c_1 - c_2, 0)  = {0, 0, 1, 0, 0, 0.25, 0.5, 0}
    // Pixel 5 tells the formula from the reference code's in-place variant, which would
    // subtract the reduced c_2 (0 there) and give 1 - 0.5 - 0 = 0.5.
    const std::vector<std::vector<double>> expect = {
        {1, 0, 0, 0, 0.25, 0.5, 0, 1},
        {0, 1, 0, 0, 0.75, 0, 0.5, 0},
        {0, 0, 1, 0, 0, 0.25, 0.5, 0},
    };
    std::vector<Tensor<double>> maps, out;
    std::vector<ConstView<double>> in_views;
    std::vector<TensorView<double>> out_views;
    for (std::size_t j = 0; j < c.size(); ++j) {
        maps.emplace_back(plane);
        out.emplace_back(plane);
        std::copy(c[j].begin(), c[j].end(), maps[j].begin());
    }
    for (std::size_t j = 0; j < c.size(); ++j) {
        in_views.push_back(maps[j].cview());
        out_views.push_back(out[j].view());
    }
    cpu::long_term_weights<double>(in_views, out_views);
    for (std::size_t j = 0; j < c.size(); ++j)
        for (std::size_t p = 0; p < c[j].size(); ++p) {
            INFO("map " << j << " pixel " << p);
            CHECK(out[j].data()[p] == expect[j][p]);
        }

    // In place (out[j] = maps[j]): the same maps.
    std::vector<TensorView<double>> same;
    for (auto& m : maps) same.push_back(m.view());
    cpu::long_term_weights<double>(in_views, same);
    for (std::size_t j = 0; j < c.size(); ++j)
        CHECK(std::equal(maps[j].begin(), maps[j].end(), expect[j].begin()));

    // Binary masks: every pixel seen by some frame is claimed by exactly the nearest one.
    const Shape big{1, 1, 9, 11};
    std::vector<Tensor<float>> bin, res;
    std::vector<ConstView<float>> bv;
    std::vector<TensorView<float>> rv;
    for (int j = 0; j < 3; ++j) {
        bin.push_back(test::random_tensor<float>(big, 60 + j, 0, 1));
        for (float& v : bin.back()) v = v < 0.6f ? 1.f : 0.f;
        res.emplace_back(big);
    }
    for (int j = 0; j < 3; ++j) {
        bv.push_back(bin[j].cview());
        rv.push_back(res[j].view());
    }
    cpu::long_term_weights<float>(bv, rv);
    for (std::size_t p = 0; p < big.numel(); ++p) {
        int nearest = -1;
        for (int j = 0; j < 3 && nearest < 0; ++j)
            if (bin[j].data()[p] == 1.f) nearest = j;
        for (int j = 0; j < 3; ++j) CHECK(res[j].data()[p] == (j == nearest ? 1.f : 0.f));
    }
}

TEST_CASE("temporal loss: mismatched shapes are refused") {
    const Shape shape{1, 3, 4, 5};
    const Tensor<float> x = test::random_tensor<float>(shape, 1);
    const Tensor<float> small = test::random_tensor<float>(Shape{1, 3, 4, 4}, 2);
    const Tensor<float> map = test::random_tensor<float>(Shape{1, 1, 4, 5}, 3, 0, 1);
    const Tensor<float> map3 = test::random_tensor<float>(shape, 4, 0, 1);
    const std::vector<double> s = temporal_channel_scales(PreprocessKind::Caffe, 256, 1, 3, 4, 5);
    CHECK_THROWS_AS(cpu::temporal_loss<float>(x.cview(), {{small.cview(), map.cview()}}, s, TensorView<float>()),
                    Error);
    CHECK_THROWS_AS(cpu::temporal_loss<float>(x.cview(), {{x.cview(), map3.cview()}}, s, TensorView<float>()), Error);
    CHECK_THROWS_AS(cpu::temporal_loss<float>(x.cview(), {{x.cview(), map.cview()}}, {1.0}, TensorView<float>()),
                    Error);
    CHECK_THROWS_AS(temporal_channel_scales(PreprocessKind::Torchvision, 255, 1, 1, 4, 5), Error);
}
