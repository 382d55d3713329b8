// SPDX-License-Identifier: MIT
// kernels/wct.cu under emulation against its CPU twins (nn/wct.h: cpu::wct_center,
// cpu::wct_shift). The centring sums in double in another order than the CPU, so the mean may
// differ in its last bits and a centred value by one float ulp: compared as
// max |kernel - cpu| / max |cpu| < 1e-6 (an indexing error gives O(1)), means to 1e-12 relative.
// The shift is one float add per element: bit-identical. In place and out of place; guard zones
// catch writes outside the outputs.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/tensor.h"
#include "cuda_emu.h"
#include "emu_test_util.h"
#include "kernels/wct.h"
#include "nn/wct.h"

using nst::emu_test::Guarded;
using nst::emu_test::fill_normal;
using nst::emu_test::fill_uniform;
using nst::emu_test::rel_max_err;

TEST_CASE("emu: wct centring vs the CPU twin") {
    using nst::Shape;
    const Shape shapes[] = {{1, 1, 1, 2}, {2, 3, 5, 7}, {1, 4, 33, 31}};
    std::uint64_t stream = 5100;
    for (const Shape& s : shapes)
        for (bool in_place : {false, true}) {
            const int planes = s.n * s.c;
            Guarded<float> x(s.numel()), centred(s.numel());
            Guarded<double> mean(static_cast<std::size_t>(planes));
            fill_uniform(x.data(), x.size(), ++stream, 10.0, 13.0);
            std::vector<float> ref(s.numel());
            std::vector<double> ref_mean(static_cast<std::size_t>(planes));
            nst::cpu::wct_center(ref.data(), ref_mean.data(), x.data(), planes, s.plane());
            float* out = in_place ? x.data() : centred.data();
            nst::kernels::wct_center(out, mean.data(), x.data(), planes, s.plane(), nullptr);
            CAPTURE(s.str());
            CAPTURE(in_place);
            CHECK(rel_max_err(out, ref.data(), ref.size()) < 1e-6);
            CHECK(rel_max_err(mean.data(), ref_mean.data(), ref_mean.size()) < 1e-12);
            CHECK(x.intact());
            CHECK(centred.intact());
            CHECK(mean.intact());
        }
}

TEST_CASE("emu: wct shift vs the CPU twin") {
    using nst::Shape;
    const Shape shapes[] = {{1, 1, 1, 1}, {2, 3, 5, 7}, {1, 16, 33, 31}};
    std::uint64_t stream = 5200;
    for (const Shape& s : shapes) {
        const int planes = s.n * s.c;
        Guarded<float> y(s.numel()), shift(static_cast<std::size_t>(planes));
        fill_normal(y.data(), y.size(), ++stream, 2.0);
        fill_normal(shift.data(), shift.size(), ++stream, 5.0);
        std::vector<float> ref(y.begin(), y.end());
        nst::cpu::wct_shift(ref.data(), shift.data(), planes, s.plane());
        nst::kernels::wct_shift(y.data(), shift.data(), planes, s.plane(), nullptr);
        CAPTURE(s.str());
        CHECK(std::equal(y.begin(), y.end(), ref.begin()));
        CHECK(y.intact());
    }
}
