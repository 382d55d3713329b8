// SPDX-License-Identifier: MIT
// kernels/temporal_loss.cu under emulation vs cpu::temporal_loss (loss/temporal_loss.h).
//
// The gradient is an element formula in double rounded once to float on both sides: it must be
// bit-identical. The value is a double sum of the same terms in another order (the kernel's
// fixed block slices and tree vs the CPU's fixed row chunks): relative error <= 1e-12.
#include <doctest/doctest.h>

#include <algorithm>
#include <deque>
#include <vector>

#include "cuda_emu.h"
#include "emu_test_util.h"
#include "kernels/launch.h"
#include "kernels/temporal_loss.h"
#include "loss/temporal_loss.h"

using nst::emu_test::Guarded;

TEST_CASE("emu: temporal loss vs cpu temporal_loss") {
    struct Case {
        int c, h, w, targets;
    };
    // One pixel, odd sizes, several targets, planes that cross block slices (3 x 150 x 151 is
    // 67950 elements: 9 blocks), and no target at all (nothing queued, value 0).
    const Case cases[] = {{3, 1, 1, 1}, {3, 5, 7, 2}, {1, 9, 4, 3}, {3, 64, 65, 3}, {3, 150, 151, 2}, {3, 8, 8, 0}};
    double worst = 0;
    std::uint64_t stream = 300;
    for (const Case& k : cases) {
        INFO("C = " << k.c << "  H = " << k.h << "  W = " << k.w << "  targets = " << k.targets);
        const nst::Shape shape{1, k.c, k.h, k.w}, plane{1, 1, k.h, k.w};
        const std::size_t n = shape.numel(), np = plane.numel();
        Guarded<float> x(n), dx(n);
        nst::emu_test::fill_normal(x.data(), n, stream++, 50.0);
        nst::emu_test::fill_normal(dx.data(), n, stream++);  // += onto an existing gradient
        std::deque<Guarded<float>> warped, weight;  // Guarded does not move; deque keeps addresses
        std::vector<nst::TemporalTarget<float>> cpu_targets;
        nst::kernels::TemporalTargets gpu_targets;
        gpu_targets.count = k.targets;
        for (int j = 0; j < k.targets; ++j) {
            warped.emplace_back(n);
            weight.emplace_back(np);
            nst::emu_test::fill_normal(warped.back().data(), n, stream++, 50.0);
            nst::emu_test::fill_uniform(weight.back().data(), np, stream++, 0.0, 1.0);
            cpu_targets.push_back({nst::ConstView<float>(warped.back().data(), shape),
                                   nst::ConstView<float>(weight.back().data(), plane)});
            gpu_targets.warped[j] = warped.back().data();
            gpu_targets.weight[j] = weight.back().data();
        }
        std::vector<double> scales(std::size_t(k.c));
        for (int c = 0; c < k.c; ++c) scales[std::size_t(c)] = 1e3 * (1 + 0.3 * c) / double(n);  // uneven channels
        for (int c = 0; c < k.c; ++c) gpu_targets.channel_scale[c] = scales[std::size_t(c)];

        std::vector<float> dx_cpu = dx.to_vector();
        const double value_cpu = nst::cpu::temporal_loss<float>(nst::ConstView<float>(x.data(), shape), cpu_targets,
                                                                scales, nst::TensorView<float>(dx_cpu.data(), shape));

        const int parts = nst::kernels::temporal_loss_partials(k.c, k.h, k.w, k.targets);
        Guarded<double> partials(std::size_t(std::max(parts, 1)), 0, NAN);
        nst::kernels::temporal_loss(x.data(), k.c, k.h, k.w, gpu_targets, dx.data(), partials.data(), nullptr);
        REQUIRE(partials.intact());
        REQUIRE(dx.intact());
        for (auto& t : warped) REQUIRE(t.intact());
        for (auto& t : weight) REQUIRE(t.intact());
        CHECK(nst::emu_test::describe_difference(dx.data(), dx_cpu.data(), n) == "bit-identical");
        if (parts == 0) {
            CHECK(value_cpu == 0.0);
            continue;
        }
        CHECK(parts == nst::kernels::reduce_blocks(n));
        double sum = 0;
        for (int i = 0; i < parts; ++i) sum += partials[std::size_t(i)];
        const double err = nst::emu_test::rel_diff(sum, value_cpu);
        CHECK(err <= 1e-12);
        worst = std::max(worst, err);

        // Value only (dx null): the same partials, bit for bit.
        Guarded<double> partials2(std::size_t(parts), 0, NAN);
        nst::kernels::temporal_loss(x.data(), k.c, k.h, k.w, gpu_targets, nullptr, partials2.data(), nullptr);
        CHECK(nst::emu_test::first_bit_difference(partials.data(), partials2.data(), std::size_t(parts)) == -1);
    }
    MESSAGE("temporal loss: gradients bit-identical; worst value rel " << worst);
}
