// SPDX-License-Identifier: MIT
// consistency_raw / consistency_weights / flow_occlusion. The two checkers differ only in the
// footprint rule, >= versus >, the difference scheme of the motion-boundary test and the blur;
// the per-pixel tests are shared below.
#include "video/consistency.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "video/warp.h"

namespace nst {

namespace {

void require_pair(ConstView<float> flow_ab, ConstView<float> flow_ba) {
    NST_REQUIRE(flow_ab.device == Device::Host && flow_ba.device == Device::Host, "flow checks run on the host");
    NST_REQUIRE(flow_ab.shape.n == 1 && flow_ab.shape.c == 2 && flow_ab.shape.h > 0 && flow_ab.shape.w > 0,
                "flow must be (1, 2, H, W), got " + flow_ab.shape.str());
    NST_REQUIRE(flow_ba.shape == flow_ab.shape, "forward and backward flows differ in shape");
}

// Squared round-trip error and its threshold for one pixel: (u, v) = flow_ab(x), (su, sv) = the
// opposite flow where it lands.
struct RoundTrip {
    float err2, limit;
};
RoundTrip round_trip(float u, float v, float su, float sv) {
    const float du = u + su, dv = v + sv;
    return {du * du + dv * dv, kDisoccRelative * (u * u + v * v + su * su + sv * sv) + kDisoccAbsolute};
}

float boundary_limit(float u, float v) { return kBoundaryRelative * (u * u + v * v) + kBoundaryAbsolute; }

// Separable blur of one plane with replicated borders.
void blur_plane(std::vector<float>& p, int h, int w, float sigma) {
    const int r = int(std::ceil(2 * sigma));
    std::vector<float> k(2 * r + 1);
    double sum = 0;
    for (int i = -r; i <= r; ++i) sum += k[i + r] = float(std::exp(-double(i * i) / (2.0 * sigma * sigma)));
    for (auto& t : k) t = float(t / sum);
    std::vector<float> tmp(p.size());
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            float acc = 0;
            for (int i = -r; i <= r; ++i) acc += k[i + r] * p[std::size_t(y) * w + std::clamp(x + i, 0, w - 1)];
            tmp[std::size_t(y) * w + x] = acc;
        }
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            float acc = 0;
            for (int i = -r; i <= r; ++i) acc += k[i + r] * tmp[std::size_t(std::clamp(y + i, 0, h - 1)) * w + x];
            p[std::size_t(y) * w + x] = acc;
        }
}

// The two flows' planes: u, v of a->b and bu, bv of b->a, on one grid (checked).
struct FlowPair {
    int h, w;
    const float *u, *v, *bu, *bv;
};

FlowPair flow_pair(ConstView<float> flow_ab, ConstView<float> flow_ba) {
    require_pair(flow_ab, flow_ba);
    const std::size_t plane = flow_ab.shape.plane();
    return FlowPair{flow_ab.shape.h, flow_ab.shape.w, flow_ab.data, flow_ab.data + plane, flow_ba.data,
                    flow_ba.data + plane};
}

}  // namespace

Tensor<float> consistency_raw(ConstView<float> flow_ab, ConstView<float> flow_ba) {
    const FlowPair f = flow_pair(flow_ab, flow_ba);
    const int h = f.h, w = f.w;
    const float *u = f.u, *v = f.v, *bu = f.bu, *bv = f.bv;
    Tensor<float> out(Shape{1, 1, h, w});
#pragma omp parallel for schedule(static)
    for (int y = 0; y < h; ++y) {
        for (int x = 0; x < w; ++x) {
            const std::size_t i = std::size_t(y) * w + x;
            const float sx = float(x) + u[i], sy = float(y) + v[i];
            const float fx = std::floor(sx), fy = std::floor(sy);
            if (!(fx >= 0 && fx + 1 <= float(w - 1) && fy >= 0 && fy + 1 <= float(h - 1))) {
                out[i] = 0;
                continue;
            }
            const RoundTrip rt = round_trip(u[i], v[i], sample_bilinear(bu, h, w, sx, sy), sample_bilinear(bv, h, w, sx, sy));
            if (rt.err2 >= rt.limit) {
                out[i] = -1;
                continue;
            }
            const std::size_t xm = std::size_t(y) * w + std::max(x - 1, 0), xp = std::size_t(y) * w + std::min(x + 1, w - 1);
            const std::size_t ym = std::size_t(std::max(y - 1, 0)) * w + x, yp = std::size_t(std::min(y + 1, h - 1)) * w + x;
            const float ux = 0.5f * (u[xp] - u[xm]), vx = 0.5f * (v[xp] - v[xm]);
            const float uy = 0.5f * (u[yp] - u[ym]), vy = 0.5f * (v[yp] - v[ym]);
            out[i] = (ux * ux + vx * vx + uy * uy + vy * vy > boundary_limit(u[i], v[i])) ? 0.0f : 1.0f;
        }
    }
    return out;
}

Tensor<float> consistency_weights(ConstView<float> flow_ab, ConstView<float> flow_ba) {
    Tensor<float> raw = consistency_raw(flow_ab, flow_ba);
    const int h = raw.shape().h, w = raw.shape().w;
    std::vector<float> p(raw.begin(), raw.end());
    blur_plane(p, h, w, kConsistencyBlurSigma);
    for (std::size_t i = 0; i < p.size(); ++i) raw[i] = std::clamp(p[i], 0.0f, 1.0f);
    return raw;
}

Tensor<float> flow_occlusion(ConstView<float> flow_ab, ConstView<float> flow_ba) {
    const FlowPair f = flow_pair(flow_ab, flow_ba);
    const int h = f.h, w = f.w;
    const float *u = f.u, *v = f.v, *bu = f.bu, *bv = f.bv;
    Tensor<float> occ(Shape{1, 1, h, w});
#pragma omp parallel for schedule(static)
    for (int y = 0; y < h; ++y) {
        for (int x = 0; x < w; ++x) {
            const std::size_t i = std::size_t(y) * w + x;
            const float sx = float(x) + u[i], sy = float(y) + v[i];
            const RoundTrip rt = round_trip(u[i], v[i], sample_bilinear(bu, h, w, sx, sy), sample_bilinear(bv, h, w, sx, sy));
            const std::size_t xp = x + 1 < w ? i + 1 : i, yp = y + 1 < h ? i + std::size_t(w) : i;
            const float ux = u[xp] - u[i], vx = v[xp] - v[i], uy = u[yp] - u[i], vy = v[yp] - v[i];
            const bool boundary = ux * ux + vx * vx + uy * uy + vy * vy > boundary_limit(u[i], v[i]);
            occ[i] = (rt.err2 > rt.limit || boundary) ? 1.0f : 0.0f;
        }
    }
    return occ;
}

}  // namespace nst
