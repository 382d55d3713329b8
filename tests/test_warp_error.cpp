// SPDX-License-Identifier: MIT
// Lai et al.'s warping error against hand computations in double: identical frames, a known
// perturbation, and a translation whose border columns sample the clamped border.
#include <doctest/doctest.h>

#include <cmath>

#include "flow_fixture.h"
#include "video/warp_error.h"

using namespace nst;
using namespace nst::test;

namespace {
constexpr int kH = 24, kW = 32;
Tensor<float> zero_flow() { return filled(Shape{1, 2, kH, kW}, 0.0f); }
}  // namespace

TEST_CASE("warp error: identical frames give 0") {
    const Tensor<float> a = render(kH, kW, [](double x, double y, double& sx, double& sy) { sx = x, sy = y; });
    const WarpError e = warping_error(a.view(), a.view(), zero_flow().view(), zero_flow().view());
    CHECK(e.lai == 0.0);
    CHECK(e.ruder == 0.0);
    CHECK(e.unmasked_pixels == std::size_t(kH * kW));
}

TEST_CASE("warp error: a perturbed rectangle matches the hand computation") {
    const Tensor<float> a = render(kH, kW, [](double x, double y, double& sx, double& sy) { sx = x, sy = y; });
    Tensor<float> b = a.clone();
    // +0.1 on channel 1 over a 5x7 rectangle, -0.05 on channel 2 at one pixel.
    for (int y = 3; y < 8; ++y)
        for (int x = 10; x < 17; ++x) b.view().at(0, 1, y, x) += 0.1f;
    b.view().at(0, 2, 20, 30) -= 0.05f;
    double sum = 0;  // the squared differences as stored in float
    for (std::size_t i = 0; i < a.numel(); ++i) sum += (double(a[i]) - double(b[i])) * (double(a[i]) - double(b[i]));
    CHECK(sum == doctest::Approx(35 * 0.01 + 0.0025).epsilon(1e-5));
    const WarpError e = warping_error(a.view(), b.view(), zero_flow().view(), zero_flow().view());
    CHECK(e.lai == doctest::Approx(sum / (3.0 * kH * kW)).epsilon(1e-12));
    CHECK(e.ruder == doctest::Approx(sum / (3.0 * kH * kW)).epsilon(1e-12));  // nothing masked: same

    // With a mask that hides the rectangle's top row and half of everything else's weight.
    Tensor<float> m = filled(Shape{1, 1, kH, kW}, 1.0f);
    for (int x = 10; x < 17; ++x) m.view().at(0, 0, 3, x) = 0;
    m.view().at(0, 0, 20, 30) = 0.5f;
    const WarpError em = warping_error_masked(a.view(), b.view(), zero_flow().view(), m.view());
    const double msum = kH * kW - 7 - 0.5;
    const double masked = sum - 7 * double(0.1f) * double(0.1f) - 0.5 * double(0.05f) * double(0.05f);
    CHECK(em.lai == doctest::Approx(masked / (3 * msum)).epsilon(1e-5));
    CHECK(em.ruder == doctest::Approx(masked / (3.0 * kH * kW)).epsilon(1e-5));
}

TEST_CASE("warp error: a translation with its true flow") {
    // V_{t+1} is V_t moved 2 px right; forward flow t→t+1 is +2, backward -2. Lai's occlusion
    // test flags nothing for a global translation (it has no out-of-image rule), so the two
    // rightmost columns, whose samples x + 2 leave the image and are clamped to the last column,
    // carry the whole error: V_t(x) vs V_{t+1}(W-1) = V_t(W-3).
    const Tensor<float> a = render(kH, kW, [](double x, double y, double& sx, double& sy) { sx = x, sy = y; });
    const Tensor<float> b = render(kH, kW, [](double x, double y, double& sx, double& sy) { sx = x - 2, sy = y; });
    const Tensor<float> fwd = filled(Shape{1, 2, kH, kW}, 0.0f);
    Tensor<float> f = fwd.clone(), bw = fwd.clone();
    for (int y = 0; y < kH; ++y)
        for (int x = 0; x < kW; ++x) f.view().at(0, 0, y, x) = 2, bw.view().at(0, 0, y, x) = -2;
    double sum = 0;
    for (int c = 0; c < 3; ++c)
        for (int y = 0; y < kH; ++y)
            for (int x = kW - 2; x < kW; ++x) {
                const double d = scene(c, x, y) - scene(c, kW - 3, y);
                sum += d * d;
            }
    const WarpError e = warping_error(a.view(), b.view(), f.view(), bw.view());
    CHECK(e.unmasked_pixels == std::size_t(kH * kW));
    MESSAGE("translation warping error " << e.lai << ", hand " << sum / (3.0 * kH * kW));
    CHECK(e.lai == doctest::Approx(sum / (3.0 * kH * kW)).epsilon(1e-5));
}
