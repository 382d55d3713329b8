// SPDX-License-Identifier: MIT
// Frame pairs with exact motion for the DIS tests: the analytic scene of flow_fixture.h, and a
// real photograph (../shared/images, read in place) resampled bilinearly, each moved by a
// translation or a zoom whose flow is known in closed form.
#pragma once
#include <cmath>

#include "flow_fixture.h"
#include "io/image.h"
#include "test_util.h"
#include "video/warp.h"

namespace nst::test {

// A motion: where frame a's pixel (x, y) is found in frame b, as flow (u, v) = dest - (x, y).
struct Motion {
    double dx = 0, dy = 0;  // translation
    double zoom = 1;        // scale about the centre (cx, cy)
    double cx = 0, cy = 0;
    void flow(double x, double y, double& u, double& v) const {
        u = (zoom - 1) * (x - cx) + dx;
        v = (zoom - 1) * (y - cy) + dy;
    }
    // Inverse: the point of frame a shown at frame b's pixel (x, y).
    void source(double x, double y, double& sx, double& sy) const {
        sx = cx + (x - dx - cx) / zoom;
        sy = cy + (y - dy - cy) / zoom;
    }
};

struct FramePair {
    Tensor<float> a, b, flow;  // flow: exact a→b on a's grid
};

inline FramePair scene_pair(int h, int w, const Motion& m) {
    FramePair p;
    p.a = render(h, w, [](double x, double y, double& sx, double& sy) { sx = x, sy = y; });
    p.b = render(h, w, [&](double x, double y, double& sx, double& sy) { m.source(x, y, sx, sy); });
    p.flow = flow_field(h, w, [&](double x, double y, double& u, double& v) { m.flow(x, y, u, v); });
    return p;
}

// The photograph at `long_side` px plus a margin of `pad` px on each side; frame a is the
// centre crop, frame b samples the same base bilinearly at the moved positions.
inline FramePair photo_pair(const std::string& name, int long_side, int pad, const Motion& m) {
    const Tensor<float> full = load_image(shared_image(name));
    int bh, bw;
    target_size(full.shape().h, full.shape().w, long_side + 2 * pad, SizeRule::Max, bh, bw);
    const Tensor<float> base = resize_image(full.cview(), bh, bw);
    const int h = bh - 2 * pad, w = bw - 2 * pad;
    FramePair p;
    p.a = Tensor<float>(Shape{1, 3, h, w});
    p.b = Tensor<float>(Shape{1, 3, h, w});
    for (int c = 0; c < 3; ++c)
        for (int y = 0; y < h; ++y)
            for (int x = 0; x < w; ++x) {
                double sx, sy;
                m.source(x, y, sx, sy);
                p.a.view().at(0, c, y, x) = base.cview().at(0, c, y + pad, x + pad);
                p.b.view().at(0, c, y, x) =
                    sample_bilinear(base.cview().data + std::size_t(c) * bh * bw, bh, bw, float(sx + pad), float(sy + pad));
            }
    p.flow = flow_field(h, w, [&](double x, double y, double& u, double& v) { m.flow(x, y, u, v); });
    return p;
}

// Mean end-point error of `flow` against `truth` over the pixels at least `margin` px inside.
inline double mean_epe(const Tensor<float>& flow, const Tensor<float>& truth, int margin) {
    const int h = flow.shape().h, w = flow.shape().w;
    double sum = 0;
    int n = 0;
    for (int y = margin; y < h - margin; ++y)
        for (int x = margin; x < w - margin; ++x) {
            const double du = flow.cview().at(0, 0, y, x) - truth.cview().at(0, 0, y, x);
            const double dv = flow.cview().at(0, 1, y, x) - truth.cview().at(0, 1, y, x);
            sum += std::sqrt(du * du + dv * dv);
            ++n;
        }
    return sum / n;
}

// Mean absolute difference of two images over the pixels at least `margin` px inside.
inline double mean_abs_diff(const Tensor<float>& p, const Tensor<float>& q, int margin) {
    const Shape s = p.shape();
    double sum = 0;
    int n = 0;
    for (int c = 0; c < s.c; ++c)
        for (int y = margin; y < s.h - margin; ++y)
            for (int x = margin; x < s.w - margin; ++x, ++n)
                sum += std::abs(double(p.cview().at(0, c, y, x)) - double(q.cview().at(0, c, y, x)));
    return sum / n;
}

}  // namespace nst::test
