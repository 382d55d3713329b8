// SPDX-License-Identifier: MIT
// The kernels of tiled evaluation (loss/tiling.h, cuda/objective_cuda.cpp) under emulation: the
// Gram, the style gradient and the content loss of a column range of a wider map (rows `ld`
// floats apart, ld != M: the positions a strip owns in its window's features), the guided copy
// with a row stride (cuBLAS Gram path) and the row-band copy / add of kernels/strip.cu.
//
// Each strided call is held to the CPU twin on the extracted range (cpu::gram_matrix,
// cpu::style_loss, cpu::content_loss; the tolerances of test_emu_gram.cpp, test_emu_style.cpp
// and test_emu_losses.cpp), must give the bits of the same kernel run on a contiguous copy of the
// range, and must leave every element outside the range as it was (the output maps are filled
// beforehand, and guard zones catch writes past either end). Planted bug caught: the gradient
// kernel's store using the range's width instead of the row stride.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "cuda_emu.h"
#include "emu_test_util.h"
#include "kernels/content_loss.h"
#include "kernels/gram.h"
#include "kernels/guide.h"
#include "kernels/launch.h"
#include "kernels/strip.h"
#include "kernels/style_loss.h"
#include "loss/losses.h"

using nst::emu_test::Guarded;

namespace {

// A column range [col0, col0 + cols) of a (C, ld) row-major map.
struct Range {
    int c;
    long long ld, col0, cols;
};

// Ranges with ld != cols: an owned band in the middle, at the start and at the end of a window,
// sizes off the float4 edge (scalar path) and on it (float4 path), across the 64-row tiles, the
// 128-column gradient tiles and the 512-position Gram splits.
const Range kRanges[] = {{3, 35, 7, 14},   {16, 96, 32, 32},  {17, 130, 1, 100},  {64, 1200, 400, 600},
                         {65, 300, 0, 144}, {32, 2048, 1024, 1024}, {130, 520, 260, 260}, {8, 64, 60, 4}};

// The range copied out contiguously: (C, cols).
std::vector<float> extract(const float* full, const Range& r) {
    std::vector<float> out(std::size_t(r.c) * std::size_t(r.cols));
    for (int i = 0; i < r.c; ++i)
        std::copy(full + i * r.ld + r.col0, full + i * r.ld + r.col0 + r.cols, out.begin() + i * r.cols);
    return out;
}

// Every element of (C, ld) `after` outside the range has the bits of `before`.
bool outside_unchanged(const float* after, const std::vector<float>& before, const Range& r) {
    for (int i = 0; i < r.c; ++i)
        for (long long k = 0; k < r.ld; ++k) {
            if (k >= r.col0 && k < r.col0 + r.cols) continue;
            const std::size_t at = std::size_t(i * r.ld + k);
            if (std::memcmp(&after[at], &before[at], sizeof(float)) != 0) return false;
        }
    return true;
}

}  // namespace

TEST_CASE("emu: gram of a column range vs cpu gram_matrix") {
    double worst = 0;
    std::uint64_t stream = 700;
    for (const Range& r : kRanges)
        for (const bool guided : {false, true}) {
            INFO("C = " << r.c << "  ld = " << r.ld << "  columns [" << r.col0 << ", " << r.col0 + r.cols
                        << ")  guided = " << guided);
            const std::size_t n = std::size_t(r.c) * std::size_t(r.ld), cc = std::size_t(r.c) * r.c;
            Guarded<float> f(n), t(std::size_t(r.ld));
            nst::emu_test::fill_uniform(f.data(), n, stream++, -1.0, 1.0);
            nst::emu_test::fill_uniform(t.data(), t.size(), stream++, 0.0, 2.0);
            const double scale = 1.0 / double(r.cols);
            Guarded<float> partials(nst::kernels::gram_scratch_floats(r.c, r.cols), 0, NAN), g(cc, 0, NAN);
            nst::kernels::gram(f.data() + r.col0, guided ? t.data() + r.col0 : nullptr, r.c, r.cols, r.ld, scale,
                               partials.data(), g.data(), nullptr);
            REQUIRE(partials.intact());
            REQUIRE(g.intact());

            // The CPU twin on the range (F o T formed as float(f * t), as test_emu_guide.cpp).
            std::vector<float> sub = extract(f.data(), r);
            if (guided)
                for (int i = 0; i < r.c; ++i)
                    for (long long k = 0; k < r.cols; ++k) sub[i * r.cols + k] *= t[std::size_t(r.col0 + k)];
            std::vector<float> ref(cc);
            const nst::Shape fs{1, r.c, 1, int(r.cols)}, gs{1, 1, r.c, r.c};
            nst::cpu::gram_matrix<float>(nst::TensorView<float>(ref.data(), gs), nst::ConstView<float>(sub.data(), fs),
                                         scale);
            for (int i = 0; i < r.c; ++i)
                for (int j = 0; j < r.c; ++j) {
                    double magnitude = 0;
                    for (long long k = 0; k < r.cols; ++k)
                        magnitude += std::fabs(double(sub[i * r.cols + k]) * double(sub[j * r.cols + k]));
                    magnitude *= scale;
                    const double diff = std::fabs(double(g[std::size_t(i) * r.c + j]) - double(ref[std::size_t(i) * r.c + j]));
                    worst = std::max(worst, magnitude > 0 ? diff / magnitude : diff);
                }
            CHECK(worst <= 1e-5);

            // The same kernel on a contiguous copy of the range: the same bits.
            Guarded<float> f_sub(sub.size()), t_sub(std::size_t(r.cols)), g_sub(cc, 0, NAN);
            const std::vector<float> plain = extract(f.data(), r);
            std::copy(plain.begin(), plain.end(), f_sub.begin());
            std::copy(t.begin() + r.col0, t.begin() + r.col0 + r.cols, t_sub.begin());
            nst::kernels::gram(f_sub.data(), guided ? t_sub.data() : nullptr, r.c, r.cols, scale, partials.data(),
                               g_sub.data(), nullptr);
            CHECK(nst::emu_test::describe_difference(g.data(), g_sub.data(), cc) == "bit-identical");
        }
    MESSAGE("gram of a column range vs cpu::gram_matrix: worst error relative to scale * sum |f_ik f_jk|: " << worst);
}

TEST_CASE("emu: style gradient of a column range vs cpu style_loss") {
    double worst = 0;
    std::uint64_t stream = 800;
    for (const Range& r : kRanges)
        for (const bool guided : {false, true}) {
            INFO("C = " << r.c << "  ld = " << r.ld << "  columns [" << r.col0 << ", " << r.col0 + r.cols
                        << ")  guided = " << guided);
            const std::size_t n = std::size_t(r.c) * std::size_t(r.ld), cc = std::size_t(r.c) * r.c;
            const double gram_scale = 1.0 / double(r.cols), loss_scale = 0.37;
            const double coef = 4 * loss_scale * gram_scale;
            Guarded<float> f(n), df(n), t(std::size_t(r.ld)), a(cc), g(cc);
            nst::emu_test::fill_uniform(f.data(), n, stream++, -1.0, 1.0);
            nst::emu_test::fill_uniform(df.data(), n, stream++, -0.5, 0.5);
            // Unguided: the CPU's own G through cpu::style_loss; guided: T = 1 on the range's
            // first half and 0.5 after, so that the gradient's per-column factor is exercised
            // while G stays a plain Gram of F o T (formed on the host below).
            for (long long k = 0; k < r.ld; ++k) t[std::size_t(k)] = k < r.col0 + r.cols / 2 ? 1.f : 0.5f;
            for (int i = 0; i < r.c; ++i)
                for (int j = i; j < r.c; ++j)
                    a[std::size_t(i) * r.c + j] = a[std::size_t(j) * r.c + i] =
                        float(0.3 * nst::rng::uniform(9, stream, std::size_t(i) * r.c + j) - 0.1);

            // The CPU twin on the range (of F o T when guided), its gradient d(F o T).
            std::vector<float> sub = extract(f.data(), r);
            if (guided)
                for (int i = 0; i < r.c; ++i)
                    for (long long k = 0; k < r.cols; ++k) sub[i * r.cols + k] *= t[std::size_t(r.col0 + k)];
            const nst::Shape fs{1, r.c, 1, int(r.cols)}, gs{1, 1, r.c, r.c};
            std::vector<float> dsub(sub.size(), 0.f), diff(cc);
            nst::cpu::style_loss<float>(nst::ConstView<float>(sub.data(), fs), nst::ConstView<float>(a.data(), gs),
                                        gram_scale, loss_scale, nst::TensorView<float>(g.data(), gs),
                                        nst::TensorView<float>(diff.data(), gs), nst::TensorView<float>(dsub.data(), fs));

            const std::vector<float> df0 = df.to_vector();
            nst::kernels::style_gradient(g.data(), a.data(), f.data() + r.col0, guided ? t.data() + r.col0 : nullptr,
                                         r.c, r.cols, r.ld, coef, df.data() + r.col0, nullptr);
            REQUIRE(df.intact());
            CHECK(outside_unchanged(df.data(), df0, r));
            for (int row = 0; row < r.c; ++row)
                for (long long col = 0; col < r.cols; ++col) {
                    double magnitude = 0;
                    for (int k = 0; k < r.c; ++k) {
                        const double d = double(
                            float(double(g[std::size_t(row) * r.c + k]) - double(a[std::size_t(row) * r.c + k])));
                        magnitude += std::fabs(d * double(sub[k * r.cols + col]));
                    }
                    const std::size_t at = std::size_t(row * r.ld + r.col0 + col);
                    const double tm = guided ? double(t[std::size_t(r.col0 + col)]) : 1.0;
                    magnitude = std::fabs(double(df0[at])) + std::fabs(coef * tm) * magnitude;
                    const double ref = double(df0[at]) + tm * double(dsub[row * r.cols + col]);
                    const double err = std::fabs(double(df[at]) - ref);
                    worst = std::max(worst, magnitude > 0 ? err / magnitude : err);
                }
            CHECK(worst <= 1e-5);

            // The same kernel on contiguous copies: the same bits in the range.
            Guarded<float> f_sub(std::size_t(r.c) * r.cols), df_sub(std::size_t(r.c) * r.cols),
                t_sub(std::size_t(r.cols));
            const std::vector<float> plain = extract(f.data(), r), plain_df = extract(df0.data(), r);
            std::copy(plain.begin(), plain.end(), f_sub.begin());
            std::copy(plain_df.begin(), plain_df.end(), df_sub.begin());
            std::copy(t.begin() + r.col0, t.begin() + r.col0 + r.cols, t_sub.begin());
            nst::kernels::style_gradient(g.data(), a.data(), f_sub.data(), guided ? t_sub.data() : nullptr, r.c,
                                         r.cols, coef, df_sub.data(), nullptr);
            const std::vector<float> got = extract(df.data(), r);
            CHECK(nst::emu_test::describe_difference(got.data(), df_sub.data(), got.size()) == "bit-identical");
        }
    MESSAGE("style gradient of a column range vs cpu::style_loss: worst " << worst);
}

TEST_CASE("emu: content loss of a row range vs cpu content_loss") {
    // f and df (C, ld_f), the target p (C, ld_p) with its range elsewhere: a strip's owned rows
    // of its window against the same rows of the whole image's target.
    struct Case {
        int c;
        long long ld_f, col0_f, ld_p, col0_p, cols;
        int blocks;
    };
    const Case cases[] = {{1, 10, 3, 40, 20, 5, 1},   {3, 35, 7, 70, 49, 14, 2},   {64, 600, 100, 2000, 900, 400, 7},
                          {8, 9000, 0, 30000, 21000, 9000, 1024}, {16, 128, 64, 128, 64, 64, 3}};
    double worst = 0;
    std::uint64_t stream = 900;
    for (const Case& k : cases)
        for (const bool grad : {false, true}) {
            INFO("C = " << k.c << "  ld_f = " << k.ld_f << "  ld_p = " << k.ld_p << "  columns " << k.cols
                        << "  blocks " << k.blocks << "  grad " << grad);
            const Range rf{k.c, k.ld_f, k.col0_f, k.cols}, rp{k.c, k.ld_p, k.col0_p, k.cols};
            Guarded<float> f(std::size_t(k.c * k.ld_f)), df(std::size_t(k.c * k.ld_f)), p(std::size_t(k.c * k.ld_p));
            nst::emu_test::fill_normal(f.data(), f.size(), stream++);
            nst::emu_test::fill_normal(df.data(), df.size(), stream++);
            nst::emu_test::fill_normal(p.data(), p.size(), stream++);
            const double scale = 0.3;
            const std::vector<float> df0 = df.to_vector();

            std::vector<float> fs = extract(f.data(), rf), ps = extract(p.data(), rp), dfs = extract(df0.data(), rf);
            const nst::Shape shape{1, k.c, 1, int(k.cols)};
            const double value_cpu = nst::cpu::content_loss<float>(
                nst::ConstView<float>(fs.data(), shape), nst::ConstView<float>(ps.data(), shape), scale,
                grad ? nst::TensorView<float>(dfs.data(), shape) : nst::TensorView<float>());

            Guarded<double> partials(std::size_t(k.blocks), 0, NAN);
            nst::kernels::content_loss_rows(f.data() + k.col0_f, k.ld_f, p.data() + k.col0_p, k.ld_p, k.c, k.cols,
                                            2 * scale, grad ? df.data() + k.col0_f : nullptr, k.blocks,
                                            partials.data(), nullptr);
            REQUIRE(partials.intact());
            REQUIRE(df.intact());
            double sum = 0;
            for (int i = 0; i < k.blocks; ++i) sum += partials[std::size_t(i)];
            const double e = nst::emu_test::rel_diff(scale * sum, value_cpu);
            CHECK(e <= 1e-12);
            worst = std::max(worst, e);
            CHECK(outside_unchanged(df.data(), df0, rf));
            const std::vector<float> got = extract(df.data(), rf);
            CHECK(nst::emu_test::describe_difference(got.data(), dfs.data(), got.size()) == "bit-identical");
        }
    MESSAGE("content loss of a row range vs cpu::content_loss: value rel " << worst);
}

TEST_CASE("emu: guided copy with a row stride vs a host loop") {
    for (const Range& r : kRanges) {
        INFO("C = " << r.c << "  ld = " << r.ld << "  columns [" << r.col0 << ", " << r.col0 + r.cols << ")");
        const std::size_t n = std::size_t(r.c) * std::size_t(r.ld);
        Guarded<float> f(n), t(std::size_t(r.ld)), out(std::size_t(r.c) * r.cols, 0, NAN);
        nst::emu_test::fill_normal(f.data(), n, 1000 + r.ld);
        nst::emu_test::fill_uniform(t.data(), t.size(), 1001 + r.ld, 0.0, 2.0);
        nst::kernels::guided_copy(f.data() + r.col0, r.ld, t.data() + r.col0, r.c, r.cols, out.data(), nullptr);
        REQUIRE(out.intact());
        std::vector<float> ref = extract(f.data(), r);
        for (int i = 0; i < r.c; ++i)
            for (long long k = 0; k < r.cols; ++k) ref[i * r.cols + k] *= t[std::size_t(r.col0 + k)];
        CHECK(nst::emu_test::describe_difference(out.data(), ref.data(), ref.size()) == "bit-identical");
    }
}

TEST_CASE("emu: copy_rows and add_rows vs host loops") {
    // (C, src_h, w) band [src_row, +rows) to / onto (C, dst_h, w) band [dst_row, +rows).
    struct Case {
        int c, src_h, src_row, dst_h, dst_row, rows, w;
    };
    const Case cases[] = {{3, 40, 8, 100, 0, 32, 17}, {3, 100, 60, 40, 0, 40, 64}, {64, 12, 4, 30, 22, 8, 9},
                          {1, 1, 0, 1, 0, 1, 1},      {3, 96, 32, 64, 16, 0, 5}};
    for (const Case& k : cases)
        for (const bool add : {false, true}) {
            INFO("C = " << k.c << "  src " << k.src_h << " from " << k.src_row << "  dst " << k.dst_h << " from "
                        << k.dst_row << "  rows " << k.rows << "  w " << k.w << "  add " << add);
            const std::size_t ns = std::size_t(k.c) * k.src_h * k.w, nd = std::size_t(k.c) * k.dst_h * k.w;
            Guarded<float> src(ns), dst(nd);
            nst::emu_test::fill_normal(src.data(), ns, 1100);
            nst::emu_test::fill_normal(dst.data(), nd, 1101);
            std::vector<float> ref = dst.to_vector();
            for (int c = 0; c < k.c; ++c)
                for (int y = 0; y < k.rows; ++y)
                    for (int x = 0; x < k.w; ++x) {
                        const float v = src[(std::size_t(c) * k.src_h + k.src_row + y) * k.w + x];
                        float& d = ref[(std::size_t(c) * k.dst_h + k.dst_row + y) * k.w + x];
                        d = add ? d + v : v;
                    }
            if (add)
                nst::kernels::add_rows(dst.data(), k.dst_h, k.dst_row, src.data(), k.src_h, k.src_row, k.c, k.rows,
                                       k.w, nullptr);
            else
                nst::kernels::copy_rows(dst.data(), k.dst_h, k.dst_row, src.data(), k.src_h, k.src_row, k.c, k.rows,
                                        k.w, nullptr);
            REQUIRE(dst.intact());
            CHECK(nst::emu_test::describe_difference(dst.data(), ref.data(), nd) == "bit-identical");
        }
    // A band outside either map is refused before any launch.
    Guarded<float> a(30), b(30);
    CHECK_THROWS(nst::kernels::copy_rows(a.data(), 10, 5, b.data(), 10, 0, 1, 6, 3, nullptr));
}
