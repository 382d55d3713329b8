// SPDX-License-Identifier: MIT
// AdaIN (nn/adain.h) against formulas written out here in double, numpy style: per plane the
// mean, the variance as sum((x - mean)^2) / (HW - 1) or / HW, and the transform element by
// element. Both conventions, batches 1 and 2, odd sizes, 2-3 style interpolation and the alpha
// trade-off. Results are floats of double computations, so 1e-6 relative to the data's scale
// leaves room for rounding only.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "core/error.h"
#include "nn/adain.h"
#include "test_util.h"

using namespace nst;
using cpu::AdainRole;
using cpu::AdainStats;
using test::random_tensor;

namespace {

struct RefStats {
    std::vector<double> mean, sigma;  // (N C)
};

// The conventions of nn/adain.h, written independently: torch.var(unbiased=True) + eps for
// Port; biased var + eps (content) or biased std (style) for Official.
RefStats ref_stats(const Tensor<float>& x, AdainStats stats, AdainRole role) {
    const Shape s = x.shape();
    const std::size_t hw = s.plane();
    RefStats r;
    for (int p = 0; p < s.n * s.c; ++p) {
        const float* xp = x.data() + std::size_t(p) * hw;
        double sum = 0;
        for (std::size_t i = 0; i < hw; ++i) sum += xp[i];
        const double m = sum / double(hw);
        double sq = 0;
        for (std::size_t i = 0; i < hw; ++i) sq += (xp[i] - m) * (xp[i] - m);
        double sigma;
        if (stats == AdainStats::Port)
            sigma = std::sqrt(sq / double(hw - 1) + 1e-5);
        else if (role == AdainRole::Content)
            sigma = std::sqrt(sq / double(hw) + 1e-5);
        else
            sigma = std::sqrt(sq / double(hw));
        r.mean.push_back(m);
        r.sigma.push_back(sigma);
    }
    return r;
}

// (1 - alpha) x + alpha sum_k w_k (sigma_k (x - mu) / sigma + mu_k); style stats from the
// float tensors the code is given.
std::vector<double> ref_blend(const Tensor<float>& x, const std::vector<const Tensor<float>*>& smean,
                              const std::vector<const Tensor<float>*>& sstd, std::vector<double> w, double alpha,
                              AdainStats stats) {
    double wsum = 0;
    for (double v : w) wsum += v;
    const Shape s = x.shape();
    const RefStats c = ref_stats(x, stats, AdainRole::Content);
    std::vector<double> out(x.numel());
    for (int n = 0; n < s.n; ++n)
        for (int ch = 0; ch < s.c; ++ch) {
            const int p = n * s.c + ch;
            for (std::size_t i = 0; i < s.plane(); ++i) {
                const std::size_t e = std::size_t(p) * s.plane() + i;
                const double xv = x.data()[e];
                double t = 0;
                for (std::size_t k = 0; k < w.size(); ++k) {
                    const int q = smean[k]->shape().n == 1 ? ch : p;
                    t += w[k] / wsum *
                         (double(sstd[k]->data()[q]) * (xv - c.mean[p]) / c.sigma[p] + double(smean[k]->data()[q]));
                }
                out[e] = (1 - alpha) * xv + alpha * t;
            }
        }
    return out;
}

double rel_err(const Tensor<float>& a, const std::vector<double>& ref) {
    double err = 0, scale = 0;
    for (std::size_t i = 0; i < ref.size(); ++i) {
        err = std::max(err, std::fabs(double(a.data()[i]) - ref[i]));
        scale = std::max(scale, std::fabs(ref[i]));
    }
    return scale > 0 ? err / scale : err;
}

double stats_err(const Tensor<float>& a, const std::vector<double>& ref) { return rel_err(a, ref); }

const AdainStats kBoth[] = {AdainStats::Port, AdainStats::Official};

}  // namespace

TEST_CASE("adain: channel statistics of both conventions vs double formulas") {
    const Shape shapes[] = {{1, 3, 5, 7}, {2, 4, 9, 11}, {2, 2, 1, 2}};
    for (AdainStats st : kBoth)
        for (AdainRole role : {AdainRole::Content, AdainRole::Style})
            for (const Shape& s : shapes) {
                // A large offset: the statistics must not cancel.
                const Tensor<float> x = random_tensor<float>(s, 11 + s.c, 40.0, 43.0);
                Tensor<float> mean(Shape{s.n, s.c, 1, 1}), sd(Shape{s.n, s.c, 1, 1});
                cpu::adain_channel_stats(mean, sd, x, st, role);
                const RefStats r = ref_stats(x, st, role);
                CAPTURE(s.str());
                CHECK(stats_err(mean, r.mean) < 1e-7);
                CHECK(stats_err(sd, r.sigma) < 1e-6);
            }
    // The conventions differ where the brief says: unbiased vs biased, eps or not on the style.
    const Tensor<float> x = random_tensor<float>(Shape{1, 1, 3, 3}, 5);
    Tensor<float> m(Shape{1, 1, 1, 1}), port(Shape{1, 1, 1, 1}), off_c(Shape{1, 1, 1, 1}), off_s(Shape{1, 1, 1, 1});
    cpu::adain_channel_stats(m, port, x, AdainStats::Port, AdainRole::Style);
    cpu::adain_channel_stats(m, off_c, x, AdainStats::Official, AdainRole::Content);
    cpu::adain_channel_stats(m, off_s, x, AdainStats::Official, AdainRole::Style);
    CHECK(port.data()[0] > off_c.data()[0]);
    CHECK(off_c.data()[0] > off_s.data()[0]);
}

TEST_CASE("adain: forward matches the per-channel transform for batch 1 and 2") {
    for (AdainStats st : kBoth)
        for (int batch : {1, 2})
            for (int style_batch : {1, batch}) {
                const Shape cs{batch, 5, 7, 9};
                const Tensor<float> content = random_tensor<float>(cs, 21 + batch, -2, 3);
                const Tensor<float> style = random_tensor<float>(Shape{style_batch, 5, 6, 5}, 33, 0, 4);
                Tensor<float> smean(Shape{style_batch, 5, 1, 1}), sstd(Shape{style_batch, 5, 1, 1});
                cpu::adain_channel_stats(smean, sstd, style, st, AdainRole::Style);
                Tensor<float> y(cs);
                cpu::adain_forward(y, content, smean, sstd, st);
                const std::vector<double> ref = ref_blend(content, {&smean}, {&sstd}, {1.0}, 1.0, st);
                CAPTURE(batch);
                CAPTURE(style_batch);
                CHECK(rel_err(y, ref) < 1e-6);
                // The output carries the style's statistics (Port: sigma ~ sqrt(var + eps) both sides).
                Tensor<float> ym(smean.shape()), ys(sstd.shape());
                if (style_batch == batch) {
                    cpu::adain_channel_stats(ym, ys, y, st, AdainRole::Style);
                    CHECK(stats_err(ym, std::vector<double>(smean.begin(), smean.end())) < 1e-5);
                }
            }
}

TEST_CASE("adain: interpolation of 2 and 3 styles and the alpha trade-off") {
    for (AdainStats st : kBoth) {
        const Shape cs{2, 3, 5, 5};
        const Tensor<float> content = random_tensor<float>(cs, 71, -1, 1);
        std::vector<Tensor<float>> means, stds;
        for (int k = 0; k < 3; ++k) {
            const Tensor<float> style = random_tensor<float>(Shape{1, 3, 4, 7}, 80 + k, -k, 2 + 3 * k);
            means.emplace_back(Shape{1, 3, 1, 1});
            stds.emplace_back(Shape{1, 3, 1, 1});
            cpu::adain_channel_stats(means.back(), stds.back(), style, st, AdainRole::Style);
        }
        for (int count : {2, 3})
            for (double alpha : {0.0, 0.5, 1.0}) {
                std::vector<cpu::AdainStyleStats> styles;
                std::vector<const Tensor<float>*> pm, ps;
                for (int k = 0; k < count; ++k) {
                    styles.push_back({means[k].cview(), stds[k].cview()});
                    pm.push_back(&means[k]);
                    ps.push_back(&stds[k]);
                }
                const std::vector<double> w = count == 2 ? std::vector<double>{1, 3} : std::vector<double>{0.2, 0, 0.5};
                Tensor<float> y(cs);
                cpu::adain_blend(y, content, styles, w, alpha, st);
                CAPTURE(count);
                CAPTURE(alpha);
                CHECK(rel_err(y, ref_blend(content, pm, ps, w, alpha, st)) < 1e-6);
                if (alpha == 0.0) {
                    bool exact = true;
                    for (std::size_t i = 0; i < y.numel(); ++i) exact = exact && y.data()[i] == content.data()[i];
                    CHECK(exact);
                }
            }
        // In place.
        Tensor<float> y(cs);
        std::copy(content.begin(), content.end(), y.begin());
        cpu::adain_blend(y, y, {{means[0].cview(), stds[0].cview()}}, {1}, 0.5, st);
        CHECK(rel_err(y, ref_blend(content, {&means[0]}, {&stds[0]}, {1}, 0.5, st)) < 1e-6);
    }
}

TEST_CASE("adain: weights and alpha validation") {
    CHECK(cpu::adain_normalised_weights({1, 3}) == std::vector<double>{0.25, 0.75});
    CHECK_THROWS_AS(cpu::adain_normalised_weights({}), Error);
    CHECK_THROWS_AS(cpu::adain_normalised_weights({0, 0}), Error);
    CHECK_THROWS_AS(cpu::adain_normalised_weights({1, -0.5}), Error);
    CHECK_THROWS_AS(cpu::adain_normalised_weights({1, NAN}), Error);
    const Tensor<float> content = random_tensor<float>(Shape{1, 2, 3, 3}, 3);
    Tensor<float> m(Shape{1, 2, 1, 1}), s(Shape{1, 2, 1, 1}), y(content.shape());
    cpu::adain_channel_stats(m, s, content, AdainStats::Port, AdainRole::Style);
    try {
        cpu::adain_blend(y, content, {{m.cview(), s.cview()}}, {1}, 1.5, AdainStats::Port);
        FAIL("alpha 1.5 accepted");
    } catch (const Error& e) {
        CHECK(e.code() == ExitCode::Usage);
    }
    CHECK_THROWS_AS(cpu::adain_blend(y, content, {{m.cview(), s.cview()}}, {0}, 1, AdainStats::Port), Error);
}

TEST_CASE("adain: constant planes give finite output and are reported") {
    Tensor<float> flat(Shape{1, 2, 4, 4});
    std::fill(flat.begin(), flat.end(), 0.5f);
    const Tensor<float> noisy = random_tensor<float>(Shape{1, 2, 4, 4}, 9);
    CHECK(cpu::has_constant_channel(flat));
    CHECK_FALSE(cpu::has_constant_channel(noisy));
    Tensor<float> one_flat = random_tensor<float>(Shape{2, 2, 4, 4}, 10);
    std::fill(one_flat.data() + 3 * 16, one_flat.data() + 4 * 16, -1.f);
    CHECK(cpu::has_constant_channel(one_flat));
    for (AdainStats st : kBoth) {
        Tensor<float> m(Shape{1, 2, 1, 1}), s(Shape{1, 2, 1, 1}), y(flat.shape());
        // Constant style: Official's sigma_s is 0, so the output is the style mean.
        cpu::adain_channel_stats(m, s, flat, st, AdainRole::Style);
        cpu::adain_forward(y, noisy, m, s, st);
        for (float v : y) CHECK(std::isfinite(v));
        if (st == AdainStats::Official)
            for (float v : y) CHECK(v == 0.5f);
        // Constant content: its eps keeps the division finite; the output is the style mean.
        cpu::adain_channel_stats(m, s, noisy, st, AdainRole::Style);
        cpu::adain_forward(y, flat, m, s, st);
        for (int c = 0; c < 2; ++c)
            for (int i = 0; i < 16; ++i) CHECK(y.data()[c * 16 + i] == doctest::Approx(m.data()[c]));
    }
    // Port's unbiased variance needs two values per plane.
    Tensor<float> tiny(Shape{1, 1, 1, 1}), m(Shape{1, 1, 1, 1}), s(Shape{1, 1, 1, 1});
    CHECK_THROWS_AS(cpu::adain_channel_stats(m, s, tiny, AdainStats::Port, AdainRole::Style), Error);
}
