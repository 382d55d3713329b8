// SPDX-License-Identifier: MIT
// Synthetic frames with known motion for the optical-flow tests: a smooth analytic image (a sum
// of sinusoids, evaluable anywhere, so moved frames are exact rather than interpolated) and the
// true flow fields of translations and zooms.
#pragma once
#include <cmath>

#include "core/tensor.h"

namespace nst::test {

struct Wave {
    double amp, kx, ky, phase;
};
// Three channels of two waves each; wavelengths 15-40 px, so bilinear sampling is accurate to a
// few 1e-3 and the bound below is meaningful.
inline const Wave kWaves[3][2] = {{{0.20, 0.31, 0.17, 0.3}, {0.12, -0.11, 0.29, 1.7}},
                                  {{0.18, 0.23, -0.19, 2.1}, {0.10, 0.41, 0.05, 0.9}},
                                  {{0.15, -0.27, 0.22, 1.1}, {0.14, 0.16, 0.33, 2.6}}};

inline double scene(int c, double x, double y) {
    double s = 0.5;
    for (const Wave& w : kWaves[c]) s += w.amp * std::sin(w.kx * x + w.ky * y + w.phase);
    return s;
}

// Bilinear interpolation error bound on a unit grid: |e| <= (max|f_xx| + max|f_yy|) / 8, the
// largest over the channels.
inline double bilinear_bound() {
    double worst = 0;
    for (const auto& ch : kWaves) {
        double b = 0;
        for (const Wave& w : ch) b += w.amp * (w.kx * w.kx + w.ky * w.ky) / 8;
        worst = std::max(worst, b);
    }
    return worst;
}

// Frame (1, 3, h, w) whose pixel (x, y) shows the scene at src(x, y).
template <typename Src>
Tensor<float> render(int h, int w, Src src) {
    Tensor<float> img(Shape{1, 3, h, w});
    for (int c = 0; c < 3; ++c)
        for (int y = 0; y < h; ++y)
            for (int x = 0; x < w; ++x) {
                double sx, sy;
                src(double(x), double(y), sx, sy);
                img.view().at(0, c, y, x) = float(scene(c, sx, sy));
            }
    return img;
}

// Flow (1, 2, h, w) with (u, v) = f(x, y).
template <typename F>
Tensor<float> flow_field(int h, int w, F f) {
    Tensor<float> flow(Shape{1, 2, h, w});
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            double u, v;
            f(double(x), double(y), u, v);
            flow.view().at(0, 0, y, x) = float(u);
            flow.view().at(0, 1, y, x) = float(v);
        }
    return flow;
}

}  // namespace nst::test
