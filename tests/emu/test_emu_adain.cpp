// SPDX-License-Identifier: MIT
// kernels/adain.cu under emulation against its CPU twin (nn/adain.h), both conventions, batches
// 1 and 2, odd sizes, 1-3 styles and alpha 0 / 0.5 / 1. Both sides sum in double (in different
// orders) and round each output once, so they agree to a few float ulps: compared as
// max |kernel - cpu| / max |cpu| < 2e-6 (an indexing error gives O(1)); alpha 0 must return the
// content bit for bit. Guard zones catch writes outside the outputs.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/tensor.h"
#include "cuda_emu.h"
#include "emu_test_util.h"
#include "kernels/adain.h"
#include "nn/adain.h"

using nst::emu_test::Guarded;
using nst::emu_test::fill_normal;
using nst::emu_test::fill_uniform;
using nst::emu_test::rel_max_err;

namespace {

constexpr double kTol = 2e-6;

bool unbiased(nst::cpu::AdainStats st) { return st == nst::cpu::AdainStats::Port; }

// The style sigma's eps under each convention (nn/adain.h).
double style_eps(nst::cpu::AdainStats st) { return st == nst::cpu::AdainStats::Port ? 1e-5 : 0.0; }

}  // namespace

TEST_CASE("emu: adain channel statistics vs the CPU twin") {
    using nst::Shape;
    const Shape shapes[] = {{1, 1, 1, 2}, {2, 3, 5, 7}, {1, 4, 33, 31}};
    std::uint64_t stream = 4100;
    for (auto st : {nst::cpu::AdainStats::Port, nst::cpu::AdainStats::Official})
        for (auto role : {nst::cpu::AdainRole::Content, nst::cpu::AdainRole::Style})
            for (const Shape& s : shapes) {
                const std::size_t planes = std::size_t(s.n) * s.c;
                Guarded<float> x(s.numel()), mean(planes), sigma(planes);
                fill_uniform(x.data(), x.size(), ++stream, 10.0, 13.0);
                const double eps = role == nst::cpu::AdainRole::Content ? 1e-5 : style_eps(st);
                nst::kernels::adain_channel_stats(mean.data(), sigma.data(), x.data(), s.n, s.c, s.plane(),
                                                  unbiased(st), eps, nullptr);
                std::vector<float> cm(planes), cs(planes);
                nst::cpu::adain_channel_stats({cm.data(), {s.n, s.c, 1, 1}}, {cs.data(), {s.n, s.c, 1, 1}},
                                              {x.data(), s}, st, role);
                CAPTURE(s.str());
                CHECK(rel_max_err(mean.data(), cm.data(), planes) < kTol);
                CHECK(rel_max_err(sigma.data(), cs.data(), planes) < kTol);
                CHECK(mean.intact());
                CHECK(sigma.intact());
            }
}

TEST_CASE("emu: adain blend vs the CPU twin") {
    using nst::Shape;
    const Shape shapes[] = {{1, 2, 3, 5}, {2, 3, 9, 7}, {2, 2, 30, 17}};
    std::uint64_t stream = 4200;
    for (auto st : {nst::cpu::AdainStats::Port, nst::cpu::AdainStats::Official})
        for (const Shape& s : shapes)
            for (int k_styles : {1, 3})
                for (int style_batch : {1, s.n})
                    for (double alpha : {0.0, 0.5, 1.0}) {
                        const std::size_t per = std::size_t(style_batch) * s.c;
                        Guarded<float> x(s.numel()), y(s.numel());
                        Guarded<float> smean(per * k_styles), ssig(per * k_styles);
                        fill_normal(x.data(), x.size(), ++stream, 2.0);
                        fill_normal(smean.data(), smean.size(), ++stream, 1.0);
                        fill_uniform(ssig.data(), ssig.size(), ++stream, 0.0, 3.0);
                        const std::vector<double> raw = k_styles == 1 ? std::vector<double>{2.0}
                                                                      : std::vector<double>{1.0, 0.0, 3.0};
                        const std::vector<double> w = nst::cpu::adain_normalised_weights(raw);
                        nst::kernels::AdainWeights kw;
                        kw.count = k_styles;
                        for (int k = 0; k < k_styles; ++k) kw.w[k] = w[std::size_t(k)];
                        nst::kernels::adain_blend(y.data(), x.data(), smean.data(), ssig.data(), kw, alpha, s.n, s.c,
                                                  s.plane(), style_batch, unbiased(st), nullptr);
                        std::vector<nst::cpu::AdainStyleStats> styles;
                        for (int k = 0; k < k_styles; ++k)
                            styles.push_back({{smean.data() + k * per, {style_batch, s.c, 1, 1}},
                                              {ssig.data() + k * per, {style_batch, s.c, 1, 1}}});
                        std::vector<float> ref(s.numel());
                        nst::cpu::adain_blend({ref.data(), s}, {x.data(), s}, styles, raw, alpha, st);
                        CAPTURE(s.str());
                        CAPTURE(k_styles);
                        CAPTURE(style_batch);
                        CAPTURE(alpha);
                        CHECK(rel_max_err(y.data(), ref.data(), ref.size()) < kTol);
                        CHECK(y.intact());
                        if (alpha == 0.0) CHECK(std::equal(y.begin(), y.end(), x.begin()));
                    }
    // In place (y aliasing the content).
    const Shape s{2, 3, 8, 9};
    Guarded<float> x(s.numel()), m(std::size_t(s.c)), sg(std::size_t(s.c));
    fill_normal(x.data(), x.size(), 4300, 1.0);
    fill_normal(m.data(), m.size(), 4301, 1.0);
    fill_uniform(sg.data(), sg.size(), 4302, 0.5, 2.0);
    std::vector<float> ref(s.numel());
    nst::cpu::adain_forward({ref.data(), s}, {x.data(), s}, {m.data(), {1, s.c, 1, 1}}, {sg.data(), {1, s.c, 1, 1}},
                            nst::cpu::AdainStats::Port);
    nst::kernels::AdainWeights one;
    one.count = 1;
    one.w[0] = 1.0;
    nst::kernels::adain_blend(x.data(), x.data(), m.data(), sg.data(), one, 1.0, s.n, s.c, s.plane(), 1, true, nullptr);
    CHECK(rel_max_err(x.data(), ref.data(), ref.size()) < kTol);
}
