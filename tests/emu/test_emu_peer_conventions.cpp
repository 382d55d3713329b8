// SPDX-License-Identifier: MIT
// The peer conventions' kernels (issue #16) under emulation vs their CPU twins:
//  - kernels/tv_loss.cu's L1 form vs cpu::tv_l1_loss: the gradient is a sum of signs times the
//    scale, rounded once to float on both sides, so bit-identical; the value a double sum of the
//    same |differences| in another order, relative error <= 1e-12;
//  - kernels/grad_norm.cu vs the CPU objective's jcjohnson normalisation written out here:
//    df + g * 1 / (|g|_1 / |w| + 1e-8) (loss/conventions.h grad_norm_l1_factor), the norm in
//    double in another order, so the added values agree to a float rounding.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "cuda_emu.h"
#include "emu_test_util.h"
#include "kernels/grad_norm.h"
#include "kernels/launch.h"
#include "kernels/tv_loss.h"
#include "loss/conventions.h"
#include "loss/losses.h"

using nst::emu_test::Guarded;

TEST_CASE("emu: L1 total variation vs cpu tv_l1_loss") {
    struct Chw {
        int c, h, w;
    };
    // Single rows and columns count here (every neighbour pair counts); flat runs give sign 0.
    const Chw shapes[] = {{3, 2, 2}, {3, 1, 9}, {3, 9, 1}, {3, 5, 7}, {3, 64, 65}, {1, 2, 3000}};
    double worst = 0;
    std::uint64_t stream = 300;
    for (const Chw& s : shapes) {
        INFO("C = " << s.c << "  H = " << s.h << "  W = " << s.w);
        const nst::Shape shape{1, s.c, s.h, s.w};
        const std::size_t n = shape.numel();
        Guarded<float> x(n), dx(n);
        nst::emu_test::fill_normal(x.data(), n, stream++);
        nst::emu_test::fill_normal(dx.data(), n, stream++);
        for (std::size_t i = 0; i + 1 < n; i += 7) x[i + 1] = x[i];  // some zero differences
        const double scale = 0.7;
        std::vector<float> dx_cpu = dx.to_vector();
        const double value_cpu = nst::cpu::tv_l1_loss<float>(nst::ConstView<float>(x.data(), shape), scale,
                                                             nst::TensorView<float>(dx_cpu.data(), shape));
        const int np = nst::kernels::tv_l1_loss_partials(s.c, s.h, s.w);
        REQUIRE(np > 0);
        Guarded<double> partials(std::size_t(np), 0, NAN);
        nst::kernels::tv_l1_loss(x.data(), s.c, s.h, s.w, scale, dx.data(), partials.data(), nullptr);
        REQUIRE(partials.intact());
        REQUIRE(dx.intact());
        CHECK(nst::emu_test::describe_difference(dx.data(), dx_cpu.data(), n) == "bit-identical");
        double sum = 0;
        for (int i = 0; i < np; ++i) sum += partials[std::size_t(i)];
        const double err = nst::emu_test::rel_diff(scale * sum, value_cpu);
        CHECK(err <= 1e-12);
        worst = std::max(worst, err);
    }
    MESSAGE("L1 total variation: gradients bit-identical; worst value rel " << worst);
}

TEST_CASE("emu: jcjohnson gradient normalisation vs its formula") {
    for (std::size_t n : {std::size_t(1), std::size_t(1000), std::size_t(70000)}) {
        INFO("n = " << n);
        Guarded<float> g(n), df(n);
        nst::emu_test::fill_normal(g.data(), n, 400 + n);
        nst::emu_test::fill_normal(df.data(), n, 500 + n);
        const double weight = 37.5;
        double l1 = 0;
        for (std::size_t i = 0; i < n; ++i) l1 += std::fabs(double(g[i]));
        const double factor = nst::grad_norm_l1_factor(weight, l1);
        std::vector<float> want = df.to_vector();
        for (std::size_t i = 0; i < n; ++i) want[i] += float(double(g[i]) * factor);

        const int np = nst::kernels::grad_l1_partials_count(n);
        Guarded<double> partials(std::size_t(np), 0, NAN);
        nst::kernels::grad_l1_partials(g.data(), n, partials.data(), nullptr);
        nst::kernels::grad_l1_scale_add(g.data(), n, partials.data(), weight, df.data(), nullptr);
        REQUIRE(partials.intact());
        REQUIRE(df.intact());
        double worst = 0;
        for (std::size_t i = 0; i < n; ++i)
            worst = std::max(worst, double(std::fabs(df[i] - want[i])) / (std::fabs(double(want[i])) + 1e-30));
        CHECK(worst <= 1e-6);
        // The factor makes the added part's L1 norm |w| (less the 1e-8): the normalisation itself.
        double added = 0;
        for (std::size_t i = 0; i < n; ++i) added += std::fabs(double(g[i]) * factor);
        CHECK(added == doctest::Approx(weight).epsilon(1e-6));
    }
}
