// SPDX-License-Identifier: MIT
// Spatial control on the GPU under emulation: the guided Gram and style gradient (a guide T fused
// into the row loads of kernels/gram.cu and kernels/style_loss.cu) and the mask kernels of
// kernels/guide.cu, against CPU twins built on the host:
//   guided Gram      cpu::gram_matrix of F o T, F o T formed here as float(f * t)
//   guided gradient  cpu::style_loss on F o T (its gradient d(F o T) = coef (G - A)(F o T)),
//                    then df0 + T o d(F o T) in double
// with the error measures of test_emu_gram.cpp / test_emu_style.cpp (relative to what rounding
// can do to each entry, 1e-5), soft guides (values in [0, 2], as normalised guides have) and
// binary ones (0 or one normalised value, a contiguous region), sizes off the tile and float4
// edges, offset 1 (scalar loads). An all-ones guide must give the unguided kernels' bits, and
// the elementwise mask kernels and the Gram mirror are bit-identical to their host loops.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "cuda_emu.h"
#include "emu_test_util.h"
#include "kernels/gram.h"
#include "kernels/guide.h"
#include "kernels/style_loss.h"
#include "loss/losses.h"

using nst::emu_test::Guarded;

namespace {

constexpr double kTolerance = 1e-5;

enum class GuideKind { Soft, Binary, Ones, Zero };

const char* kind_name(GuideKind k) {
    switch (k) {
        case GuideKind::Soft: return "soft";
        case GuideKind::Binary: return "binary";
        case GuideKind::Ones: return "ones";
        case GuideKind::Zero: return "zero";
    }
    return "?";
}

// A guide of M positions. Binary: a contiguous region (a band of the positions) at the value
// normalize_guide gives it, sqrt(M / |region|), zero elsewhere; soft: uniform in [0, 2].
void fill_guide(float* t, long long m, GuideKind kind, std::uint64_t stream) {
    switch (kind) {
        case GuideKind::Soft: nst::emu_test::fill_uniform(t, std::size_t(m), stream, 0.0, 2.0); break;
        case GuideKind::Binary: {
            const long long begin = m / 5, end = std::max(begin + 1, (3 * m) / 4);
            const float v = float(std::sqrt(double(m) / double(end - begin)));
            for (long long i = 0; i < m; ++i) t[i] = (i >= begin && i < end) ? v : 0.f;
            break;
        }
        case GuideKind::Ones: std::fill(t, t + m, 1.f); break;
        case GuideKind::Zero: std::fill(t, t + m, 0.f); break;
    }
}

// F o T on the host, one float rounding per product.
std::vector<float> masked(const float* f, const float* t, int c, long long m) {
    std::vector<float> out(std::size_t(c) * std::size_t(m));
    for (int i = 0; i < c; ++i)
        for (long long k = 0; k < m; ++k) out[std::size_t(i) * m + k] = f[std::size_t(i) * m + k] * t[k];
    return out;
}

struct Case {
    int c;
    long long m;
    std::size_t offset;
};

// Worst error of the emulated guided Gram against cpu::gram_matrix(F o T), entry (i, j) relative
// to scale * sum_k |ft_ik ft_jk| (exact zeros required where that is 0); G must be bit-symmetric.
double guided_gram_error(const Case& k, GuideKind kind, std::uint64_t stream) {
    INFO("C = " << k.c << "  M = " << k.m << "  offset = " << k.offset << "  guide " << kind_name(kind));
    const int c = k.c;
    const long long m = k.m;
    const std::size_t cm = std::size_t(c) * std::size_t(m), cc = std::size_t(c) * c;
    Guarded<float> f(cm, k.offset), t(std::size_t(m), k.offset);
    nst::emu_test::fill_uniform(f.data(), cm, stream, -1.0, 1.0);
    fill_guide(t.data(), m, kind, stream + 1);
    Guarded<float> partials(nst::kernels::gram_scratch_floats(c, m), 0, NAN);
    Guarded<float> g(cc, 0, NAN);
    const double scale = 1.0 / double(std::max<long long>(m, 1));
    nst::kernels::gram(f.data(), t.data(), c, m, scale, partials.data(), g.data(), nullptr);
    REQUIRE(f.intact());
    REQUIRE(t.intact());
    REQUIRE(partials.intact());
    REQUIRE(g.intact());

    std::vector<float> ft = masked(f.data(), t.data(), c, m), ref(cc);
    nst::cpu::gram_matrix<float>(nst::TensorView<float>(ref.data(), nst::Shape{1, 1, c, c}),
                                 nst::ConstView<float>(ft.data(), nst::Shape{1, c, 1, int(m)}), scale);
    double worst = 0;
    for (int i = 0; i < c; ++i)
        for (int j = 0; j < c; ++j) {
            const float v = g[std::size_t(i) * c + j];
            REQUIRE(std::memcmp(&v, &g[std::size_t(j) * c + i], sizeof v) == 0);
            double magnitude = 0;
            for (long long q = 0; q < m; ++q)
                magnitude += std::fabs(double(ft[std::size_t(i) * m + q]) * double(ft[std::size_t(j) * m + q]));
            magnitude *= scale;
            const double diff = std::fabs(double(v) - double(ref[std::size_t(i) * c + j]));
            if (magnitude == 0) {
                REQUIRE(diff == 0);
                REQUIRE(v == 0.f);
                continue;
            }
            worst = std::max(worst, diff / magnitude);
        }
    return worst;
}

// Worst error of the emulated guided style gradient against the CPU twin (see the top), entry
// (c, m) relative to |df0| + |coef t_m| sum_k |D_ck ft_km|, D = float(G - A).
double guided_gradient_error(const Case& k, GuideKind kind, std::uint64_t stream) {
    INFO("C = " << k.c << "  M = " << k.m << "  offset = " << k.offset << "  guide " << kind_name(kind));
    const int c = k.c;
    const long long m = k.m;
    const std::size_t cm = std::size_t(c) * std::size_t(m), cc = std::size_t(c) * c;
    const double gram_scale = 1.0 / double(m), loss_scale = 0.37, coef = 4 * loss_scale * gram_scale;
    Guarded<float> f(cm, k.offset), t(std::size_t(m), k.offset), a(cc, k.offset), g(cc, k.offset), df(cm, k.offset);
    nst::emu_test::fill_uniform(f.data(), cm, stream, -1.0, 1.0);
    fill_guide(t.data(), m, kind, stream + 1);
    nst::emu_test::fill_uniform(df.data(), cm, stream + 2, -0.5, 0.5);
    for (int i = 0; i < c; ++i)
        for (int j = i; j < c; ++j)
            a[std::size_t(i) * c + j] = a[std::size_t(j) * c + i] =
                float(0.3 * nst::rng::uniform(7, stream, std::size_t(i) * c + j) - 0.1);

    // The CPU twin: G of F o T (into g, which the kernel then reads too) and d(F o T).
    const nst::Shape fs{1, c, 1, int(m)}, gs{1, 1, c, c};
    std::vector<float> ft = masked(f.data(), t.data(), c, m), dft(cm, 0.f), diff(cc);
    nst::cpu::style_loss<float>(nst::ConstView<float>(ft.data(), fs), nst::ConstView<float>(a.data(), gs), gram_scale,
                                loss_scale, nst::TensorView<float>(g.data(), gs), nst::TensorView<float>(diff.data(), gs),
                                nst::TensorView<float>(dft.data(), fs));
    const std::vector<float> df0 = df.to_vector();
    nst::kernels::style_gradient(g.data(), a.data(), f.data(), t.data(), c, m, coef, df.data(), nullptr);
    REQUIRE(df.intact());
    REQUIRE(f.intact());
    REQUIRE(t.intact());

    double worst = 0;
    for (int row = 0; row < c; ++row)
        for (long long col = 0; col < m; ++col) {
            double magnitude = 0;
            for (int q = 0; q < c; ++q) {
                const double d = double(float(double(g[std::size_t(row) * c + q]) - double(a[std::size_t(row) * c + q])));
                magnitude += std::fabs(d * double(ft[std::size_t(q) * m + col]));
            }
            const std::size_t at = std::size_t(row) * m + col;
            const double tm = double(t[std::size_t(col)]);
            magnitude = std::fabs(double(df0[at])) + std::fabs(coef * tm) * magnitude;
            const double ref = double(df0[at]) + tm * double(dft[at]);
            const double err = std::fabs(double(df[at]) - ref);
            if (magnitude == 0) {
                REQUIRE(err == 0);
                continue;
            }
            worst = std::max(worst, err / magnitude);
        }
    return worst;
}

// C and M across the 64-tiles (Gram), the 64 x 128 tiles (gradient), the 32-position steps and
// the float4 edges; offset 1 takes the scalar loads for both F and T.
const Case kCases[] = {{1, 1, 0},   {3, 5, 0},    {4, 4, 1},     {17, 129, 0}, {31, 33, 1},
                       {64, 300, 0}, {65, 513, 0}, {65, 513, 1}, {100, 1100, 0}, {130, 260, 1}};

}  // namespace

TEST_CASE("emu: guided gram vs cpu gram_matrix of the masked features") {
    double worst = 0;
    std::uint64_t stream = 500;
    for (GuideKind kind : {GuideKind::Soft, GuideKind::Binary, GuideKind::Zero})
        for (const Case& k : kCases) {
            const double e = guided_gram_error(k, kind, stream += 3);
            INFO("C = " << k.c << "  M = " << k.m << "  offset = " << k.offset << "  guide " << kind_name(kind));
            CHECK(e <= kTolerance);
            worst = std::max(worst, e);
        }
    MESSAGE("guided gram vs cpu::gram_matrix(F o T): worst error " << worst);
}

TEST_CASE("emu: guided style gradient vs cpu style_loss on the masked features") {
    double worst = 0;
    std::uint64_t stream = 700;
    for (GuideKind kind : {GuideKind::Soft, GuideKind::Binary})
        for (const Case& k : kCases) {
            const double e = guided_gradient_error(k, kind, stream += 3);
            INFO("C = " << k.c << "  M = " << k.m << "  offset = " << k.offset << "  guide " << kind_name(kind));
            CHECK(e <= kTolerance);
            worst = std::max(worst, e);
        }
    MESSAGE("guided style gradient vs cpu twin: worst error " << worst);
}

TEST_CASE("emu: an all-ones guide gives the unguided gram and gradient bit for bit") {
    for (const Case& k : {Case{65, 513, 0}, Case{64, 300, 0}, Case{31, 33, 1}, Case{130, 260, 1}}) {
        INFO("C = " << k.c << "  M = " << k.m << "  offset = " << k.offset);
        const int c = k.c;
        const long long m = k.m;
        const std::size_t cm = std::size_t(c) * std::size_t(m), cc = std::size_t(c) * c;
        Guarded<float> f(cm, k.offset), ones(std::size_t(m), k.offset, 1.f), a(cc, k.offset);
        nst::emu_test::fill_uniform(f.data(), cm, 900 + c, -1.0, 1.0);
        for (int i = 0; i < c; ++i)
            for (int j = i; j < c; ++j)
                a[std::size_t(i) * c + j] = a[std::size_t(j) * c + i] = float(nst::rng::uniform(8, c, i * c + j));
        Guarded<float> partials(nst::kernels::gram_scratch_floats(c, m));
        Guarded<float> g_plain(cc, k.offset), g_ones(cc, k.offset);
        nst::kernels::gram(f.data(), nullptr, c, m, 0.01, partials.data(), g_plain.data(), nullptr);
        nst::kernels::gram(f.data(), ones.data(), c, m, 0.01, partials.data(), g_ones.data(), nullptr);
        CHECK(nst::emu_test::describe_difference(g_ones.data(), g_plain.data(), cc) == "bit-identical");

        Guarded<float> df_plain(cm, k.offset, 0.25f), df_ones(cm, k.offset, 0.25f);
        nst::kernels::style_gradient(g_plain.data(), a.data(), f.data(), nullptr, c, m, 0.3, df_plain.data(), nullptr);
        nst::kernels::style_gradient(g_plain.data(), a.data(), f.data(), ones.data(), c, m, 0.3, df_ones.data(), nullptr);
        CHECK(nst::emu_test::describe_difference(df_ones.data(), df_plain.data(), cm) == "bit-identical");
    }
}

TEST_CASE("emu: guided gram is independent of the block and thread order") {
    const int c = 70;
    const long long m = 1100;
    Guarded<float> f(std::size_t(c) * m), t{std::size_t(m)};
    nst::emu_test::fill_uniform(f.data(), f.size(), 11, -1.0, 1.0);
    fill_guide(t.data(), m, GuideKind::Soft, 12);
    std::vector<float> out[2];
    for (int o = 0; o < 2; ++o) {
        nst::emu::set_order(o ? nst::emu::Order::Reverse : nst::emu::Order::Forward);
        Guarded<float> partials(nst::kernels::gram_scratch_floats(c, m)), g(std::size_t(c) * c);
        nst::kernels::gram(f.data(), t.data(), c, m, 0.5, partials.data(), g.data(), nullptr);
        out[o] = g.to_vector();
    }
    nst::emu::set_order(nst::emu::Order::Forward);
    CHECK(nst::emu_test::first_bit_difference(out[0].data(), out[1].data(), out[0].size()) == -1);
}

TEST_CASE("emu: mask_multiply and guided_copy vs their host loops") {
    for (const Case& k : {Case{3, 35 * 31, 0}, Case{1, 7, 1}, Case{64, 129, 1}}) {
        INFO("C = " << k.c << "  M = " << k.m << "  offset = " << k.offset);
        const std::size_t cm = std::size_t(k.c) * std::size_t(k.m);
        Guarded<float> x(cm, k.offset), mask(std::size_t(k.m), k.offset), out(cm, k.offset, NAN);
        nst::emu_test::fill_normal(x.data(), cm, 40 + k.c);
        nst::emu_test::fill_uniform(mask.data(), std::size_t(k.m), 41 + k.c, 0.0, 1.0);
        mask[0] = 0.f;  // a frozen pixel
        const std::vector<float> ref_copy = masked(x.data(), mask.data(), k.c, k.m);
        nst::kernels::guided_copy(x.data(), mask.data(), k.c, k.m, out.data(), nullptr);
        REQUIRE(out.intact());
        CHECK(nst::emu_test::describe_difference(out.data(), ref_copy.data(), cm) == "bit-identical");

        nst::kernels::mask_multiply(x.data(), mask.data(), k.c, k.m, nullptr);  // in place
        REQUIRE(x.intact());
        REQUIRE(mask.intact());
        CHECK(nst::emu_test::describe_difference(x.data(), ref_copy.data(), cm) == "bit-identical");
        for (int c = 0; c < k.c; ++c) CHECK(x[std::size_t(c) * k.m] == 0.f);
    }
}

TEST_CASE("emu: gram_mirror_upper copies the upper triangle onto the lower one") {
    for (int c : {1, 2, 33, 130}) {
        INFO("C = " << c);
        const std::size_t cc = std::size_t(c) * c;
        Guarded<float> g(cc);
        nst::emu_test::fill_normal(g.data(), cc, 60 + c);
        std::vector<float> ref = g.to_vector();
        for (int i = 0; i < c; ++i)
            for (int j = 0; j < i; ++j) ref[std::size_t(i) * c + j] = ref[std::size_t(j) * c + i];
        nst::kernels::gram_mirror_upper(g.data(), c, nullptr);
        REQUIRE(g.intact());
        CHECK(nst::emu_test::describe_difference(g.data(), ref.data(), cc) == "bit-identical");
    }
}
