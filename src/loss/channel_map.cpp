// SPDX-License-Identifier: MIT
#include "loss/channel_map.h"

#include "core/error.h"

namespace nst {

namespace {

void check_pair(const Shape& a, const Shape& b, const char* what) {
    NST_REQUIRE(a == b && a.c == 3, std::string(what) + ": shapes " + a.str() + " and " + b.str());
}

}  // namespace

void apply_channel_map(const ChannelMap& m, TensorView<float> out, ConstView<float> in) {
    check_pair(out.shape, in.shape, "apply_channel_map");
    const std::size_t plane = in.shape.plane();
    for (int n = 0; n < in.shape.n; ++n) {
        const float* src = in.data + std::size_t(n) * 3 * plane;
        float* dst = out.data + std::size_t(n) * 3 * plane;
        for (int c = 0; c < 3; ++c) {
            const float* s = src + std::size_t(m.src[c]) * plane;
            float* d = dst + std::size_t(c) * plane;
            const float a = float(m.a[c]), b = float(m.b[c]);
            for (std::size_t i = 0; i < plane; ++i) d[i] = a * s[i] + b;
        }
    }
}

void apply_channel_map_transpose(const ChannelMap& m, TensorView<float> din, ConstView<float> g) {
    check_pair(din.shape, g.shape, "apply_channel_map_transpose");
    const std::size_t plane = g.shape.plane();
    for (int n = 0; n < g.shape.n; ++n) {
        const float* src = g.data + std::size_t(n) * 3 * plane;
        float* dst = din.data + std::size_t(n) * 3 * plane;
        for (int c = 0; c < 3; ++c) {
            const float* s = src + std::size_t(c) * plane;
            float* d = dst + std::size_t(m.src[c]) * plane;
            const float a = float(m.a[c]);
            for (std::size_t i = 0; i < plane; ++i) d[i] = a * s[i];
        }
    }
}

void clamp_to_box(const ChannelBox& box, TensorView<float> x) {
    NST_REQUIRE(x.shape.c == 3, "clamp_to_box: expected 3 channels, got " + x.shape.str());
    const std::size_t plane = x.shape.plane();
    for (int n = 0; n < x.shape.n; ++n)
        for (int c = 0; c < 3; ++c) {
            float* p = x.data + (std::size_t(n) * 3 + std::size_t(c)) * plane;
            const float lo = box.lo[c], hi = box.hi[c];
            // Comparisons that a NaN fails leave it in place.
            for (std::size_t i = 0; i < plane; ++i) p[i] = p[i] < lo ? lo : (p[i] > hi ? hi : p[i]);
        }
}

}  // namespace nst
