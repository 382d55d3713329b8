// SPDX-License-Identifier: MIT
// kernels/style_loss.cu under emulation vs cpu::style_loss (src/loss/style_loss.cpp) and the
// style-target steps of cpu::Objective (src/loss/objective.cpp).
//
// Both sides get the same G (the CPU's, bit-symmetric) and the same symmetric target A, so:
//   value: the same double terms (g - a)^2 summed in another order     rel <= 1e-12
//   gradient: df0 + coef (G - A) F, fp32 FMAs over k on the kernel's side and a BLAS sgemm on
//   the CPU's, compared per element against what rounding can do to it:
//     |df_emu - df_cpu| <= 1e-5 * (|df0| + |coef| * sum_k |D_ck F_km|),  D = float(G - A)
//   (C <= 130 terms: a worst case of ~C * 6e-8 = 8e-6 of that magnitude, typically far less).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "cuda_emu.h"
#include "emu_test_util.h"
#include "kernels/style_loss.h"
#include "loss/losses.h"

using nst::emu_test::Guarded;

namespace {

constexpr double kGradTolerance = 1e-5;
constexpr double kValueTolerance = 1e-12;

struct StyleErrors {
    double value = 0;  // relative error of the value
    double grad = 0;   // worst gradient error as defined above
};

StyleErrors run_style(int c, long long m, std::size_t offset, std::uint64_t stream) {
    INFO("C = " << c << "  M = " << m << "  offset = " << offset);
    const std::size_t cm = std::size_t(c) * std::size_t(m), cc = std::size_t(c) * c;
    const double gram_scale = 1.0 / double(m), loss_scale = 0.37;
    const double coef = 4 * loss_scale * gram_scale;

    Guarded<float> f(cm, offset), a(cc, offset), g(cc, offset), df(cm, offset);
    nst::emu_test::fill_uniform(f.data(), cm, stream, -1.0, 1.0);
    nst::emu_test::fill_uniform(df.data(), cm, stream + 1000, -0.5, 0.5);
    for (int i = 0; i < c; ++i)  // a symmetric target
        for (int j = i; j < c; ++j)
            a[std::size_t(i) * c + j] = a[std::size_t(j) * c + i] =
                float(0.3 * nst::rng::uniform(7, stream, std::size_t(i) * c + j) - 0.1);

    // The CPU twin: G, the value and df0 + its gradient.
    const nst::Shape fs{1, c, 1, int(m)}, gs{1, 1, c, c};
    std::vector<float> df_cpu = df.to_vector(), diff(cc);
    const double value_cpu = nst::cpu::style_loss<float>(
        nst::ConstView<float>(f.data(), fs), nst::ConstView<float>(a.data(), gs), gram_scale, loss_scale,
        nst::TensorView<float>(g.data(), gs), nst::TensorView<float>(diff.data(), gs),
        nst::TensorView<float>(df_cpu.data(), fs));

    // The kernels, on the same G and A.
    const int np = nst::kernels::style_value_partials(c);
    Guarded<double> partials(std::size_t(np), 0, NAN);
    nst::kernels::style_value(g.data(), a.data(), c, partials.data(), nullptr);
    const std::vector<float> df0 = df.to_vector();
    nst::kernels::style_gradient(g.data(), a.data(), f.data(), nullptr, c, m, coef, df.data(), nullptr);
    REQUIRE(partials.intact());
    REQUIRE(df.intact());
    REQUIRE(f.intact());

    StyleErrors e;
    double sum = 0;
    for (int i = 0; i < np; ++i) sum += partials[std::size_t(i)];
    e.value = nst::emu_test::rel_diff(loss_scale * sum, value_cpu);

    for (int row = 0; row < c; ++row)
        for (long long col = 0; col < m; ++col) {
            double magnitude = 0;
            for (int k = 0; k < c; ++k) {
                const double d = double(float(double(g[std::size_t(row) * c + k]) - double(a[std::size_t(row) * c + k])));
                magnitude += std::fabs(d * double(f[std::size_t(k) * m + col]));
            }
            const std::size_t at = std::size_t(row) * m + col;
            magnitude = std::fabs(double(df0[at])) + std::fabs(coef) * magnitude;
            const double err = std::fabs(double(df[at]) - double(df_cpu[at]));
            e.grad = std::max(e.grad, magnitude > 0 ? err / magnitude : err);
        }
    return e;
}

}  // namespace

TEST_CASE("emu: style value and fused gradient vs cpu style_loss") {
    struct Case {
        int c;
        long long m;
        std::size_t offset;
    };
    // C and M across the 64 x 128 output tiles and the 16-deep k steps; C or M not a multiple of
    // 4, or an offset of 1, take the scalar load path, the others the float4 path.
    const Case cases[] = {{1, 1, 0},    {3, 3, 0},     {4, 4, 0},     {4, 4, 1},     {16, 128, 0},
                          {17, 129, 0}, {63, 127, 0},  {64, 300, 0},  {64, 300, 1},  {65, 1000, 0},
                          {128, 256, 0}, {130, 130, 0}, {130, 1000, 1}};
    StyleErrors worst;
    std::uint64_t stream = 300;
    for (const Case& k : cases) {
        const StyleErrors e = run_style(k.c, k.m, k.offset, stream += 2);
        INFO("C = " << k.c << "  M = " << k.m << "  offset = " << k.offset);
        CHECK(e.value <= kValueTolerance);
        CHECK(e.grad <= kGradTolerance);
        worst.value = std::max(worst.value, e.value);
        worst.grad = std::max(worst.grad, e.grad);
    }
    MESSAGE("style vs cpu::style_loss: value rel " << worst.value << "  gradient " << worst.grad);
}

TEST_CASE("emu: style gradient is independent of the block and thread order") {
    const int c = 70;
    const long long m = 300;
    Guarded<float> f(std::size_t(c) * m), g(std::size_t(c) * c), a(std::size_t(c) * c);
    nst::emu_test::fill_uniform(f.data(), f.size(), 1, -1.0, 1.0);
    for (int i = 0; i < c; ++i)
        for (int j = i; j < c; ++j) {
            g[std::size_t(i) * c + j] = g[std::size_t(j) * c + i] = float(nst::rng::uniform(2, 0, i * c + j));
            a[std::size_t(i) * c + j] = a[std::size_t(j) * c + i] = float(nst::rng::uniform(3, 0, i * c + j));
        }
    std::vector<float> out[2];
    for (int o = 0; o < 2; ++o) {
        nst::emu::set_order(o ? nst::emu::Order::Reverse : nst::emu::Order::Forward);
        Guarded<float> df(std::size_t(c) * m);
        nst::kernels::style_gradient(g.data(), a.data(), f.data(), nullptr, c, m, 0.25, df.data(), nullptr);
        out[o] = df.to_vector();
    }
    nst::emu::set_order(nst::emu::Order::Forward);
    CHECK(nst::emu_test::first_bit_difference(out[0].data(), out[1].data(), out[0].size()) == -1);
}

TEST_CASE("emu: style targets vs the blend and scaling of cpu Objective") {
    // objective.cpp: set_styles accumulates acc[i] += b_k * double(g[i]) per style image, and
    // refresh_style_target writes dst[i] = T(factor * src[i]). Both bit-identical.
    const int c = 37;
    const std::size_t cc = std::size_t(c) * c;
    Guarded<double> norm(cc, 0, 0.0);
    std::vector<double> ref(cc, 0.0);
    const double blend[3] = {0.2, 0.5, 0.3};
    for (int k = 0; k < 3; ++k) {
        Guarded<float> g(cc);
        nst::emu_test::fill_uniform(g.data(), cc, 60 + k, -2.0, 3.0);
        nst::kernels::style_target_accumulate(norm.data(), g.data(), c, blend[k], nullptr);
        for (std::size_t i = 0; i < cc; ++i) ref[i] += blend[k] * double(g[i]);
    }
    REQUIRE(norm.intact());
    CHECK(nst::emu_test::describe_difference(norm.data(), ref.data(), cc) == "bit-identical");

    const double factor = (1.0 / 900.0) * 900.0 * 1.7;  // gram_scale * positions * weight-like
    Guarded<float> target(cc, 0, NAN);
    nst::kernels::style_target_scale(target.data(), norm.data(), c, factor, nullptr);
    std::vector<float> target_ref(cc);
    for (std::size_t i = 0; i < cc; ++i) target_ref[i] = float(factor * ref[i]);
    REQUIRE(target.intact());
    CHECK(nst::emu_test::describe_difference(target.data(), target_ref.data(), cc) == "bit-identical");
}
