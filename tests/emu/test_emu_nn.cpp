// SPDX-License-Identifier: MIT
// kernels/pool.cu and bias_relu.cu under emulation vs cpu::pool2x2_* (src/nn/pool.cpp) and
// cpu::relu_* (src/nn/relu.cpp). Selects and single float operations: bit-identical, NaN and
// -0 included.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "cuda_emu.h"
#include "emu_test_util.h"
#include "kernels/bias_relu.h"
#include "kernels/pool.h"
#include "nn/pool.h"
#include "nn/relu.h"

using nst::emu_test::Guarded;
using nst::emu_test::describe_difference;

namespace {

struct Chw {
    int c, h, w;
};

// Small integers (many ties within a window), with a NaN, -0 and +0 sprinkled in.
void fill_with_ties(float* x, std::size_t n, std::uint64_t stream) {
    for (std::size_t i = 0; i < n; ++i) x[i] = float(int(5 * nst::rng::uniform(9, stream, i)) - 2);
    for (std::size_t i = 3; i < n; i += 97) x[i] = NAN;
    for (std::size_t i = 7; i < n; i += 89) x[i] = -0.0f;
    for (std::size_t i = 11; i < n; i += 83) x[i] = 0.0f;
}

}  // namespace

TEST_CASE("emu: pooling forward and backward vs cpu pool2x2") {
    // Odd sizes (a last row / column outside every window), H or W = 1 (no window at all).
    const Chw shapes[] = {{1, 2, 2}, {3, 5, 7}, {16, 33, 32}, {4, 1, 5}, {2, 64, 63}, {5, 3, 1}};
    std::uint64_t stream = 500;
    for (nst::Pooling kind : {nst::Pooling::Max, nst::Pooling::Avg})
        for (const Chw& s : shapes) {
            INFO((kind == nst::Pooling::Max ? "max" : "avg") << "  C = " << s.c << "  H = " << s.h << "  W = " << s.w);
            const nst::Shape xs{1, s.c, s.h, s.w}, ys{1, s.c, s.h / 2, s.w / 2};
            Guarded<float> x(xs.numel()), y(ys.numel(), 0, NAN), dy(ys.numel()), dx(xs.numel(), 0, NAN);
            fill_with_ties(x.data(), x.size(), stream++);
            nst::emu_test::fill_normal(dy.data(), dy.size(), stream++);

            std::vector<float> y_cpu(ys.numel(), NAN), dx_cpu(xs.numel(), NAN);
            nst::cpu::pool2x2_forward<float>(nst::TensorView<float>(y_cpu.data(), ys),
                                             nst::ConstView<float>(x.data(), xs), kind);
            nst::cpu::pool2x2_backward<float>(nst::TensorView<float>(dx_cpu.data(), xs),
                                              nst::ConstView<float>(dy.data(), ys),
                                              nst::ConstView<float>(x.data(), xs), kind);

            nst::kernels::pool2x2_forward(y.data(), x.data(), s.c, s.h, s.w, kind, nullptr);
            nst::kernels::pool2x2_backward(dx.data(), dy.data(), x.data(), s.c, s.h, s.w, kind, nullptr);
            REQUIRE(y.intact());
            REQUIRE(dx.intact());
            CHECK(describe_difference(y.data(), y_cpu.data(), y.size()) == "bit-identical");
            CHECK(describe_difference(dx.data(), dx_cpu.data(), dx.size()) == "bit-identical");
        }
}

TEST_CASE("emu: bias and ReLU vs cpu relu_forward") {
    // bias_act is the conv epilogue: y = x + bias[c] in float, then the CPU's ReLU select.
    const Chw shapes[] = {{1, 1, 1}, {3, 5, 7}, {64, 33, 31}, {2, 300, 301}};
    std::uint64_t stream = 600;
    for (const Chw& s : shapes)
        for (bool relu : {false, true})
            for (bool in_place : {false, true}) {
                INFO("C = " << s.c << "  plane = " << s.h * s.w << "  relu = " << relu << "  in place = " << in_place);
                const nst::Shape shape{1, s.c, s.h, s.w};
                const std::size_t n = shape.numel(), plane = shape.plane();
                Guarded<float> x(n), bias(std::size_t(s.c)), y(n, 0, NAN);
                fill_with_ties(x.data(), n, stream++);
                nst::emu_test::fill_normal(x.data(), n / 2, stream++);  // half ties, half spread
                nst::emu_test::fill_uniform(bias.data(), bias.size(), stream++, -1.0, 1.0);
                if (s.c > 1) bias[1] = -0.0f;

                std::vector<float> ref(n);
                for (std::size_t i = 0; i < n; ++i) ref[i] = x[i] + bias[i / plane];
                if (relu) nst::cpu::relu_forward<float>(nst::TensorView<float>(ref.data(), shape),
                                                         nst::ConstView<float>(ref.data(), shape));
                float* out = in_place ? x.data() : y.data();
                nst::kernels::bias_act(out, x.data(), bias.data(), s.c, plane, relu, nullptr);
                REQUIRE(x.intact());
                REQUIRE(y.intact());
                CHECK(describe_difference(out, ref.data(), n) == "bit-identical");
            }
}

TEST_CASE("emu: ReLU forward and backward and mask vs cpu relu") {
    const std::size_t sizes[] = {1, 255, 256, 257, 70001};
    std::uint64_t stream = 700;
    for (std::size_t n : sizes) {
        INFO("n = " << n);
        const nst::Shape shape{1, 1, 1, int(n)};
        Guarded<float> x(n), y(n, 0, NAN), dy(n), dx(n, 0, NAN), acc(n), v(n);
        fill_with_ties(x.data(), n, stream++);
        nst::emu_test::fill_normal(dy.data(), n, stream++);

        std::vector<float> y_cpu(n), dx_cpu(n);
        nst::cpu::relu_forward<float>(nst::TensorView<float>(y_cpu.data(), shape), nst::ConstView<float>(x.data(), shape));
        nst::kernels::relu_forward(y.data(), x.data(), n, nullptr);
        CHECK(describe_difference(y.data(), y_cpu.data(), n) == "bit-identical");

        // The backward selects on x here (not a ReLU output): negative, NaN and -0 "outputs" too.
        nst::cpu::relu_backward<float>(nst::TensorView<float>(dx_cpu.data(), shape),
                                       nst::ConstView<float>(dy.data(), shape), nst::ConstView<float>(x.data(), shape));
        nst::kernels::relu_backward(dx.data(), dy.data(), x.data(), n, nullptr);
        CHECK(describe_difference(dx.data(), dx_cpu.data(), n) == "bit-identical");

        // relu_mask is the in-place backward (g = y > 0 ? g : 0).
        nst::kernels::relu_mask(dy.data(), x.data(), n, nullptr);
        CHECK(describe_difference(dy.data(), dx_cpu.data(), n) == "bit-identical");

        nst::emu_test::fill_normal(acc.data(), n, stream++);
        nst::emu_test::fill_normal(v.data(), n, stream++);
        std::vector<float> acc_ref(n);
        for (std::size_t i = 0; i < n; ++i) acc_ref[i] = acc[i] + v[i];
        nst::kernels::add_into(acc.data(), v.data(), n, nullptr);
        CHECK(describe_difference(acc.data(), acc_ref.data(), n) == "bit-identical");
        REQUIRE((y.intact() && dx.intact() && dy.intact() && acc.intact()));
    }
}
