// SPDX-License-Identifier: MIT
// Backward warping with the true flow of synthetic motions reproduces the moved frame: exactly
// (to float rounding) for integer shifts, within the bilinear interpolation bound
// (max|f_xx| + max|f_yy|) / 8 of the analytic scene for sub-pixel shifts and zooms.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "flow_fixture.h"
#include "video/warp.h"

using namespace nst;
using namespace nst::test;

namespace {

constexpr int kH = 40, kW = 48;

struct Compare {
    double max_err = 0;
    int valid = 0;
};

// Warps frame a by flow (b's grid, pointing into a) and compares with frame b where valid.
Compare compare_warp(const Tensor<float>& a, const Tensor<float>& b, const Tensor<float>& flow) {
    Tensor<float> valid;
    const Tensor<float> out = warp(a.view(), flow.view(), &valid);
    Compare r;
    for (int y = 0; y < kH; ++y)
        for (int x = 0; x < kW; ++x) {
            if (valid.view().at(0, 0, y, x) == 0) continue;
            ++r.valid;
            for (int c = 0; c < 3; ++c)
                r.max_err = std::max(r.max_err, double(std::fabs(out.view().at(0, c, y, x) - b.view().at(0, c, y, x))));
        }
    return r;
}

}  // namespace

TEST_CASE("warp: translations by integer and sub-pixel shifts") {
    const Tensor<float> a = render(kH, kW, [](double x, double y, double& sx, double& sy) { sx = x, sy = y; });
    const struct {
        double dx, dy, tol;
    } cases[] = {{3, -2, 2e-6}, {-5, 4, 2e-6}, {2.5, 0, bilinear_bound()}, {-1.25, 0.75, bilinear_bound()},
                 {0.4, -3.6, bilinear_bound()}};
    for (const auto& t : cases) {
        CAPTURE(t.dx);
        CAPTURE(t.dy);
        // Frame b shows the content of a moved by (dx, dy): b(p) = a(p - d); the flow b→a on b's
        // grid is -d everywhere.
        const Tensor<float> b = render(kH, kW, [&](double x, double y, double& sx, double& sy) { sx = x - t.dx, sy = y - t.dy; });
        const Tensor<float> flow = flow_field(kH, kW, [&](double, double, double& u, double& v) { u = -t.dx, v = -t.dy; });
        const Compare r = compare_warp(a, b, flow);
        // Valid exactly where p - d lies in [0, W-1] x [0, H-1].
        int expect_valid = 0;
        for (int y = 0; y < kH; ++y)
            for (int x = 0; x < kW; ++x)
                expect_valid += (x - t.dx >= 0 && x - t.dx <= kW - 1 && y - t.dy >= 0 && y - t.dy <= kH - 1);
        CHECK(r.valid == expect_valid);
        MESSAGE("translation (" << t.dx << ", " << t.dy << "): max error " << r.max_err << " (bound " << t.tol << ")");
        CHECK(r.max_err <= t.tol);
    }
    CHECK(bilinear_bound() < 0.03);  // the bound is tight enough to mean something
}

TEST_CASE("warp: zoom in and out about the centre") {
    const Tensor<float> a = render(kH, kW, [](double x, double y, double& sx, double& sy) { sx = x, sy = y; });
    const double cx = 21.3, cy = 17.8;
    for (double s : {1.15, 0.87}) {
        CAPTURE(s);
        // b(p) = a(c + (p - c) / s): a scaled by s about c; flow b→a = c + (p - c)/s - p.
        auto src = [&](double x, double y, double& sx, double& sy) { sx = cx + (x - cx) / s, sy = cy + (y - cy) / s; };
        const Tensor<float> b = render(kH, kW, src);
        const Tensor<float> flow = flow_field(kH, kW, [&](double x, double y, double& u, double& v) {
            double sx, sy;
            src(x, y, sx, sy);
            u = sx - x, v = sy - y;
        });
        const Compare r = compare_warp(a, b, flow);
        MESSAGE("zoom " << s << ": max error " << r.max_err << " over " << r.valid << " valid pixels");
        if (s > 1) CHECK(r.valid == kH * kW);  // zooming in never samples outside
        CHECK(r.valid > kH * kW / 2);
        CHECK(r.max_err <= bilinear_bound() + 1e-6);
    }
}

TEST_CASE("warp: samples outside are border-clamped and flagged") {
    // A 1-channel ramp 10·x + y shifted so that some samples leave the image on every side.
    const int h = 4, w = 5;
    Tensor<float> img(Shape{1, 1, h, w});
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) img.view().at(0, 0, y, x) = float(10 * x + y);
    Tensor<float> flow(Shape{1, 2, h, w});
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            flow.view().at(0, 0, y, x) = 1.5f;    // x + 1.5
            flow.view().at(0, 1, y, x) = -0.25f;  // y - 0.25
        }
    Tensor<float> valid;
    const Tensor<float> out = warp(img.view(), flow.view(), &valid);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            CAPTURE(x);
            CAPTURE(y);
            const double sx = std::clamp(x + 1.5, 0.0, double(w - 1)), sy = std::clamp(y - 0.25, 0.0, double(h - 1));
            CHECK(out.view().at(0, 0, y, x) == doctest::Approx(10 * sx + sy).epsilon(1e-6));  // bilinear is exact on a ramp
            CHECK(valid.view().at(0, 0, y, x) == ((x + 1.5 <= w - 1 && y - 0.25 >= 0) ? 1.0f : 0.0f));
        }
}
