// SPDX-License-Identifier: MIT
// WCT on the CPU and the host half of the CUDA path (nn/wct.h): moments in double, the C x C
// algebra in double through LAPACK/BLAS, the application as an SGEMM on centred floats.
#include "nn/wct.h"

#include <cblas.h>

#include <climits>
#include <cmath>
#include <cstring>
#include <string>

#include "core/error.h"
#include "nn/sym_eigen.h"

namespace nst {

namespace {

std::vector<double> normalised_weights(const std::vector<double>& weights) {
    if (weights.empty()) throw_usage("WCT: no style weights");
    double sum = 0;
    for (double w : weights) {
        if (!std::isfinite(w) || w < 0)
            throw_usage("WCT: style weights must be finite and non-negative, got " + std::to_string(w));
        sum += w;
    }
    if (!(sum > 0)) throw_usage("WCT: the style weights are all zero");
    std::vector<double> out;
    for (double w : weights) out.push_back(w / sum);
    return out;
}

void check_moments(const WctMoments& m, const char* what) {
    const std::size_t c = std::size_t(m.channels);
    NST_REQUIRE(m.channels > 0 && m.mean.size() == c && m.cov.size() == c * c,
                std::string(what) + ": malformed moments");
}

}  // namespace

std::vector<double> wct_whitening(const WctMoments& content, const WctOptions& options) {
    check_moments(content, "wct_whitening");
    std::vector<double> s = content.cov;
    if (options.content_identity)
        for (int i = 0; i < content.channels; ++i) s[std::size_t(i) * std::size_t(content.channels + 1)] += 1.0;
    return sym_power(sym_eigen(s, content.channels), -0.5, options.truncation);
}

std::vector<double> wct_colouring(const WctMoments& style, const WctOptions& options) {
    check_moments(style, "wct_colouring");
    return sym_power(sym_eigen(style.cov, style.channels), 0.5, options.truncation);
}

WctTransform wct_transform(const WctMoments& content, const std::vector<WctMoments>& styles,
                           const std::vector<double>& weights, double alpha, const WctOptions& options) {
    check_moments(content, "wct_transform");
    NST_REQUIRE(styles.size() == weights.size(), "wct_transform: one weight per style");
    if (!(alpha >= 0 && alpha <= 1)) throw_usage("WCT: alpha must be in [0, 1], got " + std::to_string(alpha));
    const std::vector<double> w = normalised_weights(weights);
    const int c = content.channels;
    const std::size_t cc = std::size_t(c) * std::size_t(c);
    // K = sum_k w_k K_k and m = sum_k w_k m_k.
    std::vector<double> k_sum(cc, 0.0), m_sum(std::size_t(c), 0.0);
    for (std::size_t k = 0; k < styles.size(); ++k) {
        check_moments(styles[k], "wct_transform");
        if (styles[k].channels != c)
            throw_input("WCT: style features have " + std::to_string(styles[k].channels) + " channels, content " +
                        std::to_string(c));
        if (w[k] == 0) continue;
        const std::vector<double> kk = wct_colouring(styles[k], options);
        for (std::size_t i = 0; i < cc; ++i) k_sum[i] += w[k] * kk[i];
        for (int i = 0; i < c; ++i) m_sum[std::size_t(i)] += w[k] * styles[k].mean[std::size_t(i)];
    }
    const std::vector<double> white = wct_whitening(content, options);
    WctTransform t;
    t.channels = c;
    t.matrix.assign(cc, 0.0);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, c, c, c, alpha, k_sum.data(), c, white.data(), c, 0.0,
                t.matrix.data(), c);
    for (int i = 0; i < c; ++i) t.matrix[std::size_t(i) * std::size_t(c + 1)] += 1 - alpha;
    t.shift.resize(std::size_t(c));
    for (int i = 0; i < c; ++i)
        t.shift[std::size_t(i)] = alpha * m_sum[std::size_t(i)] + (1 - alpha) * content.mean[std::size_t(i)];
    return t;
}

namespace cpu {

namespace {

// Covariance Fc Fc^T / (HW - 1) of c centred rows of hw floats, in double: DSYRK over column
// blocks converted to double (a block at a time, so that relu1_1 of a large image does not need a
// double copy of the whole map), accumulated in a fixed order.
std::vector<double> covariance(const float* centred, int c, std::size_t hw) {
    NST_REQUIRE(hw <= std::size_t(INT_MAX), "WCT: feature map too large for BLAS");
    constexpr std::size_t kBlock = 8192;
    const std::size_t block = hw < kBlock ? hw : kBlock;
    std::vector<double> f(std::size_t(c) * block);
    std::vector<double> s(std::size_t(c) * std::size_t(c), 0.0);
    for (std::size_t start = 0; start < hw; start += block) {
        const std::size_t cols = hw - start < block ? hw - start : block;
        for (int i = 0; i < c; ++i)
            for (std::size_t j = 0; j < cols; ++j) f[std::size_t(i) * cols + j] = double(centred[std::size_t(i) * hw + start + j]);
        // Upper triangle (row-major) += F_block F_block^T.
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, c, int(cols), 1.0, f.data(), int(cols), 1.0, s.data(), c);
    }
    const double scale = 1.0 / double(hw - 1);
    for (int i = 0; i < c; ++i)
        for (int j = i; j < c; ++j) {
            const double v = s[std::size_t(i) * c + j] * scale;
            s[std::size_t(i) * c + j] = v;
            s[std::size_t(j) * c + i] = v;  // mirrored: both halves the same bits
        }
    return s;
}

void check_positions(const Shape& s) {
    if (s.plane() < 2)
        throw_input("WCT: " + std::to_string(s.h) + " x " + std::to_string(s.w) +
                    " feature maps have no covariance (at least 2 positions are needed): the image is too small");
}

}  // namespace

void wct_center(float* centred, double* mean, const float* x, int planes, std::size_t plane) {
#pragma omp parallel for schedule(static)
    for (int p = 0; p < planes; ++p) {
        const float* xp = x + std::size_t(p) * plane;
        float* cp = centred + std::size_t(p) * plane;
        double s = 0;
        for (std::size_t i = 0; i < plane; ++i) s += double(xp[i]);
        const double m = s / double(plane);
        mean[p] = m;
        for (std::size_t i = 0; i < plane; ++i) cp[i] = float(double(xp[i]) - m);
    }
}

void wct_shift(float* y, const float* shift, int planes, std::size_t plane) {
#pragma omp parallel for schedule(static)
    for (int p = 0; p < planes; ++p) {
        float* yp = y + std::size_t(p) * plane;
        const float b = shift[p];
        for (std::size_t i = 0; i < plane; ++i) yp[i] = yp[i] + b;
    }
}

WctMoments wct_moments(ConstView<float> x, int n) {
    NST_REQUIRE(n >= 0 && n < x.shape.n, "wct_moments: sample out of range");
    check_positions(x.shape);
    const int c = x.shape.c;
    const std::size_t hw = x.shape.plane();
    std::vector<float> centred(std::size_t(c) * hw);
    WctMoments m;
    m.channels = c;
    m.mean.resize(std::size_t(c));
    wct_center(centred.data(), m.mean.data(), x.data + std::size_t(n) * std::size_t(c) * hw, c, hw);
    m.cov = covariance(centred.data(), c, hw);
    return m;
}

void wct_forward(TensorView<float> y, ConstView<float> content, const std::vector<WctMoments>& styles,
                 const std::vector<double>& weights, double alpha, const WctOptions& options) {
    NST_REQUIRE(y.shape == content.shape, "wct_forward: y " + y.shape.str() + " for content " + content.shape.str());
    check_positions(content.shape);
    const int c = content.shape.c;
    const std::size_t hw = content.shape.plane(), sample = std::size_t(c) * hw;
    if (alpha == 0) {
        // Validate what the transform would (weights, channels) and copy: exactly the content.
        (void)normalised_weights(weights);
        for (const WctMoments& s : styles)
            if (s.channels != c) throw_input("WCT: style features have " + std::to_string(s.channels) + " channels, content " + std::to_string(c));
        if (y.data != content.data) std::memcpy(y.data, content.data, content.numel() * sizeof(float));
        return;
    }
    std::vector<float> centred(sample), matrix(std::size_t(c) * std::size_t(c)), shift(static_cast<std::size_t>(c));
    for (int n = 0; n < content.shape.n; ++n) {
        WctMoments m;
        m.channels = c;
        m.mean.resize(std::size_t(c));
        wct_center(centred.data(), m.mean.data(), content.data + std::size_t(n) * sample, c, hw);
        m.cov = covariance(centred.data(), c, hw);
        const WctTransform t = wct_transform(m, styles, weights, alpha, options);
        for (std::size_t i = 0; i < matrix.size(); ++i) matrix[i] = float(t.matrix[i]);
        for (int i = 0; i < c; ++i) shift[std::size_t(i)] = float(t.shift[std::size_t(i)]);
        float* yn = y.data + std::size_t(n) * sample;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, c, int(hw), c, 1.0f, matrix.data(), c, centred.data(),
                    int(hw), 0.0f, yn, int(hw));
        wct_shift(yn, shift.data(), c, hw);
    }
}

}  // namespace cpu
}  // namespace nst
