// SPDX-License-Identifier: MIT
// AdaIN on the CPU (nn/adain.h). One plane (n, c) per OpenMP iteration; statistics in double by
// two passes (the centred second pass does not cancel on planes with a large mean); each output
// value computed in double and rounded once, like the kernels/adain.cu twin.
#include "nn/adain.h"

#include <cmath>
#include <string>

#include "core/error.h"

namespace nst::cpu {

namespace {

// sigma of one plane of n values under `stats` and `role` (nn/adain.h), with its mean.
void plane_stats(const float* x, std::size_t n, AdainStats stats, AdainRole role, double& mean, double& sigma) {
    double s = 0;
    for (std::size_t i = 0; i < n; ++i) s += double(x[i]);
    mean = s / double(n);
    double q = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const double d = double(x[i]) - mean;
        q += d * d;
    }
    if (stats == AdainStats::Port) {
        sigma = std::sqrt(q / double(n - 1) + kAdainEps);
    } else {
        sigma = role == AdainRole::Content ? std::sqrt(q / double(n) + kAdainEps) : std::sqrt(q / double(n));
    }
}

void check_planes(const Shape& x, AdainStats stats, const char* what) {
    NST_REQUIRE(x.plane() > 0, std::string(what) + ": empty planes");
    if (stats == AdainStats::Port && x.plane() < 2)
        throw_input(std::string(what) + ": 1 x 1 feature maps have no unbiased variance (use the official statistics)");
}

void check_style(const Shape& content, const Shape& mean, const Shape& std, const char* what) {
    NST_REQUIRE(mean == std && (mean.n == content.n || mean.n == 1) && mean.c == content.c && mean.h == 1 &&
                    mean.w == 1,
                std::string(what) + ": style statistics " + mean.str() + " / " + std.str() + " for content " +
                    content.str());
}

}  // namespace

void adain_channel_stats(TensorView<float> mean, TensorView<float> std, ConstView<float> x, AdainStats stats,
                         AdainRole role) {
    const Shape st{x.shape.n, x.shape.c, 1, 1};
    NST_REQUIRE(mean.shape == st && std.shape == st,
                "adain_channel_stats: shapes x " + x.shape.str() + ", mean " + mean.shape.str() + ", std " +
                    std.shape.str());
    check_planes(x.shape, stats, "adain_channel_stats");
    const int planes = x.shape.n * x.shape.c;
    const std::size_t n = x.shape.plane();
#pragma omp parallel for schedule(static)
    for (int p = 0; p < planes; ++p) {
        double m, s;
        plane_stats(x.data + std::size_t(p) * n, n, stats, role, m, s);
        mean.data[p] = float(m);
        std.data[p] = float(s);
    }
}

void adain_forward(TensorView<float> y, ConstView<float> content, ConstView<float> style_mean,
                   ConstView<float> style_std, AdainStats stats) {
    adain_blend(y, content, {AdainStyleStats{style_mean, style_std}}, {1.0}, 1.0, stats);
}

std::vector<double> adain_normalised_weights(const std::vector<double>& weights) {
    if (weights.empty()) throw_usage("AdaIN: no style weights");
    double sum = 0;
    for (double w : weights) {
        if (!std::isfinite(w) || w < 0)
            throw_usage("AdaIN: style weights must be finite and non-negative, got " + std::to_string(w));
        sum += w;
    }
    if (!(sum > 0)) throw_usage("AdaIN: the style weights are all zero");
    std::vector<double> out;
    out.reserve(weights.size());
    for (double w : weights) out.push_back(w / sum);
    return out;
}

void adain_blend(TensorView<float> y, ConstView<float> content, const std::vector<AdainStyleStats>& styles,
                 const std::vector<double>& weights, double alpha, AdainStats stats) {
    NST_REQUIRE(y.shape == content.shape, "adain_blend: y " + y.shape.str() + " for content " + content.shape.str());
    NST_REQUIRE(styles.size() == weights.size(), "adain_blend: one weight per style");
    if (!(alpha >= 0 && alpha <= 1)) throw_usage("AdaIN: alpha must be in [0, 1], got " + std::to_string(alpha));
    const std::vector<double> w = adain_normalised_weights(weights);
    for (const AdainStyleStats& s : styles) check_style(content.shape, s.mean.shape, s.std.shape, "adain_blend");
    check_planes(content.shape, stats, "adain_blend");
    const int planes = content.shape.n * content.shape.c, channels = content.shape.c;
    const std::size_t n = content.shape.plane();
    const std::size_t k_styles = styles.size();
#pragma omp parallel for schedule(static)
    for (int p = 0; p < planes; ++p) {
        const float* xp = content.data + std::size_t(p) * n;
        float* yp = y.data + std::size_t(p) * n;
        double mu, sigma;
        plane_stats(xp, n, stats, AdainRole::Content, mu, sigma);
        // t = sum_k w_k ((x - mu) sigma_k / sigma + mu_k) = (x - mu) a + b.
        double a = 0, b = 0;
        for (std::size_t k = 0; k < k_styles; ++k) {
            const int q = styles[k].mean.shape.n == 1 ? p % channels : p;
            a += w[k] * (double(styles[k].std.data[q]) / sigma);
            b += w[k] * double(styles[k].mean.data[q]);
        }
        for (std::size_t i = 0; i < n; ++i) {
            const double x = double(xp[i]);
            const double t = (x - mu) * a + b;
            yp[i] = float((1 - alpha) * x + alpha * t);
        }
    }
}

bool has_constant_channel(ConstView<float> x) {
    const int planes = x.shape.n * x.shape.c;
    const std::size_t n = x.shape.plane();
    for (int p = 0; p < planes; ++p) {
        const float* xp = x.data + std::size_t(p) * n;
        bool constant = true;
        for (std::size_t i = 1; i < n && constant; ++i) constant = xp[i] == xp[0];
        if (constant) return true;
    }
    return false;
}

}  // namespace nst::cpu
