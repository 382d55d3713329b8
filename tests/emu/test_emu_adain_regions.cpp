// SPDX-License-Identifier: MIT
// kernels/adain_regions.cu under emulation against its CPU twin (nn/adain_regions.h): both
// conventions, 1-4 regions with random and striped labels (an empty region included), odd sizes,
// alpha 0 / 0.6 / 1, in place. Both sides sum in double in different orders and round each
// output once: max |kernel - cpu| / max |cpu| < 2e-6 (a wrong label or region statistic gives
// O(1)); alpha 0 returns the content bit for bit. Guard zones catch writes outside the outputs.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/rng.h"
#include "core/tensor.h"
#include "cuda_emu.h"
#include "emu_test_util.h"
#include "kernels/adain_regions.h"
#include "nn/adain_regions.h"

using nst::emu_test::Guarded;
using nst::emu_test::fill_normal;
using nst::emu_test::fill_uniform;
using nst::emu_test::rel_max_err;

namespace {

constexpr double kTol = 2e-6;

// Labels in [0, regions): random (seeded), or horizontal stripes; region `empty` (if >= 0) gets
// no pixel. Every other region gets at least two.
std::vector<std::int32_t> make_labels(std::size_t plane, int w, int regions, bool random, int empty,
                                      std::uint64_t seed) {
    std::vector<std::int32_t> l(plane);
    std::vector<int> used;
    for (int k = 0; k < regions; ++k)
        if (k != empty) used.push_back(k);
    for (std::size_t i = 0; i < plane; ++i) {
        const std::size_t pick = random ? std::size_t(nst::rng::uniform(seed, 7, i) * double(used.size()))
                                        : (i / std::size_t(w)) % used.size();
        l[i] = used[std::min(pick, used.size() - 1)];
    }
    // The first 2 used.size() pixels: two of each region, so no region has a single pixel.
    for (std::size_t i = 0; i < 2 * used.size() && i < plane; ++i) l[i] = used[i / 2];
    return l;
}

}  // namespace

TEST_CASE("emu: adain regions vs the CPU twin") {
    using nst::Shape;
    const Shape shapes[] = {{1, 2, 3, 5}, {1, 3, 9, 7}, {1, 4, 30, 17}};
    std::uint64_t stream = 5100;
    for (auto st : {nst::cpu::AdainStats::Port, nst::cpu::AdainStats::Official})
        for (const Shape& s : shapes)
            for (int regions : {1, 2, 4})
                for (int empty : {-1, 1})
                    for (bool random : {false, true})
                        for (double alpha : {0.0, 0.6, 1.0}) {
                            if (empty >= regions || (regions == 1 && empty >= 0)) continue;
                            if (std::size_t(2 * regions) > s.plane()) continue;
                            const std::size_t plane = s.plane(), per = std::size_t(s.c) * regions;
                            Guarded<float> x(s.numel()), y(s.numel()), smean(per), ssig(per);
                            Guarded<std::int32_t> labels(plane);
                            fill_normal(x.data(), x.size(), ++stream, 2.0);
                            fill_normal(smean.data(), smean.size(), ++stream, 1.0);
                            fill_uniform(ssig.data(), ssig.size(), ++stream, 0.0, 3.0);
                            const std::vector<std::int32_t> l = make_labels(plane, s.w, regions, random, empty, ++stream);
                            std::copy(l.begin(), l.end(), labels.begin());
                            const std::vector<std::size_t> n = nst::cpu::region_pixel_counts(l, regions);
                            nst::kernels::AdainRegionCounts counts;
                            counts.regions = regions;
                            for (int k = 0; k < regions; ++k) counts.n[k] = (long long)n[std::size_t(k)];
                            nst::kernels::adain_regions(y.data(), x.data(), labels.data(), smean.data(), ssig.data(),
                                                        counts, alpha, s.c, plane,
                                                        st == nst::cpu::AdainStats::Port, nullptr);
                            std::vector<nst::cpu::AdainStyleStats> styles;
                            for (int k = 0; k < regions; ++k)
                                styles.push_back({{smean.data() + std::size_t(k) * s.c, {1, s.c, 1, 1}},
                                                  {ssig.data() + std::size_t(k) * s.c, {1, s.c, 1, 1}}});
                            std::vector<float> ref(s.numel());
                            nst::cpu::adain_regions({ref.data(), s}, {x.data(), s}, l, styles, alpha, st);
                            CAPTURE(s.str());
                            CAPTURE(regions);
                            CAPTURE(empty);
                            CAPTURE(random);
                            CAPTURE(alpha);
                            CHECK(rel_max_err(y.data(), ref.data(), ref.size()) < kTol);
                            CHECK(y.intact());
                            CHECK(labels.intact());
                            if (alpha == 0.0) CHECK(std::equal(y.begin(), y.end(), x.begin()));
                        }
    // In place (y aliasing the content).
    const Shape s{1, 3, 8, 9};
    Guarded<float> x(s.numel()), m(std::size_t(2 * s.c)), sg(std::size_t(2 * s.c));
    fill_normal(x.data(), x.size(), 5300, 1.0);
    fill_normal(m.data(), m.size(), 5301, 1.0);
    fill_uniform(sg.data(), sg.size(), 5302, 0.5, 2.0);
    const std::vector<std::int32_t> l = make_labels(s.plane(), s.w, 2, true, -1, 5303);
    std::vector<float> ref(s.numel());
    nst::cpu::adain_regions({ref.data(), s}, {x.data(), s}, l,
                            {{{m.data(), {1, s.c, 1, 1}}, {sg.data(), {1, s.c, 1, 1}}},
                             {{m.data() + s.c, {1, s.c, 1, 1}}, {sg.data() + s.c, {1, s.c, 1, 1}}}},
                            0.8, nst::cpu::AdainStats::Port);
    const std::vector<std::size_t> n = nst::cpu::region_pixel_counts(l, 2);
    nst::kernels::AdainRegionCounts counts;
    counts.regions = 2;
    counts.n[0] = (long long)n[0];
    counts.n[1] = (long long)n[1];
    nst::kernels::adain_regions(x.data(), x.data(), l.data(), m.data(), sg.data(), counts, 0.8, s.c, s.plane(), true,
                                nullptr);
    CHECK(rel_max_err(x.data(), ref.data(), ref.size()) < kTol);
}
