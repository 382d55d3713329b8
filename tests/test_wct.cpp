// SPDX-License-Identifier: MIT
// WCT (nn/wct.h) against what it must satisfy and against the paper's formula computed here
// independently: moments by plain double loops, eigendecompositions by a cyclic Jacobi written in
// this file (not LAPACK), E D^p E^T assembled element by element. Features are random mixtures
// F = A Z + m, so that the covariances are full and far from diagonal.
//  - the coloured features (alpha 1) have the style's covariance and mean (1e-5 relative);
//  - whitened content has identity covariance over the kept subspace;
//  - alpha 0 returns the content bit for bit; alpha 0.6, PytorchWCT's +I, two styles blended:
//    equal the reference formula;
//  - rank-deficient and constant features are truncated, never NaN.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "core/error.h"
#include "nn/wct.h"
#include "test_util.h"

using namespace nst;
using test::random_tensor;

namespace {

using Mat = std::vector<double>;  // n x n row-major

// F = A Z + m per sample: A (C x C) and Z uniform, m per channel, all seeded.
Tensor<float> mixed_features(Shape s, std::uint64_t seed, double mean_scale = 2.0) {
    Tensor<float> z = random_tensor<float>(s, seed);
    Tensor<float> a = random_tensor<float>({1, 1, s.c, s.c}, seed + 100);
    Tensor<float> m = random_tensor<float>({1, 1, 1, s.c}, seed + 200, -mean_scale, mean_scale);
    Tensor<float> f(s);
    const std::size_t hw = s.plane();
    for (int n = 0; n < s.n; ++n)
        for (int i = 0; i < s.c; ++i)
            for (std::size_t p = 0; p < hw; ++p) {
                double v = m.data()[i];
                for (int j = 0; j < s.c; ++j)
                    v += a.data()[i * s.c + j] * z.data()[(std::size_t(n) * s.c + j) * hw + p];
                f.data()[(std::size_t(n) * s.c + i) * hw + p] = float(v);
            }
    return f;
}

struct Ref {
    std::vector<double> mean;
    Mat cov;
};

// Mean and covariance / (HW - 1) of sample n, plain double loops.
Ref ref_moments(const float* x, int c, std::size_t hw) {
    Ref r;
    r.mean.assign(c, 0.0);
    r.cov.assign(std::size_t(c) * c, 0.0);
    for (int i = 0; i < c; ++i) {
        for (std::size_t p = 0; p < hw; ++p) r.mean[i] += x[i * hw + p];
        r.mean[i] /= double(hw);
    }
    for (int i = 0; i < c; ++i)
        for (int j = 0; j < c; ++j) {
            double s = 0;
            for (std::size_t p = 0; p < hw; ++p) s += (x[i * hw + p] - r.mean[i]) * (x[j * hw + p] - r.mean[j]);
            r.cov[i * c + j] = s / double(hw - 1);
        }
    return r;
}

// Cyclic Jacobi: a = V^T diag(d) V; rows of V are the eigenvectors.
void jacobi(Mat a, int n, std::vector<double>& d, Mat& v) {
    v.assign(std::size_t(n) * n, 0.0);
    for (int i = 0; i < n; ++i) v[i * n + i] = 1;
    for (int sweep = 0; sweep < 100; ++sweep) {
        double off = 0;
        for (int p = 0; p < n; ++p)
            for (int q = p + 1; q < n; ++q) off += a[p * n + q] * a[p * n + q];
        if (off < 1e-30) break;
        for (int p = 0; p < n; ++p)
            for (int q = p + 1; q < n; ++q) {
                if (std::fabs(a[p * n + q]) < 1e-300) continue;
                const double theta = (a[q * n + q] - a[p * n + p]) / (2 * a[p * n + q]);
                const double t = (theta >= 0 ? 1 : -1) / (std::fabs(theta) + std::sqrt(theta * theta + 1));
                const double c = 1 / std::sqrt(t * t + 1), s = t * c;
                for (int k = 0; k < n; ++k) {  // columns p, q of a
                    const double akp = a[k * n + p], akq = a[k * n + q];
                    a[k * n + p] = c * akp - s * akq;
                    a[k * n + q] = s * akp + c * akq;
                }
                for (int k = 0; k < n; ++k) {  // rows p, q of a
                    const double apk = a[p * n + k], aqk = a[q * n + k];
                    a[p * n + k] = c * apk - s * aqk;
                    a[q * n + k] = s * apk + c * aqk;
                }
                for (int k = 0; k < n; ++k) {  // rows p, q of v
                    const double vp = v[p * n + k], vq = v[q * n + k];
                    v[p * n + k] = c * vp - s * vq;
                    v[q * n + k] = s * vp + c * vq;
                }
            }
    }
    d.resize(n);
    for (int i = 0; i < n; ++i) d[i] = a[i * n + i];
}

// E diag(d^power) E^T over d >= 1e-5.
Mat ref_power(const Mat& a, int n, double power) {
    std::vector<double> d;
    Mat v;
    jacobi(a, n, d, v);
    Mat out(std::size_t(n) * n, 0.0);
    for (int k = 0; k < n; ++k) {
        if (!(d[k] >= 1e-5)) continue;
        const double f = std::pow(d[k], power);
        for (int i = 0; i < n; ++i)
            for (int j = 0; j < n; ++j) out[i * n + j] += f * v[k * n + i] * v[k * n + j];
    }
    return out;
}

Mat matmul(const Mat& a, const Mat& b, int n) {
    Mat out(std::size_t(n) * n, 0.0);
    for (int i = 0; i < n; ++i)
        for (int k = 0; k < n; ++k)
            for (int j = 0; j < n; ++j) out[i * n + j] += a[i * n + k] * b[k * n + j];
    return out;
}

double rel_fro(const Mat& a, const Mat& b) { return test::rel_l2(a.data(), b.data(), a.size()); }

// y = alpha (sum_k w_k (K_k W (x - m_c) + m_k)) + (1 - alpha) x for one sample, all in double.
std::vector<double> ref_wct(const float* x, int c, std::size_t hw, const std::vector<const float*>& styles,
                            std::size_t style_hw, const std::vector<double>& w, double alpha, bool identity) {
    Ref rc = ref_moments(x, c, hw);
    if (identity)
        for (int i = 0; i < c; ++i) rc.cov[i * c + i] += 1;
    const Mat white = ref_power(rc.cov, c, -0.5);
    double wsum = 0;
    for (double v : w) wsum += v;
    Mat k(std::size_t(c) * c, 0.0);
    std::vector<double> m(c, 0.0);
    for (std::size_t s = 0; s < styles.size(); ++s) {
        const Ref rs = ref_moments(styles[s], c, style_hw);
        const Mat ks = ref_power(rs.cov, c, 0.5);
        for (std::size_t i = 0; i < k.size(); ++i) k[i] += w[s] / wsum * ks[i];
        for (int i = 0; i < c; ++i) m[i] += w[s] / wsum * rs.mean[i];
    }
    const Mat kw = matmul(k, white, c);
    std::vector<double> y(std::size_t(c) * hw);
    for (int i = 0; i < c; ++i)
        for (std::size_t p = 0; p < hw; ++p) {
            double v = m[i];
            for (int j = 0; j < c; ++j) v += kw[i * c + j] * (x[j * hw + p] - rc.mean[j]);
            y[i * hw + p] = alpha * v + (1 - alpha) * x[i * hw + p];
        }
    return y;
}

}  // namespace

TEST_CASE("wct: moments equal double loops and the whitening gives identity covariance") {
    const Shape s{1, 12, 9, 7};
    const Tensor<float> x = mixed_features(s, 11);
    const WctMoments m = cpu::wct_moments(x.view(), 0);
    const Ref r = ref_moments(x.data(), s.c, s.plane());
    CHECK(test::rel_l2(m.mean.data(), r.mean.data(), r.mean.size()) < 1e-6);
    CHECK(rel_fro(m.cov, r.cov) < 1e-6);
    // W S W = I (full rank: 63 positions, 12 channels), S the covariance W was made from (the
    // code's, of the float-centred features; it differs from the exact one by ~1e-7, which the
    // whitening amplifies by the condition number).
    const Mat white = wct_whitening(m, {});
    const Mat wsw = matmul(matmul(white, m.cov, s.c), white, s.c);
    Mat eye(std::size_t(s.c) * s.c, 0.0);
    for (int i = 0; i < s.c; ++i) eye[i * s.c + i] = 1;
    const double err = rel_fro(wsw, eye);
    MESSAGE("whitened covariance vs I: " << err);
    CHECK(err < 1e-10);
    // The whitening matrix itself vs Jacobi's from the same covariance, and from the exact one.
    const double err_same = rel_fro(white, ref_power(m.cov, s.c, -0.5));
    const double err_exact = rel_fro(white, ref_power(r.cov, s.c, -0.5));
    MESSAGE("whitening vs Jacobi: " << err_same << " (same covariance), " << err_exact << " (exact covariance)");
    CHECK(err_same < 1e-10);
    CHECK(err_exact < 1e-5);

    // More positions than one accumulation block (8192): the blocks add up to the whole.
    const Shape big{1, 3, 97, 91};
    const Tensor<float> xb = mixed_features(big, 12);
    const WctMoments mb = cpu::wct_moments(xb.view(), 0);
    const Ref rb = ref_moments(xb.data(), big.c, big.plane());
    CHECK(rel_fro(mb.cov, rb.cov) < 1e-6);
}

TEST_CASE("wct: coloured features have the style's covariance and mean") {
    for (const Shape cs : {Shape{1, 16, 10, 9}, Shape{2, 8, 6, 5}}) {
        const Shape ss{1, cs.c, 11, 13};
        const Tensor<float> content = mixed_features(cs, 21);
        const Tensor<float> style = mixed_features(ss, 31, 5.0);
        Tensor<float> y(cs);
        const WctMoments sm = cpu::wct_moments(style.view(), 0);
        cpu::wct_forward(y.view(), content.view(), {sm}, {1.0}, 1.0, {});
        const Ref rs = ref_moments(style.data(), ss.c, ss.plane());
        for (int n = 0; n < cs.n; ++n) {
            const Ref ry = ref_moments(y.data() + std::size_t(n) * cs.c * cs.plane(), cs.c, cs.plane());
            const double cov_err = rel_fro(ry.cov, rs.cov);
            const double mean_err = test::rel_l2(ry.mean.data(), rs.mean.data(), rs.mean.size());
            MESSAGE("C " << cs.c << " sample " << n << ": covariance " << cov_err << ", mean " << mean_err);
            CHECK(cov_err < 1e-5);
            CHECK(mean_err < 1e-5);
            // And the formula itself.
            const std::vector<double> ref = ref_wct(content.data() + std::size_t(n) * cs.c * cs.plane(), cs.c,
                                                    cs.plane(), {style.data()}, ss.plane(), {1.0}, 1.0, false);
            CHECK(test::rel_l2(y.data() + std::size_t(n) * cs.c * cs.plane(), ref.data(), ref.size()) < 1e-5);
        }
    }
}

TEST_CASE("wct: alpha blend and the port's identity on the content covariance vs the formula") {
    const Shape cs{1, 10, 8, 8}, ss{1, 10, 7, 9};
    const Tensor<float> content = mixed_features(cs, 41);
    const Tensor<float> style = mixed_features(ss, 51);
    const WctMoments sm = cpu::wct_moments(style.view(), 0);
    Tensor<float> y(cs);
    cpu::wct_forward(y.view(), content.view(), {sm}, {1.0}, 0.0, {});
    for (std::size_t i = 0; i < y.numel(); ++i) REQUIRE(y.data()[i] == content.data()[i]);
    for (const bool identity : {false, true}) {
        WctOptions o;
        o.content_identity = identity;
        cpu::wct_forward(y.view(), content.view(), {sm}, {1.0}, 0.6, o);
        const std::vector<double> ref =
            ref_wct(content.data(), cs.c, cs.plane(), {style.data()}, ss.plane(), {1.0}, 0.6, identity);
        const double err = test::rel_l2(y.data(), ref.data(), ref.size());
        MESSAGE("alpha 0.6, +I " << identity << ": " << err);
        CHECK(err < 1e-5);
    }
    // In place (y aliases the content).
    Tensor<float> z = content.clone();
    cpu::wct_forward(z.view(), z.view(), {sm}, {1.0}, 0.6, {});
    const std::vector<double> ref = ref_wct(content.data(), cs.c, cs.plane(), {style.data()}, ss.plane(), {1.0}, 0.6, false);
    CHECK(test::rel_l2(z.data(), ref.data(), ref.size()) < 1e-5);
}

TEST_CASE("wct: two styles blend their coloured features by weight") {
    const Shape cs{1, 9, 8, 7}, ss{1, 9, 9, 9};
    const Tensor<float> content = mixed_features(cs, 61);
    const Tensor<float> s1 = mixed_features(ss, 71), s2 = mixed_features(ss, 81, 4.0);
    Tensor<float> y(cs);
    cpu::wct_forward(y.view(), content.view(), {cpu::wct_moments(s1.view(), 0), cpu::wct_moments(s2.view(), 0)},
                     {3.0, 1.0}, 0.8, {});
    const std::vector<double> ref =
        ref_wct(content.data(), cs.c, cs.plane(), {s1.data(), s2.data()}, ss.plane(), {3.0, 1.0}, 0.8, false);
    const double err = test::rel_l2(y.data(), ref.data(), ref.size());
    MESSAGE("two styles: " << err);
    CHECK(err < 1e-5);
}

TEST_CASE("wct: rank-deficient and constant features are truncated without NaN") {
    // 16 channels at 3 x 2 = 6 positions: the covariances have rank <= 5.
    const Shape cs{1, 16, 3, 2}, ss{1, 16, 2, 2};
    const Tensor<float> content = mixed_features(cs, 91);
    const Tensor<float> style = mixed_features(ss, 92);
    const WctMoments cm = cpu::wct_moments(content.view(), 0);
    const Mat white = wct_whitening(cm, {});
    // W S W is the projector onto the kept eigenspace: idempotent, trace = rank = 5.
    const Mat p = matmul(matmul(white, cm.cov, cs.c), white, cs.c);
    double trace = 0;
    for (int i = 0; i < cs.c; ++i) trace += p[i * cs.c + i];
    CHECK(trace == doctest::Approx(5.0).epsilon(1e-6));
    CHECK(rel_fro(matmul(p, p, cs.c), p) < 1e-6);
    Tensor<float> y(cs);
    cpu::wct_forward(y.view(), content.view(), {cpu::wct_moments(style.view(), 0)}, {1.0}, 1.0, {});
    for (std::size_t i = 0; i < y.numel(); ++i) REQUIRE(std::isfinite(y.data()[i]));
    const std::vector<double> ref =
        ref_wct(content.data(), cs.c, cs.plane(), {style.data()}, ss.plane(), {1.0}, 1.0, false);
    CHECK(test::rel_l2(y.data(), ref.data(), ref.size()) < 1e-4);

    // A constant content: every eigenvalue is 0, all truncated: the output is the style's mean.
    Tensor<float> flat(Shape{1, 16, 4, 4});
    for (std::size_t i = 0; i < flat.numel(); ++i) flat.data()[i] = float(i / 16) * 0.25f;
    Tensor<float> yf(flat.shape());
    const WctMoments sm = cpu::wct_moments(style.view(), 0);
    cpu::wct_forward(yf.view(), flat.view(), {sm}, {1.0}, 1.0, {});
    for (int c = 0; c < 16; ++c)
        for (int i = 0; i < 16; ++i) REQUIRE(yf.data()[c * 16 + i] == doctest::Approx(sm.mean[c]).epsilon(1e-6));
    // A constant style: the output is its constant.
    const Tensor<float> varied = mixed_features(flat.shape(), 93);
    cpu::wct_forward(yf.view(), varied.view(), {cpu::wct_moments(flat.view(), 0)}, {1.0}, 1.0, {});
    for (int c = 0; c < 16; ++c)
        for (int i = 0; i < 16; ++i) REQUIRE(yf.data()[c * 16 + i] == doctest::Approx(c * 0.25).epsilon(1e-6));
}

TEST_CASE("wct: alpha weights and size validation") {
    const Shape cs{1, 4, 3, 3};
    const Tensor<float> content = mixed_features(cs, 5);
    const WctMoments sm = cpu::wct_moments(content.view(), 0);
    Tensor<float> y(cs);
    auto code = [&](auto&& f) {
        try {
            f();
        } catch (const Error& e) {
            return int(e.code());
        }
        return 0;
    };
    CHECK(code([&] { cpu::wct_forward(y.view(), content.view(), {sm}, {1.0}, 1.5, {}); }) == 2);
    CHECK(code([&] { cpu::wct_forward(y.view(), content.view(), {sm}, {-1.0}, 0.5, {}); }) == 2);
    CHECK(code([&] { cpu::wct_forward(y.view(), content.view(), {sm}, {0.0}, 0.5, {}); }) == 2);
    CHECK(code([&] { cpu::wct_forward(y.view(), content.view(), {}, {}, 0.5, {}); }) == 2);
    const Tensor<float> one = random_tensor<float>({1, 4, 1, 1}, 3);
    Tensor<float> y1(one.shape());
    CHECK(code([&] { cpu::wct_forward(y1.view(), one.view(), {sm}, {1.0}, 0.5, {}); }) == 3);
    const Tensor<float> other = random_tensor<float>({1, 5, 3, 3}, 3);
    CHECK(code([&] { cpu::wct_forward(y.view(), content.view(), {cpu::wct_moments(other.view(), 0)}, {1.0}, 0.5, {}); }) == 3);
}
