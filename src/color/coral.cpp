// SPDX-License-Identifier: MIT
// coral (color/coral.h): statistics in double over the 3 x HW pixel matrix, then one 3x3 affine
// map applied per pixel (the composition of standardise, the two square roots and recolour).
#include "color/coral.h"

#include <cmath>

#include "core/error.h"

namespace nst::color {

namespace {

struct Standardised {
    Vec3 mean{}, std{};
    Mat3 s{};  // X̂ X̂ᵀ + I
};

Standardised standardise(ConstView<float> x, const std::string& what) {
    NST_REQUIRE(x.shape.n == 1 && x.shape.c == 3, "coral takes one RGB image, got " + x.shape.str());
    const std::size_t n = x.shape.plane();
    if (n < 2) throw_input(what + " has a single pixel: coral needs its colour spread");
    const float* p[3] = {x.data, x.data + n, x.data + 2 * n};
    Standardised st;
    for (int c = 0; c < 3; ++c) {
        double s = 0;
        for (std::size_t i = 0; i < n; ++i) s += double(p[c][i]);
        st.mean[c] = s / double(n);
        double q = 0;
        for (std::size_t i = 0; i < n; ++i) {
            const double d = double(p[c][i]) - st.mean[c];
            q += d * d;
        }
        st.std[c] = std::sqrt(q / double(n - 1));
        if (!(st.std[c] > 0)) {
            static const char* names[3] = {"red", "green", "blue"};
            throw_input(what + " has a constant " + names[c] +
                        " channel: colour preservation (coral) divides by each channel's spread");
        }
    }
    for (int a = 0; a < 3; ++a)
        for (int b = a; b < 3; ++b) {
            double q = 0;
            for (std::size_t i = 0; i < n; ++i)
                q += (double(p[a][i]) - st.mean[a]) / st.std[a] * ((double(p[b][i]) - st.mean[b]) / st.std[b]);
            st.s[a][b] = st.s[b][a] = q + (a == b ? 1.0 : 0.0);
        }
    return st;
}

}  // namespace

CoralMap coral_map(ConstView<float> source, ConstView<float> target, const std::string& what_source,
                   const std::string& what_target) {
    const Standardised s = standardise(source, what_source), t = standardise(target, what_target);
    Mat3 sqrt_t, inv_sqrt_s;
    // S = X̂X̂ᵀ + I has every eigenvalue >= 1: both roots exist.
    NST_REQUIRE(symmetric_sqrt(t.s, sqrt_t) && symmetric_inverse_sqrt(s.s, inv_sqrt_s),
                "coral: X^X^T + I not positive definite");
    const Mat3 m = sqrt_t * inv_sqrt_s;
    CoralMap out;
    for (int r = 0; r < 3; ++r) {
        double shift = 0;
        for (int c = 0; c < 3; ++c) {
            out.a[r][c] = t.std[r] * m[r][c] / s.std[c];
            shift += out.a[r][c] * s.mean[c];
        }
        out.b[r] = t.mean[r] - shift;
    }
    return out;
}

Tensor<float> coral(ConstView<float> source, ConstView<float> target, const std::string& what_source,
                    const std::string& what_target) {
    const CoralMap map = coral_map(source, target, what_source, what_target);
    Tensor<float> out(source.shape);
    const std::size_t n = source.shape.plane();
    for (std::size_t i = 0; i < n; ++i) {
        const Vec3 x{double(source.data[i]), double(source.data[n + i]), double(source.data[2 * n + i])};
        for (int r = 0; r < 3; ++r)
            out.data()[r * n + i] = float(map.a[r][0] * x[0] + map.a[r][1] * x[1] + map.a[r][2] * x[2] + map.b[r]);
    }
    return out;
}

}  // namespace nst::color
