// SPDX-License-Identifier: MIT
// src/color: the colour transforms on their defining properties (matched mean and covariance,
// symmetric / triangular maps, exact chroma under the luminance swap in YUV, YIQ and YCbCr,
// matched luminance statistics) and against the numpy float64 reference of tools/ref_color.py
// (tests/data/ref_color.safetensors).
#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include <nlohmann/json.hpp>

#include "color/luma.h"
#include "color/luminance_transfer.h"
#include "color/mat3.h"
#include "color/match_color.h"
#include "core/rng.h"
#include "nn/safetensors.h"
#include "test_errors.h"
#include "test_util.h"

using namespace nst;
using namespace nst::color;
using json = nlohmann::json;

namespace {

const char* kRegenerate = "HINT: re-run /usr/bin/python3 tools/ref_color.py tests/data/ref_color.safetensors";

// A smooth colour image with correlated channels, values inside [lo, hi]: mixing three waves by a
// row-stochastic matrix keeps every pixel a convex combination of values in [lo, hi].
Tensor<float> test_image(int h, int w, std::uint64_t seed, double lo, double hi) {
    Tensor<float> img(Shape{1, 3, h, w});
    const double mix[3][3] = {{0.7, 0.2, 0.1}, {0.25, 0.6, 0.15}, {0.1, 0.3, 0.6}};
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            double wave[3];
            for (int c = 0; c < 3; ++c) {
                const double u = rng::uniform(seed, c, std::size_t(y) * w + x);
                wave[c] = 0.5 + 0.35 * std::sin(0.3 * x + 0.2 * y * (c + 1) + double(seed) + c) + 0.15 * (u - 0.5);
            }
            for (int c = 0; c < 3; ++c) {
                const double v = mix[c][0] * wave[0] + mix[c][1] * wave[1] + mix[c][2] * wave[2];
                img.view().at(0, c, y, x) = float(lo + (hi - lo) * v);
            }
        }
    return img;
}

double max_abs_diff(const Mat3& a, const Mat3& b) {
    double m = 0;
    for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 3; ++j) m = std::max(m, std::fabs(a[i][j] - b[i][j]));
    return m;
}

// The unclipped map must stay inside [0, 1] for a property test to hold exactly.
bool map_stays_in_range(ConstView<float> rgb, const ColorMap& m) {
    const std::size_t n = rgb.shape.plane();
    for (std::size_t i = 0; i < n; ++i) {
        const Vec3 y = m.a * Vec3{rgb.data[i], rgb.data[n + i], rgb.data[2 * n + i]};
        for (int c = 0; c < 3; ++c)
            if (y[c] + m.b[c] < 0 || y[c] + m.b[c] > 1) return false;
    }
    return true;
}

// --- the numpy reference ----------------------------------------------------------------------------

struct ColorFixture {
    SafetensorsFile file;
    json results;

    Tensor<float> image(const std::string& name) const {
        const SafetensorsTensor* t = file.find(name);
        if (!t || t->shape.size() != 4 || t->shape[0] != 1 || t->shape[1] != 3)
            FAIL("fixture tests/data/ref_color.safetensors is stale (no image '" << name << "'): " << kRegenerate);
        Tensor<float> out(Shape{1, 3, int(t->shape[2]), int(t->shape[3])});
        std::copy(t->data.begin(), t->data.end(), out.begin());
        return out;
    }
};

const ColorFixture& color_fixture() {
    static ColorFixture fx = [] {
        ColorFixture f;
        try {
            f.file = read_safetensors(std::string(NST_TEST_DATA) + "/ref_color.safetensors");
            const auto& meta = f.file.metadata;
            if (meta.at("nst.magic") != "nst-reference-color" || meta.at("nst.version") != "1")
                FAIL("fixture tests/data/ref_color.safetensors has another magic or version: " << kRegenerate);
            f.results = json::parse(meta.at("nst.results"));
        } catch (const std::exception& e) {
            FAIL("fixture tests/data/ref_color.safetensors is missing or stale (" << e.what() << "): " << kRegenerate);
        }
        return f;
    }();
    return fx;
}

Mat3 mat3_of(const json& j) {
    Mat3 m{};
    for (int i = 0; i < 3; ++i)
        for (int k = 0; k < 3; ++k) m[i][k] = j.at(i).at(k).get<double>();
    return m;
}

double max_abs_diff(const Tensor<float>& a, const Tensor<float>& b) {
    REQUIRE(a.shape() == b.shape());
    double m = 0;
    for (std::size_t i = 0; i < a.numel(); ++i) m = std::max(m, std::fabs(double(a[i]) - double(b[i])));
    return m;
}

// Chroma rows of three linear luma/chroma spaces, each with the luma row (.299, .587, .114):
// YUV (BT.601: U = .492111 (B − Y), V = .877283 (R − Y)), YIQ (NTSC, FCC rounding), and
// full-range YCbCr (JFIF: Cb = (B − Y) / 1.772, Cr = (R − Y) / 1.402, offsets dropped). torch's
// rounded YUV rows in jcjohnson/neural-style sum to 1e-5 rather than 0 and are not used here.
struct ChromaSpace {
    const char* name;
    double rows[2][3];
};

ChromaSpace chroma_space(int k) {
    const double yr = kLumaR, yg = kLumaG, yb = kLumaB;
    switch (k) {
        case 0: return {"YUV", {{-0.492111 * yr, -0.492111 * yg, 0.492111 * (1 - yb)},
                                {0.877283 * (1 - yr), -0.877283 * yg, -0.877283 * yb}}};
        case 1: return {"YIQ", {{0.595716, -0.274453, -0.321263}, {0.211456, -0.522591, 0.311135}}};
        default: return {"YCbCr", {{-yr / 1.772, -yg / 1.772, (1 - yb) / 1.772},
                                   {(1 - yr) / 1.402, -yg / 1.402, -yb / 1.402}}};
    }
}

}  // namespace

TEST_CASE("color: 3x3 Cholesky and Jacobi eigen-decomposition reconstruct their matrix") {
    const Mat3 a = {{{0.02, 0.007, -0.001}, {0.007, 0.013, 0.003}, {-0.001, 0.003, 0.009}}};
    Mat3 l;
    REQUIRE(cholesky(a, l));
    CHECK(l[0][1] == 0);
    CHECK(l[0][2] == 0);
    CHECK(l[1][2] == 0);
    CHECK(max_abs_diff(l * transpose(l), a) < 1e-16);
    CHECK(max_abs_diff(l * lower_inverse(l), identity3()) < 1e-14);
    Vec3 lambda;
    Mat3 v;
    symmetric_eigen(a, lambda, v);
    CHECK(max_abs_diff(transpose(v) * v, identity3()) < 1e-15);
    Mat3 d{};
    for (int i = 0; i < 3; ++i) d[i][i] = lambda[i];
    CHECK(max_abs_diff(v * d * transpose(v), a) < 1e-16);
    Mat3 s, si;
    REQUIRE(symmetric_sqrt(a, s));
    REQUIRE(symmetric_inverse_sqrt(a, si));
    CHECK(max_abs_diff(s * s, a) < 1e-16);
    CHECK(max_abs_diff(s * si, identity3()) < 1e-13);
    // Repeated eigenvalues (a multiple of I) and a rank-1 matrix: still exact.
    symmetric_eigen(scaled(identity3(), 2.0), lambda, v);
    CHECK(lambda[0] == 2.0);
    CHECK(max_abs_diff(v, identity3()) == 0);
    const Mat3 r1 = {{{1, 1, 1}, {1, 1, 1}, {1, 1, 1}}};
    CHECK_FALSE(cholesky(r1, l));
    CHECK_FALSE(symmetric_inverse_sqrt(r1, si));
    REQUIRE(symmetric_sqrt(r1, s));
    CHECK(max_abs_diff(s * s, r1) < 1e-14);
}

TEST_CASE("color: match_color gives the source's mean and covariance in every mode") {
    const Tensor<float> target = test_image(23, 19, 1, 0.3, 0.7), source = test_image(17, 29, 2, 0.2, 0.8);
    const ColorStats ts = color_stats(target.cview()), ss = color_stats(source.cview());
    for (MatchMode mode : {MatchMode::Chol, MatchMode::Pca, MatchMode::Sym}) {
        for (double eps : {kDefaultMatchEps, 0.0}) {
            const std::string mode_name = match_mode_name(mode);
            CAPTURE(mode_name);
            CAPTURE(eps);
            const ColorMap m = match_color_map(ts, ss, mode, eps);
            REQUIRE(map_stays_in_range(target.cview(), m));  // no clipping, so the statistics are exact
            const Tensor<float> out = match_color(target.cview(), source.cview(), mode, eps);
            CHECK(out.shape() == target.shape());  // at the target's size
            const ColorStats os = color_stats(out.cview());
            double mean_err = 0;
            for (int c = 0; c < 3; ++c) mean_err = std::max(mean_err, std::fabs(os.mean[c] - ss.mean[c]));
            // With eps on both covariances A (Σ_t + εI) Aᵀ = Σ_s + εI, so the output covariance
            // A Σ_t Aᵀ is Σ_s + ε (I − A Aᵀ).
            const Mat3 expected = ss.cov + scaled(identity3() + scaled(m.a * transpose(m.a), -1.0), eps);
            const double cov_err = max_abs_diff(os.cov, expected);
            MESSAGE(mode_name << " eps " << eps << ": mean error " << mean_err << ", covariance error " << cov_err);
            CHECK(mean_err < 1e-6);
            CHECK(cov_err < 1e-6);
            // Only the eps-corrected covariance is matched: the correction is visible at this size.
            if (eps > 0) CHECK(max_abs_diff(os.cov, ss.cov) > 1e-6);
            // The map's own identity, in double: A (Σ_t + εI) Aᵀ = Σ_s + εI.
            const Mat3 ct = ts.cov + scaled(identity3(), eps), cs = ss.cov + scaled(identity3(), eps);
            CHECK(max_abs_diff(m.a * ct * transpose(m.a), cs) < 1e-15);
        }
    }
}

TEST_CASE("color: sym gives a symmetric map and chol a lower-triangular one") {
    const Tensor<float> target = test_image(11, 13, 3, 0.2, 0.8), source = test_image(9, 7, 4, 0.1, 0.9);
    const ColorStats ts = color_stats(target.cview()), ss = color_stats(source.cview());
    const Mat3 sym = match_color_map(ts, ss, MatchMode::Sym).a;
    CHECK(max_abs_diff(sym, transpose(sym)) < 1e-13);
    // sym is also positive definite (the Monge–Kantorovich map is the gradient of a convex function).
    Mat3 l;
    CHECK(cholesky(sym, l));
    const Mat3 chol = match_color_map(ts, ss, MatchMode::Chol).a;
    CHECK(chol[0][1] == 0);
    CHECK(chol[0][2] == 0);
    CHECK(chol[1][2] == 0);
    const Mat3 pca = match_color_map(ts, ss, MatchMode::Pca).a;
    CHECK(max_abs_diff(pca, transpose(pca)) > 1e-3);  // the three modes really differ
    CHECK(max_abs_diff(pca, sym) > 1e-3);
}

TEST_CASE("color: match_color matches the numpy float64 reference") {
    const ColorFixture& fx = color_fixture();
    const json& r = fx.results;
    CHECK(r.at("eps").get<double>() == kDefaultMatchEps);
    const Tensor<float> content = fx.image("in.content"), style = fx.image("in.style"), grey = fx.image("in.grey");
    for (const char* name : {"content", "style", "grey"}) {
        const ColorStats s = color_stats(fx.image(std::string("in.") + name).cview());
        const json& j = r.at("stats").at(name);
        for (int c = 0; c < 3; ++c)
            CHECK(s.mean[c] == doctest::Approx(j.at("mean").at(c).get<double>()).epsilon(1e-14));
        CHECK(max_abs_diff(s.cov, mat3_of(j.at("cov"))) < 1e-16);
    }
    for (MatchMode mode : {MatchMode::Chol, MatchMode::Pca, MatchMode::Sym}) {
        const std::string m = match_mode_name(mode);
        CAPTURE(m);
        for (const bool is_grey : {false, true}) {
            CAPTURE(is_grey);
            const Tensor<float>& target = is_grey ? grey : style;
            const json& ref = r.at("map").at(is_grey ? "grey_" + m : m);
            const ColorMap map = match_color_map(color_stats(target.cview()), color_stats(content.cview()), mode);
            const Mat3 ra = mat3_of(ref.at("a"));
            double a_scale = 0;
            for (const auto& row : ra)
                for (double v : row) a_scale = std::max(a_scale, std::fabs(v));
            // A grey target has a rank-1 covariance, so A depends on 1/sqrt(eps) ≈ 316 and is
            // less well conditioned; relative to its largest entry it still agrees to 1e-9.
            const double a_err = max_abs_diff(map.a, ra) / a_scale;
            double b_err = 0;
            for (int c = 0; c < 3; ++c) b_err = std::max(b_err, std::fabs(map.b[c] - ref.at("b").at(c).get<double>()));
            const double img_err = max_abs_diff(match_color(target.cview(), content.cview(), mode),
                                                fx.image((is_grey ? "match_grey." : "match.") + m));
            MESSAGE(m << std::string(is_grey ? " grey" : "") << ": A rel error " << a_err << ", b error " << b_err
                      << ", image error " << img_err);
            CHECK(a_err < 1e-9);
            CHECK(b_err < 1e-9 * a_scale);
            CHECK(img_err < 1e-6);
        }
    }
}

TEST_CASE("color: luminance transforms match the numpy float64 reference") {
    const ColorFixture& fx = color_fixture();
    const Tensor<float> content = fx.image("in.content"), style = fx.image("in.style"), gen = fx.image("in.generated");
    CHECK(max_abs_diff(grey_image(content.cview()), fx.image("grey.content")) < 1e-6);
    for (LuminanceMatch mode : {LuminanceMatch::MeanStd, LuminanceMatch::Mean, LuminanceMatch::None}) {
        Tensor<float> s = style.clone();
        match_luminance(s.view(), content.cview(), mode);
        const double err = max_abs_diff(s, fx.image(std::string("lum.") + luminance_match_name(mode)));
        MESSAGE("luminance " << std::string(luminance_match_name(mode)) << ": error " << err);
        CHECK(err < 1e-6);
    }
    Tensor<float> out(content.shape());
    luminance_swap(out.view(), content.cview(), gen.cview());
    const double err = max_abs_diff(out, fx.image("swap"));
    MESSAGE("luminance swap: error " << err);
    CHECK(err < 1e-6);
}

TEST_CASE("color: the luminance swap keeps the content's chroma exactly and takes the generated luma") {
    const Tensor<float> content = test_image(15, 21, 5, 0.3, 0.7), gen = test_image(15, 21, 6, 0.35, 0.65);
    Tensor<float> out(content.shape());
    luminance_swap(out.view(), content.cview(), gen.cview());
    const std::size_t n = content.shape().plane();
    auto px = [n](const Tensor<float>& t, std::size_t i) { return Vec3{t[i], t[n + i], t[2 * n + i]}; };
    for (int k = 0; k < 3; ++k) {
        const ChromaSpace cs = chroma_space(k);
        const std::string space = cs.name;
        CAPTURE(space);
        for (const auto& row : cs.rows) CHECK(std::fabs(row[0] + row[1] + row[2]) < 1e-15);  // zero-sum chroma
        double chroma_err = 0, luma_err = 0, chroma_change = 0;
        for (std::size_t i = 0; i < n; ++i) {
            const Vec3 o = px(out, i), c = px(content, i), g = px(gen, i);
            for (const auto& row : cs.rows) {
                const double co = row[0] * o[0] + row[1] * o[1] + row[2] * o[2];
                const double cc = row[0] * c[0] + row[1] * c[1] + row[2] * c[2];
                const double cg = row[0] * g[0] + row[1] * g[1] + row[2] * g[2];
                chroma_err = std::max(chroma_err, std::fabs(co - cc));
                chroma_change = std::max(chroma_change, std::fabs(cg - cc));
            }
            luma_err = std::max(luma_err, std::fabs(luma(o[0], o[1], o[2]) - luma(g[0], g[1], g[2])));
        }
        MESSAGE(space << ": chroma error " << chroma_err << ", luma error " << luma_err);
        CHECK(chroma_err < 1e-6);
        CHECK(luma_err < 1e-6);
        CHECK(chroma_change > 1e-2);  // the generated image's chroma differs: the test can fail
    }
    // Out of the cube: clipped per channel; out may alias its inputs.
    Tensor<float> c1 = filled(Shape{1, 3, 1, 1}, 0.9f), g1 = filled(Shape{1, 3, 1, 1}, 0.2f);
    g1[0] = 1.0f;
    g1[1] = 1.0f;
    g1[2] = 1.0f;
    c1[0] = 0.1f;
    luminance_swap(g1.view(), c1.cview(), g1.cview());
    CHECK(g1[0] == doctest::Approx(0.1 + 1 - luma(0.1, 0.9, 0.9)).epsilon(1e-7));
    CHECK(g1[1] == 1.0f);
    CHECK(g1[2] == 1.0f);
}

TEST_CASE("color: luminance match gives the content's mean and std") {
    const Tensor<float> content = test_image(13, 17, 7, 0.3, 0.7), style = test_image(19, 11, 8, 0.05, 0.75);
    const LuminanceStats c = luminance_stats(content.cview()), s0 = luminance_stats(style.cview());
    REQUIRE(std::fabs(c.mean - s0.mean) > 0.05);  // so that matching has something to do
    REQUIRE(std::fabs(c.std / s0.std - 1) > 0.05);
    for (LuminanceMatch mode : {LuminanceMatch::MeanStd, LuminanceMatch::Mean, LuminanceMatch::None}) {
        const std::string mode_name = luminance_match_name(mode);
        CAPTURE(mode_name);
        Tensor<float> s = style.clone();
        match_luminance(s.view(), content.cview(), mode);
        const std::size_t n = s.shape().plane();
        for (std::size_t i = 0; i < n; ++i) {  // grey: the three channels are equal
            CHECK(s[i] == s[n + i]);
            CHECK(s[i] == s[2 * n + i]);
        }
        const LuminanceStats r = luminance_stats(s.cview());
        if (mode == LuminanceMatch::None) {
            CHECK(r.mean == doctest::Approx(s0.mean).epsilon(1e-6));
            CHECK(r.std == doctest::Approx(s0.std).epsilon(1e-6));
        } else {
            CHECK(std::fabs(r.mean - c.mean) < 1e-6);
            CHECK(std::fabs(r.std - (mode == LuminanceMatch::MeanStd ? c.std : s0.std)) < 1e-6);
        }
    }
    // A constant style (σ_S = 0): meanstd falls back to the mean shift, every pixel μ_C.
    Tensor<float> flat = filled(Shape{1, 3, 4, 5}, 0.25f);
    match_luminance(flat.view(), content.cview(), LuminanceMatch::MeanStd);
    for (float v : flat) CHECK(v == doctest::Approx(c.mean).epsilon(1e-6));
}

TEST_CASE("color: constant images and singular covariances are input errors") {
    const Tensor<float> flat = filled(Shape{1, 3, 5, 6}, 0.4f);
    CHECK_FALSE(has_color_variation(flat.cview()));
    Tensor<float> one = flat.clone();
    one[2 * 30 + 29] = 0.41f;  // one channel of one pixel differs
    CHECK(has_color_variation(one.cview()));
    const std::string msg = test::error_of([&] { require_color_variation(flat.cview(), "--style 'x.png'"); });
    CHECK(test::contains(msg, "--style 'x.png'"));
    CHECK(test::contains(msg, "has no colour variation"));
    // A grey image has a rank-1 covariance: fine with eps > 0, an error with eps = 0.
    Tensor<float> grey = grey_image(test_image(6, 7, 9, 0.2, 0.8).cview());
    const Tensor<float> colour = test_image(6, 7, 10, 0.2, 0.8);
    for (MatchMode mode : {MatchMode::Chol, MatchMode::Pca, MatchMode::Sym}) {
        const std::string mode_name = match_mode_name(mode);
        CAPTURE(mode_name);
        CHECK_NOTHROW(match_color(grey.cview(), colour.cview(), mode, 1e-5));
        CHECK(test::contains(test::error_of([&] { match_color(grey.cview(), colour.cview(), mode, 0.0); }),
                             "singular"));
    }
    CHECK(test::error_of([] { parse_match_mode("lab", "--mode"); }, ExitCode::Usage) ==
          "--mode: unknown mode 'lab' (choose chol, pca or sym)");
    CHECK(test::contains(test::error_of([] { parse_luminance_match("std", "--luminance-match"); }, ExitCode::Usage),
                         "'std'"));
}
