// SPDX-License-Identifier: MIT
// kernels/content_loss.cu, tv_loss.cu and terms.cu under emulation vs cpu::content_loss,
// cpu::tv_loss (src/loss) and the host sums of the objective's terms.
//
// The gradients are element formulas in double rounded once to float, on both sides: they must
// be bit-identical. The values are double sums of the same terms in another order (the kernels'
// fixed block slices and tree vs the CPU's fixed chunks): relative error <= 1e-12.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "cuda_emu.h"
#include "emu_test_util.h"
#include "kernels/content_loss.h"
#include "kernels/launch.h"
#include "kernels/terms.h"
#include "kernels/tv_loss.h"
#include "loss/losses.h"

using nst::emu_test::Guarded;

namespace {

constexpr double kValueTolerance = 1e-12;

struct Chw {
    int c, h, w;
};

}  // namespace

TEST_CASE("emu: content loss vs cpu content_loss") {
    const Chw shapes[] = {{1, 1, 1}, {3, 5, 7}, {64, 33, 31}, {8, 100, 90}, {1, 1, 5000}};
    double worst = 0;
    std::uint64_t stream = 100;
    for (const Chw& s : shapes) {
        INFO("C = " << s.c << "  H = " << s.h << "  W = " << s.w);
        const nst::Shape shape{1, s.c, s.h, s.w};
        const std::size_t n = shape.numel();
        Guarded<float> f(n), p(n), df(n);
        nst::emu_test::fill_normal(f.data(), n, stream++);
        nst::emu_test::fill_normal(p.data(), n, stream++);
        nst::emu_test::fill_normal(df.data(), n, stream++);  // += onto an existing gradient
        const double scale = 0.3;

        std::vector<float> df_cpu = df.to_vector();
        const double value_cpu = nst::cpu::content_loss<float>(nst::ConstView<float>(f.data(), shape),
                                                               nst::ConstView<float>(p.data(), shape), scale,
                                                               nst::TensorView<float>(df_cpu.data(), shape));

        const int np = nst::kernels::content_loss_partials(n);
        CHECK(np == nst::kernels::reduce_blocks(n));
        Guarded<double> partials(std::size_t(np), 0, NAN);
        nst::kernels::content_loss(f.data(), p.data(), n, 2 * scale, df.data(), partials.data(), nullptr);
        REQUIRE(partials.intact());
        REQUIRE(df.intact());
        CHECK(nst::emu_test::describe_difference(df.data(), df_cpu.data(), n) == "bit-identical");
        double sum = 0;
        for (int i = 0; i < np; ++i) sum += partials[std::size_t(i)];
        const double err = nst::emu_test::rel_diff(scale * sum, value_cpu);
        CHECK(err <= kValueTolerance);
        worst = std::max(worst, err);

        // Value only (df null): the same partials, nothing written.
        Guarded<double> partials2(std::size_t(np), 0, NAN);
        nst::kernels::content_loss(f.data(), p.data(), n, 2 * scale, nullptr, partials2.data(), nullptr);
        CHECK(nst::emu_test::first_bit_difference(partials.data(), partials2.data(), std::size_t(np)) == -1);
    }
    MESSAGE("content loss: gradients bit-identical; worst value rel " << worst);
}

TEST_CASE("emu: total variation vs cpu tv_loss") {
    // Degenerate planes (H or W = 1: nothing queued, value 0), odd sizes, and rows that cross
    // block slices and planes.
    const Chw shapes[] = {{3, 2, 2}, {3, 1, 9}, {3, 9, 1}, {3, 5, 7}, {3, 64, 65}, {3, 150, 151}, {1, 2, 3000}};
    double worst = 0;
    std::uint64_t stream = 200;
    for (const Chw& s : shapes) {
        INFO("C = " << s.c << "  H = " << s.h << "  W = " << s.w);
        const nst::Shape shape{1, s.c, s.h, s.w};
        const std::size_t n = shape.numel();
        Guarded<float> x(n), dx(n);
        nst::emu_test::fill_normal(x.data(), n, stream++);
        nst::emu_test::fill_normal(dx.data(), n, stream++);
        const double scale = 0.7;

        std::vector<float> dx_cpu = dx.to_vector();
        const double value_cpu = nst::cpu::tv_loss<float>(nst::ConstView<float>(x.data(), shape), scale,
                                                          nst::TensorView<float>(dx_cpu.data(), shape));

        const int np = nst::kernels::tv_loss_partials(s.c, s.h, s.w);
        Guarded<double> partials(std::size_t(np), 0, NAN);
        nst::kernels::tv_loss(x.data(), s.c, s.h, s.w, scale, dx.data(), partials.data(), nullptr);
        REQUIRE(partials.intact());
        REQUIRE(dx.intact());
        CHECK(nst::emu_test::describe_difference(dx.data(), dx_cpu.data(), n) == "bit-identical");
        double sum = 0;
        for (int i = 0; i < np; ++i) sum += partials[std::size_t(i)];
        const double value = scale * 0.5 * sum;  // kernels/terms.h applies scale / 2
        if (np == 0) {
            CHECK(value_cpu == 0.0);
            continue;
        }
        const double err = nst::emu_test::rel_diff(value, value_cpu);
        CHECK(err <= kValueTolerance);
        worst = std::max(worst, err);
    }
    MESSAGE("total variation: gradients bit-identical; worst value rel " << worst);
}

TEST_CASE("emu: finalize terms vs host sums of the terms") {
    // Two content terms, three style terms and TV, with partial counts 0 (a skipped term),
    // 1 and kMaxPartials. Each term is scale * (its partials summed in index order) and the
    // total is (content sum) + (style sum) + tv, LossTerms' association: all bit-identical.
    nst::kernels::TermSums sums;
    sums.num_content = 2;
    sums.num_style = 3;
    const int counts[6] = {3, 0, nst::kernels::kMaxPartials, 5, 1, 2};
    Guarded<double> partials(6 * std::size_t(nst::kernels::kMaxPartials), 0, NAN);
    double ref[6];
    for (int j = 0; j < 6; ++j) {
        sums.count[j] = counts[j];
        sums.scale[j] = 0.5 + 1.25 * j;
        double v = 0;
        for (int i = 0; i < counts[j]; ++i) {
            double& p = partials[std::size_t(j) * nst::kernels::kMaxPartials + i];
            p = nst::rng::normal(5, j, i) * 1e3;
            v += p;
        }
        ref[j] = counts[j] > 0 ? sums.scale[j] * v : 0.0;
    }
    Guarded<double> terms(8, 0, NAN);
    nst::kernels::finalize_terms(partials.data(), sums, terms.data(), nullptr);
    REQUIRE(terms.intact());
    for (int j = 0; j < 6; ++j) CHECK(nst::emu_test::first_bit_difference(&terms[j], &ref[j], 1) == -1);
    double content = 0, style = 0;
    for (int i = 0; i < 2; ++i) content += ref[i];
    for (int i = 2; i < 5; ++i) style += ref[i];
    const double total = content + style + ref[5];
    CHECK(nst::emu_test::first_bit_difference(&terms[6], &total, 1) == -1);
    CHECK(std::isnan(terms[7]));  // nothing written past nc + ns + 2 terms
}

TEST_CASE("emu: finalize terms with the temporal slot adds it last") {
    // The objective's layout [content, style, tv, temporal, total]: one content term, two style
    // terms, TV and temporal (scale 1: the temporal kernel's partials are already scaled). The
    // total is ((content + style) + tv) + temporal, LossTerms' association.
    nst::kernels::TermSums sums;
    sums.num_content = 1;
    sums.num_style = 2;
    sums.temporal = true;
    REQUIRE(nst::kernels::finalized_terms(sums) == 6);
    const int counts[5] = {4, 7, 0, 3, nst::kernels::kMaxPartials};
    Guarded<double> partials(5 * std::size_t(nst::kernels::kMaxPartials), 0, NAN);
    double ref[5];
    for (int j = 0; j < 5; ++j) {
        sums.count[j] = counts[j];
        sums.scale[j] = j == 4 ? 1.0 : 0.75 + 0.5 * j;
        double v = 0;
        for (int i = 0; i < counts[j]; ++i) {
            double& p = partials[std::size_t(j) * nst::kernels::kMaxPartials + i];
            p = std::fabs(nst::rng::normal(6, j, i)) * 1e2;
            v += p;
        }
        ref[j] = counts[j] > 0 ? sums.scale[j] * v : 0.0;
    }
    Guarded<double> terms(7, 0, NAN);
    nst::kernels::finalize_terms(partials.data(), sums, terms.data(), nullptr);
    REQUIRE(terms.intact());
    for (int j = 0; j < 5; ++j) CHECK(nst::emu_test::first_bit_difference(&terms[j], &ref[j], 1) == -1);
    double content = ref[0], style = 0;
    for (int i = 1; i < 3; ++i) style += ref[i];
    const double total = content + style + ref[3] + ref[4];
    CHECK(nst::emu_test::first_bit_difference(&terms[5], &total, 1) == -1);
    CHECK(terms[5] != content + style + ref[3]);  // the temporal term is in the total
    CHECK(std::isnan(terms[6]));                  // nothing written past the total
}
