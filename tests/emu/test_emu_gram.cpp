// SPDX-License-Identifier: MIT
// kernels/gram.cu under emulation vs cpu::gram_matrix (BLAS syrk, src/loss/gram.cpp).
//
// Both sum F F^T in float, in different orders (the kernel: fp32 FMAs within a split of at most
// a few hundred positions, the splits in double), so they agree to rounding. The error of entry
// (i, j) is measured against what rounding can do to it, scale * sum_k |f_ik| |f_jk|:
//   err(i, j) = |G_emu - G_cpu| / (scale * sum_k |f_ik f_jk|)       required <= 1e-5
// (float's unit roundoff is 6e-8; a sum of M terms in float can lose up to ~M * 6e-8 of that
// magnitude in the worst case, ~sqrt(M) * 6e-8 typically). G_emu must also be symmetric bit for
// bit, which the style gradient kernel relies on.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "cuda_emu.h"
#include "emu_test_util.h"
#include "kernels/gram.h"
#include "loss/losses.h"

using nst::emu_test::Guarded;

namespace {

struct GramRun {
    std::vector<float> g;  // the emulated Gram
    double worst = 0;      // worst err(i, j), see above
    int splits = 0;
};

// The emulated Gram of a (C, M) feature map stored at `offset` elements past a 64-byte boundary,
// checked for guards and symmetry, and its error against cpu::gram_matrix.
GramRun run_gram(int c, long long m, std::size_t offset, std::uint64_t stream) {
    INFO("C = " << c << "  M = " << m << "  offset = " << offset);
    const std::size_t cm = std::size_t(c) * std::size_t(m), cc = std::size_t(c) * c;
    Guarded<float> f(cm, offset);
    nst::emu_test::fill_uniform(f.data(), cm, stream, -1.0, 1.0);
    Guarded<float> partials(nst::kernels::gram_scratch_floats(c, m), 0, NAN);
    Guarded<float> g(cc, 0, NAN);
    const double scale = 1.0 / double(std::max<long long>(m, 1));

    nst::kernels::gram(f.data(), nullptr, c, m, scale, partials.data(), g.data(), nullptr);
    REQUIRE(f.intact());
    REQUIRE(partials.intact());
    REQUIRE(g.intact());

    std::vector<float> ref(cc);
    const nst::Shape fs{1, c, 1, int(m)}, gs{1, 1, c, c};
    nst::cpu::gram_matrix<float>(nst::TensorView<float>(ref.data(), gs), nst::ConstView<float>(f.data(), fs), scale);

    GramRun r;
    r.splits = nst::kernels::gram_splits(c, m);
    r.g = g.to_vector();
    for (int i = 0; i < c; ++i)
        for (int j = 0; j < c; ++j) {
            const float v = g[std::size_t(i) * c + j];
            REQUIRE(std::memcmp(&v, &g[std::size_t(j) * c + i], sizeof v) == 0);  // symmetric bits
            double magnitude = 0;
            for (long long k = 0; k < m; ++k)
                magnitude += std::fabs(double(f[std::size_t(i) * m + k]) * double(f[std::size_t(j) * m + k]));
            magnitude *= scale;
            const double diff = std::fabs(double(v) - double(ref[std::size_t(i) * c + j]));
            if (magnitude == 0) {
                REQUIRE(diff == 0);  // an all-zero row (M = 0) gives exact zeros
                continue;
            }
            r.worst = std::max(r.worst, diff / magnitude);
        }
    return r;
}

constexpr double kGramTolerance = 1e-5;

}  // namespace

TEST_CASE("emu: gram vs cpu gram_matrix across shapes") {
    struct Case {
        int c;
        long long m;
        std::size_t offset;
    };
    // C across the 64-tile and 32-tile edges and not a multiple of 4; M not a multiple of 4 (the
    // scalar load path), a multiple of 4 at offset 0 (float4 path) and at offset 1 (scalar path
    // again), and across the 32-position steps and the 512-position splits.
    const Case cases[] = {{1, 0, 0},     {3, 1, 0},      {3, 3, 0},     {1, 4, 0},     {31, 33, 0},
                          {32, 96, 0},   {33, 4, 1},     {64, 513, 0},  {65, 1024, 0}, {65, 1024, 1},
                          {100, 4095, 0}, {128, 2000, 0}, {130, 7, 0},   {130, 4096, 0}, {127, 600, 1}};
    double worst = 0;
    std::uint64_t stream = 10;
    for (const Case& k : cases) {
        const GramRun r = run_gram(k.c, k.m, k.offset, stream++);
        INFO("C = " << k.c << "  M = " << k.m << "  offset = " << k.offset << "  splits = " << r.splits);
        CHECK(r.worst <= kGramTolerance);
        worst = std::max(worst, r.worst);
    }
    MESSAGE("gram vs cpu::gram_matrix: worst error relative to scale * sum |f_ik f_jk|: " << worst);
}

TEST_CASE("emu: gram with many split-K chunks") {
    // C <= 64 is one tile pair, so split-K spreads M over up to 264 blocks of >= 512 positions.
    const int c = 24;
    const long long m = 40000;
    const GramRun r = run_gram(c, m, 0, 40);
    CHECK(r.splits >= 64);
    CHECK(r.worst <= kGramTolerance);
    MESSAGE("gram C = " << c << " M = " << m << " (" << r.splits << " splits): worst error " << r.worst);
}

TEST_CASE("emu: gram is independent of the block and thread order") {
    // The partial and mirror kernels must not depend on the order blocks and threads run in.
    const GramRun forward = run_gram(100, 1100, 0, 50);
    nst::emu::set_order(nst::emu::Order::Reverse);
    const GramRun reverse = run_gram(100, 1100, 0, 50);
    nst::emu::set_order(nst::emu::Order::Forward);
    CHECK(nst::emu_test::first_bit_difference(forward.g.data(), reverse.g.data(), forward.g.size()) == -1);
}
