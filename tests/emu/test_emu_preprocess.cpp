// SPDX-License-Identifier: MIT
// kernels/preprocess.cu under emulation vs Preprocessor (src/io/preprocess.cpp) and the image
// encoders' clamp (src/io/quantize.cpp): the same double formulas rounded once, bit-identical.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "cuda_emu.h"
#include "emu_test_util.h"
#include "io/image_encode.h"
#include "io/preprocess.h"
#include "kernels/preprocess.h"

using nst::emu_test::Guarded;
using nst::emu_test::describe_difference;

TEST_CASE("emu: preprocessing both kinds vs Preprocessor") {
    struct Case {
        int n, h, w;
    };
    const Case cases[] = {{1, 1, 1}, {1, 17, 19}, {2, 3, 300}, {1, 181, 183}};
    std::uint64_t stream = 800;
    for (nst::PreprocessKind kind : {nst::PreprocessKind::Caffe, nst::PreprocessKind::Torchvision})
        for (float caffe_scale : {255.f, 256.f})
            for (const Case& k : cases)
                for (bool alias : {false, true}) {
                    if (kind == nst::PreprocessKind::Torchvision && caffe_scale != 255.f) continue;
                    INFO((kind == nst::PreprocessKind::Caffe ? "caffe" : "torchvision")
                         << "  scale = " << caffe_scale << "  n = " << k.n << "  " << k.h << " x " << k.w
                         << "  in place = " << alias);
                    nst::Preprocessor pre;
                    pre.kind = kind;
                    pre.caffe_scale = caffe_scale;
                    const nst::Shape shape{k.n, 3, k.h, k.w};
                    const std::size_t e = shape.numel(), plane = shape.plane();
                    Guarded<float> rgb(e), x(e, 0, NAN), back(e, 0, NAN);
                    nst::emu_test::fill_uniform(rgb.data(), e, stream++, 0.0, 1.0);

                    std::vector<float> x_cpu(e), back_cpu(e);
                    pre.to_network(nst::TensorView<float>(x_cpu.data(), shape), nst::ConstView<float>(rgb.data(), shape));
                    if (alias) {
                        std::copy(rgb.begin(), rgb.end(), x.begin());
                        nst::kernels::to_network(x.data(), x.data(), k.n, plane, pre, nullptr);
                    } else {
                        nst::kernels::to_network(x.data(), rgb.data(), k.n, plane, pre, nullptr);
                    }
                    REQUIRE(x.intact());
                    CHECK(describe_difference(x.data(), x_cpu.data(), e) == "bit-identical");

                    pre.to_image(nst::TensorView<float>(back_cpu.data(), shape), nst::ConstView<float>(x_cpu.data(), shape));
                    float* out = alias ? x.data() : back.data();
                    nst::kernels::to_image(out, x.data(), k.n, plane, pre, false, nullptr);
                    REQUIRE(back.intact());
                    CHECK(describe_difference(out, back_cpu.data(), e) == "bit-identical");
                }
}

TEST_CASE("emu: to_image clamp vs the encoders' clamp") {
    // Network-space values far outside the image range, and NaN: the clamped output must be the
    // unclamped CPU value where it lies in (0, 1), 0 for NaN and v <= 0, 1 for v >= 1; and the
    // encoder (which clamps itself) must quantise the clamped and the unclamped image alike.
    for (nst::PreprocessKind kind : {nst::PreprocessKind::Caffe, nst::PreprocessKind::Torchvision}) {
        INFO((kind == nst::PreprocessKind::Caffe ? "caffe" : "torchvision"));
        nst::Preprocessor pre;
        pre.kind = kind;
        const int h = 21, w = 23;
        const nst::Shape shape{1, 3, h, w};
        const std::size_t e = shape.numel();
        const double spread = kind == nst::PreprocessKind::Caffe ? 300.0 : 5.0;
        Guarded<float> x(e), rgb(e, 0, NAN);
        nst::emu_test::fill_uniform(x.data(), e, 900 + int(kind), -spread, spread);
        for (std::size_t i = 0; i < e; i += 37) x[i] = NAN;

        std::vector<float> rgb_cpu(e);
        pre.to_image(nst::TensorView<float>(rgb_cpu.data(), shape), nst::ConstView<float>(x.data(), shape));
        nst::kernels::to_image(rgb.data(), x.data(), 1, std::size_t(h) * w, pre, true, nullptr);
        REQUIRE(rgb.intact());
        int inside = 0;
        for (std::size_t i = 0; i < e; ++i) {
            const float v = rgb_cpu[i];
            const float expect = !(v > 0.f) ? 0.f : v >= 1.f ? 1.f : v;
            inside += v > 0.f && v < 1.f;
            REQUIRE(nst::emu_test::first_bit_difference(&rgb[i], &expect, 1) == -1);
        }
        CHECK(inside > 0);
        CHECK(nst::quantize_rgb16(nst::ConstView<float>(rgb.data(), shape)) ==
              nst::quantize_rgb16(nst::ConstView<float>(rgb_cpu.data(), shape)));
    }
}
