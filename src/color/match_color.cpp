// SPDX-License-Identifier: MIT
#include "color/match_color.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace nst::color {

namespace {

void check_rgb(ConstView<float> rgb, const char* what) {
    NST_REQUIRE(rgb.device == Device::Host, std::string(what) + ": colour transforms run on host tensors");
    NST_REQUIRE(rgb.shape.n == 1 && rgb.shape.c == 3 && rgb.shape.plane() > 0,
                std::string(what) + ": expected a non-empty (1, 3, H, W) image, got " + rgb.shape.str());
}

Mat3 with_eps(const Mat3& cov, double eps) { return cov + scaled(identity3(), eps); }

[[noreturn]] void singular(const char* which, MatchMode mode) {
    throw_input(std::string("match-color ") + match_mode_name(mode) + ": the " + which +
                " image's colour covariance is singular (a grey or two-colour image); use an eps > 0");
}

}  // namespace

MatchMode parse_match_mode(const std::string& name, const std::string& option) {
    if (name == "chol") return MatchMode::Chol;
    if (name == "pca") return MatchMode::Pca;
    if (name == "sym") return MatchMode::Sym;
    throw_usage(option + ": unknown mode '" + name + "' (choose chol, pca or sym)");
}

const char* match_mode_name(MatchMode mode) {
    switch (mode) {
        case MatchMode::Chol: return "chol";
        case MatchMode::Pca: return "pca";
        case MatchMode::Sym: return "sym";
    }
    return "?";
}

ColorStats color_stats(ConstView<float> rgb) {
    check_rgb(rgb, "color_stats");
    const std::size_t n = rgb.shape.plane();
    const float* ch[3] = {rgb.data, rgb.data + n, rgb.data + 2 * n};
    ColorStats s;
    // Two passes (mean, then centred products): no cancellation for the nearly constant
    // images where the covariance is smallest and matters most.
    for (int c = 0; c < 3; ++c) {
        double sum = 0;
        for (std::size_t i = 0; i < n; ++i) sum += ch[c][i];
        s.mean[c] = sum / double(n);
    }
    Mat3 acc{};
    for (std::size_t i = 0; i < n; ++i) {
        const double d[3] = {ch[0][i] - s.mean[0], ch[1][i] - s.mean[1], ch[2][i] - s.mean[2]};
        for (int a = 0; a < 3; ++a)
            for (int b = a; b < 3; ++b) acc[a][b] += d[a] * d[b];
    }
    for (int a = 0; a < 3; ++a)
        for (int b = a; b < 3; ++b) s.cov[a][b] = s.cov[b][a] = acc[a][b] / double(n);
    return s;
}

bool has_color_variation(ConstView<float> rgb) {
    check_rgb(rgb, "has_color_variation");
    // Exact comparison with the first pixel: "constant" means bit-equal values, so the answer
    // does not depend on a threshold (a nearly constant image is legal; eps keeps it invertible).
    const std::size_t n = rgb.shape.plane();
    for (int c = 0; c < 3; ++c) {
        const float* p = rgb.data + c * n;
        for (std::size_t i = 1; i < n; ++i)
            if (p[i] != p[0]) return true;
    }
    return false;
}

void require_color_variation(ConstView<float> rgb, const std::string& what) {
    if (!has_color_variation(rgb))
        throw_input(what + ": has no colour variation (every pixel is the same colour), so there are no colour "
                           "statistics to match; use an image with more than one colour");
}

ColorMap match_color_map(const ColorStats& target, const ColorStats& source, MatchMode mode, double eps) {
    NST_REQUIRE(std::isfinite(eps) && eps >= 0, "match_color_map: eps must be finite and >= 0");
    const Mat3 ct = with_eps(target.cov, eps), cs = with_eps(source.cov, eps);
    ColorMap m;
    switch (mode) {
        case MatchMode::Chol: {
            Mat3 lt, ls;
            if (!cholesky(ct, lt)) singular("target", mode);
            if (!cholesky(cs, ls)) singular("source", mode);
            m.a = ls * lower_inverse(lt);
            break;
        }
        case MatchMode::Pca: {
            Mat3 qs, qt_inv;
            if (!symmetric_inverse_sqrt(ct, qt_inv)) singular("target", mode);
            if (!symmetric_sqrt(cs, qs)) singular("source", mode);
            m.a = qs * qt_inv;
            break;
        }
        case MatchMode::Sym: {
            Mat3 qt, qt_inv, mid;
            if (!symmetric_sqrt(ct, qt) || !symmetric_inverse_sqrt(ct, qt_inv)) singular("target", mode);
            if (!symmetric_sqrt(qt * cs * qt, mid)) singular("source", mode);
            m.a = qt_inv * mid * qt_inv;
            break;
        }
    }
    const Vec3 am = m.a * target.mean;
    for (int c = 0; c < 3; ++c) m.b[c] = source.mean[c] - am[c];
    return m;
}

void apply_color_map(TensorView<float> out, ConstView<float> rgb, const ColorMap& map) {
    check_rgb(rgb, "apply_color_map");
    NST_REQUIRE(out.shape == rgb.shape && out.device == Device::Host, "apply_color_map: shapes differ");
    const std::size_t n = rgb.shape.plane();
    for (std::size_t i = 0; i < n; ++i) {
        // All three inputs are read before any output is written, so out may alias rgb.
        const Vec3 x = {rgb.data[i], rgb.data[n + i], rgb.data[2 * n + i]};
        const Vec3 y = map.a * x;
        for (int c = 0; c < 3; ++c) out.data[c * n + i] = float(std::clamp(y[c] + map.b[c], 0.0, 1.0));
    }
}

Tensor<float> match_color(ConstView<float> target, ConstView<float> source, MatchMode mode, double eps) {
    const ColorMap map = match_color_map(color_stats(target), color_stats(source), mode, eps);
    Tensor<float> out(target.shape);
    apply_color_map(out.view(), target, map);
    return out;
}

}  // namespace nst::color
