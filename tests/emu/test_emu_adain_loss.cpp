// SPDX-License-Identifier: MIT
// kernels/adain_loss.cu under emulation against its CPU twin cpu::adain_style_loss
// (loss/adain_loss.h): both conventions, batch 1 and 2, planes from 2 values to 33 x 31, the
// value (the kernel's per-plane values summed in order and scaled here, as the CUDA step does)
// and the gradient added onto a non-zero df. Both sides take the statistics in double in
// different orders and round each gradient element once: the value agrees to 1e-12 relative,
// the gradient as max |kernel - cpu| / max |cpu| < 1e-6 (an indexing error gives O(1)). Guard
// zones catch writes outside the outputs.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/tensor.h"
#include "cuda_emu.h"
#include "emu_test_util.h"
#include "kernels/adain_loss.h"
#include "loss/adain_loss.h"

using nst::emu_test::Guarded;
using nst::emu_test::fill_normal;
using nst::emu_test::fill_uniform;
using nst::emu_test::rel_diff;

TEST_CASE("emu: adain style loss value and gradient vs the CPU twin") {
    using nst::Shape;
    const Shape shapes[] = {{1, 1, 1, 2}, {2, 3, 5, 7}, {1, 4, 33, 31}, {2, 5, 16, 16}};
    std::uint64_t stream = 4300;
    for (bool port : {true, false})
        for (const Shape& s : shapes) {
            CAPTURE(port);
            CAPTURE(s.str());
            const nst::AdainLossConstants k = nst::adain_loss_constants(port);
            const int planes = s.n * s.c;
            const double weight = port ? 10.0 : 1e-2;
            const double scale = weight / (k.mean_over_channels ? double(planes) : double(s.n));
            const std::size_t np = std::size_t(planes);
            Guarded<float> f(s.numel()), tm(np), ts(np), df(s.numel());
            Guarded<double> values(np);
            fill_normal(f.data(), f.size(), ++stream, 3.0);
            fill_uniform(tm.data(), tm.size(), ++stream, -1.0, 1.0);
            fill_uniform(ts.data(), ts.size(), ++stream, 0.1, 4.0);
            fill_uniform(df.data(), df.size(), ++stream, -0.5, 0.5);
            std::vector<float> cpu_df = df.to_vector();

            nst::kernels::adain_style_loss(f.data(), tm.data(), ts.data(), planes, s.plane(), k.unbiased, k.eps,
                                           scale, df.data(), values.data(), nullptr);
            const Shape st{s.n, s.c, 1, 1};
            const double cpu_value = nst::cpu::adain_style_loss<float>({f.data(), s}, {tm.data(), st}, {ts.data(), st}, k,
                                                                weight, {cpu_df.data(), s});
            double value = 0;
            for (int p = 0; p < planes; ++p) value += values[std::size_t(p)];
            CHECK(rel_diff(scale * value, cpu_value) < 1e-12);
            double err = 0, mag = 0;
            for (std::size_t i = 0; i < df.size(); ++i) {
                err = std::max(err, std::fabs(double(df[i]) - double(cpu_df[i])));
                mag = std::max(mag, std::fabs(double(cpu_df[i])));
            }
            CHECK(err / mag < 1e-6);
            CHECK(f.intact());
            CHECK(df.intact());
            CHECK(values.intact());

            // Without a gradient only the values are written.
            Guarded<double> values2(np);
            nst::kernels::adain_style_loss(f.data(), tm.data(), ts.data(), planes, s.plane(), k.unbiased, k.eps,
                                           scale, nullptr, values2.data(), nullptr);
            CHECK(nst::emu_test::first_bit_difference(values.data(), values2.data(), values.size()) == -1);
            CHECK(values2.intact());
        }
}
