// SPDX-License-Identifier: MIT
// Region AdaIN on the CPU (nn/adain_regions.h). One channel per OpenMP iteration; per region,
// two passes in double (sum, then centred squares) over the channel's plane, as nn/adain.cpp
// does per plane, and each output value computed in double and rounded once, like the
// kernels/adain_regions.cu twin.
#include "nn/adain_regions.h"

#include <cmath>
#include <string>

#include "core/error.h"

namespace nst::cpu {

std::vector<std::size_t> region_pixel_counts(const std::vector<std::int32_t>& labels, int regions) {
    std::vector<std::size_t> counts(std::size_t(regions), 0);
    for (std::int32_t l : labels) {
        if (l < 0 || l >= regions)
            throw_input("AdaIN regions: pixel label " + std::to_string(l) + " outside [0, " +
                        std::to_string(regions) + ")");
        ++counts[std::size_t(l)];
    }
    return counts;
}

void check_region_counts(const std::vector<std::size_t>& counts, AdainStats stats) {
    for (std::size_t k = 0; k < counts.size(); ++k)
        if (stats == AdainStats::Port && counts[k] == 1)
            throw_input("mask " + std::to_string(k + 1) +
                        " covers a single pixel of the relu4_1 feature map (an 8 x 8 block of the image): "
                        "no unbiased variance (enlarge the region, or use --adain-stats official)");
}

void adain_regions(TensorView<float> y, ConstView<float> content, const std::vector<std::int32_t>& labels,
                   const std::vector<AdainStyleStats>& styles, double alpha, AdainStats stats) {
    const Shape s = content.shape;
    NST_REQUIRE(s.n == 1 && y.shape == s, "adain_regions: y " + y.shape.str() + ", content " + s.str());
    NST_REQUIRE(labels.size() == s.plane(), "adain_regions: one label per pixel");
    if (!(alpha >= 0 && alpha <= 1)) throw_usage("AdaIN: alpha must be in [0, 1], got " + std::to_string(alpha));
    const int regions = int(styles.size());
    NST_REQUIRE(regions >= 1, "adain_regions: no styles");
    for (const AdainStyleStats& st : styles)
        NST_REQUIRE(st.mean.shape == (Shape{1, s.c, 1, 1}) && st.std.shape == st.mean.shape,
                    "adain_regions: style statistics " + st.mean.shape.str() + " for content " + s.str());
    const std::vector<std::size_t> counts = region_pixel_counts(labels, regions);
    check_region_counts(counts, stats);
    const std::size_t n = s.plane();
#pragma omp parallel for schedule(static)
    for (int c = 0; c < s.c; ++c) {
        const float* xp = content.data + std::size_t(c) * n;
        float* yp = y.data + std::size_t(c) * n;
        std::vector<double> sum(std::size_t(regions), 0.0), sq(std::size_t(regions), 0.0);
        for (std::size_t i = 0; i < n; ++i) sum[std::size_t(labels[i])] += double(xp[i]);
        for (int k = 0; k < regions; ++k)
            if (counts[std::size_t(k)]) sum[std::size_t(k)] /= double(counts[std::size_t(k)]);
        for (std::size_t i = 0; i < n; ++i) {
            const double d = double(xp[i]) - sum[std::size_t(labels[i])];
            sq[std::size_t(labels[i])] += d * d;
        }
        // Per region: t = (x - mu) a + b with a = sigma_style / sigma, b = mu_style.
        std::vector<double> a(std::size_t(regions), 0.0), b(std::size_t(regions), 0.0);
        for (int k = 0; k < regions; ++k) {
            const std::size_t m = counts[std::size_t(k)];
            if (!m) continue;
            const double var = sq[std::size_t(k)] / double(stats == AdainStats::Port ? m - 1 : m);
            a[std::size_t(k)] = double(styles[std::size_t(k)].std.data[c]) / std::sqrt(var + kAdainEps);
            b[std::size_t(k)] = double(styles[std::size_t(k)].mean.data[c]);
        }
        for (std::size_t i = 0; i < n; ++i) {
            const std::size_t k = std::size_t(labels[i]);
            const double x = double(xp[i]);
            const double t = (x - sum[k]) * a[k] + b[k];
            yp[i] = float((1 - alpha) * x + alpha * t);
        }
    }
}

}  // namespace nst::cpu
