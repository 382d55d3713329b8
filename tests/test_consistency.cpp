// SPDX-License-Identifier: MIT
// The forward-backward consistency check on flows whose reliable and unreliable pixels are known
// from the geometry: a global translation (the band entering through the border), a moving
// square on a static background (the disoccluded strip behind it and the flow's motion
// boundaries) and a gentle zoom (nothing). Expected maps are written from the geometry, the blur
// values from the Gaussian's formula.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <functional>

#include "flow_fixture.h"
#include "video/consistency.h"

using namespace nst;
using namespace nst::test;

namespace {

constexpr int kH = 32, kW = 36;

// Counts the pixels where map differs from expect(x, y), reporting the first few.
int mismatches(const Tensor<float>& map, const std::function<float(int, int)>& expect) {
    int bad = 0;
    for (int y = 0; y < kH; ++y)
        for (int x = 0; x < kW; ++x) {
            const float got = map.view().at(0, 0, y, x), want = expect(x, y);
            if (got != want && ++bad <= 5) MESSAGE("pixel (" << x << ", " << y << "): " << got << " expected " << want);
        }
    return bad;
}

// The square [10, 20) x [10, 20) of frame a moves 4 px right in frame b; background static.
constexpr int kSq0 = 10, kSq1 = 20, kShift = 4;
bool in_square_a(int x, int y) { return x >= kSq0 && x < kSq1 && y >= kSq0 && y < kSq1; }
bool in_square_b(int x, int y) { return in_square_a(x - kShift, y); }

Tensor<float> square_forward() {  // a→b on a's grid
    return flow_field(kH, kW, [](double x, double y, double& u, double& v) { u = in_square_a(int(x), int(y)) ? kShift : 0, v = 0; });
}
Tensor<float> square_backward() {  // b→a on b's grid
    return flow_field(kH, kW, [](double x, double y, double& u, double& v) { u = in_square_b(int(x), int(y)) ? -kShift : 0, v = 0; });
}

// Gaussian taps of σ 0.8 at offsets 0, 1, 2, normalised over -2..2.
double tap(int i) {
    double sum = 0;
    for (int k = -2; k <= 2; ++k) sum += std::exp(-k * k / (2 * 0.64));
    return std::exp(-i * i / (2 * 0.64)) / sum;
}

}  // namespace

TEST_CASE("consistency: a translation marks exactly the band entering through the border") {
    for (double dx : {3.0, 2.5}) {
        CAPTURE(dx);
        // Frame b is frame a moved dx right: flow b→a = -dx, a→b = +dx.
        const Tensor<float> bwd = flow_field(kH, kW, [&](double, double, double& u, double& v) { u = -dx, v = 0; });
        const Tensor<float> fwd = flow_field(kH, kW, [&](double, double, double& u, double& v) { u = dx, v = 0; });
        const Tensor<float> raw = consistency_raw(bwd.view(), fwd.view());
        // Columns whose source x - dx has no 2x2 footprint inside a (x - dx < 0) are new content.
        // The reference checker's footprint rule also rejects a sample point on the last row
        // (floor(y) + 1 > H - 1), so the last row is 0 for any flow with v = 0.
        CHECK(mismatches(raw, [&](int x, int y) { return (x - dx < 0 || y == kH - 1) ? 0.0f : 1.0f; }) == 0);
        // Lai's test has no footprint rule and a translation is consistent everywhere.
        const Tensor<float> occ = flow_occlusion(bwd.view(), fwd.view());
        CHECK(mismatches(occ, [](int, int) { return 0.0f; }) == 0);
    }
}

TEST_CASE("consistency: a moving square gives the disoccluded strip and the motion boundaries") {
    const Tensor<float> fwd = square_forward(), bwd = square_backward();
    // Reliability of b's pixels for warping a onto b (temporal loss of frame b).
    const Tensor<float> raw = consistency_raw(bwd.view(), fwd.view());
    auto inb = [](int x, int y) { return in_square_b(std::clamp(x, 0, kW - 1), std::clamp(y, 0, kH - 1)); };
    auto expect_raw = [&](int x, int y) -> float {
        if (x == kW - 1 || y == kH - 1) return 0;  // footprint rule at the last column/row
        // Disoccluded: background of b that the square covered in a (round trip 0 + 4 != 0).
        if (x >= kSq0 && x < kSq0 + kShift && y >= kSq0 && y < kSq1) return -1;
        // Motion boundary: the flow differs across the pixel (central differences).
        if (inb(x - 1, y) != inb(x + 1, y) || inb(x, y - 1) != inb(x, y + 1)) return 0;
        return 1;
    };
    CHECK(mismatches(raw, expect_raw) == 0);

    // Blur and clip: far from everything 1; beside the strip the closed-form Gaussian sums.
    const Tensor<float> c = consistency_weights(bwd.view(), fwd.view());
    CHECK(c.view().at(0, 0, 28, 4) == doctest::Approx(1.0).epsilon(1e-6));
    // (8, 15): row neighbours 6..10, only x = 10 is -1 (weight tap(2)); rows 13..17 all alike.
    CHECK(c.view().at(0, 0, 15, 8) == doctest::Approx(1 - 2 * tap(2)).epsilon(1e-6));
    // (9, 15): x = 10, 11 are -1.
    CHECK(c.view().at(0, 0, 15, 9) == doctest::Approx(1 - 2 * (tap(1) + tap(2))).epsilon(1e-6));
    CHECK(c.view().at(0, 0, 15, 11) == 0.0f);  // inside the strip: negative, clipped
    CHECK(std::count_if(c.begin(), c.end(), [](float v) { return v < 0 || v > 1; }) == 0);

    // Lai's binary test on the same pair: the strip (strict >), and forward differences mark the
    // pixel before each change of the flow.
    const Tensor<float> occ = flow_occlusion(bwd.view(), fwd.view());
    auto expect_occ = [&](int x, int y) -> float {
        if (x >= kSq0 && x < kSq0 + kShift && y >= kSq0 && y < kSq1) return 1;
        if (inb(x + 1, y) != inb(x, y) || inb(x, y + 1) != inb(x, y)) return 1;
        return 0;
    };
    CHECK(mismatches(occ, expect_occ) == 0);
}

TEST_CASE("consistency: a gentle zoom is reliable everywhere") {
    // b = a zoomed in by 2 % about the centre: flow b→a = (1/s - 1)(p - c), a→b = (s - 1)(p - c).
    // The flow gradient 2·(1/s - 1)² = 7.7e-4 stays under 0.002, and every backward sample point
    // lands strictly inside a.
    const double s = 1.02, cx = (kW - 1) / 2.0, cy = (kH - 1) / 2.0;
    const Tensor<float> bwd = flow_field(kH, kW, [&](double x, double y, double& u, double& v) { u = (1 / s - 1) * (x - cx), v = (1 / s - 1) * (y - cy); });
    const Tensor<float> fwd = flow_field(kH, kW, [&](double x, double y, double& u, double& v) { u = (s - 1) * (x - cx), v = (s - 1) * (y - cy); });
    CHECK(mismatches(consistency_raw(bwd.view(), fwd.view()), [](int, int) { return 1.0f; }) == 0);
    CHECK(mismatches(flow_occlusion(bwd.view(), fwd.view()), [](int, int) { return 0.0f; }) == 0);
    // A strong zoom (20 %) trips the motion-boundary test near the centre, where |w|² is small:
    // 2·(1/1.2 - 1)² = 0.056 > 0.01·(1/1.2 - 1)²·|p - c|² + 0.002 for |p - c| < 13.9 px.
    const double z = 1.2;
    const Tensor<float> bwd2 = flow_field(kH, kW, [&](double x, double y, double& u, double& v) { u = (1 / z - 1) * (x - cx), v = (1 / z - 1) * (y - cy); });
    const Tensor<float> fwd2 = flow_field(kH, kW, [&](double x, double y, double& u, double& v) { u = (z - 1) * (x - cx), v = (z - 1) * (y - cy); });
    const Tensor<float> raw2 = consistency_raw(bwd2.view(), fwd2.view());
    CHECK(raw2.view().at(0, 0, int(cy), int(cx)) == 0.0f);
}
