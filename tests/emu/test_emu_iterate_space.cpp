// SPDX-License-Identifier: MIT
// The iterate space's device steps (engine/iterate_space.h; --iterate-space image,
// --clamp-iterate) under emulation vs the CPU engine's twins:
//  - kernels/box.cu clamp_to_box vs nst::clamp_to_box (loss/channel_map.h): per-channel bounds, NaN kept, values
//    inside untouched: bit-identical;
//  - kernels/channel_map.cu with kernels::to_affine(map) vs apply_channel_map and its transpose
//    (the functions the CPU engine calls, not the loops written in test_emu_channel_map.cpp), for
//    the maps cli::iterate_space makes from both preprocessings: bit-identical.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "cuda_emu.h"
#include "emu_test_util.h"
#include "io/preprocess.h"
#include "kernels/box.h"
#include "kernels/channel_map.h"
#include "loss/channel_map.h"

using nst::emu_test::Guarded;
using nst::emu_test::describe_difference;

TEST_CASE("emu: clamp_to_box kernel vs the CPU engine's clamp_to_box") {
    struct Case {
        int n, h, w;
    };
    const Case cases[] = {{1, 1, 1}, {1, 5, 7}, {2, 17, 33}, {1, 64, 65}};
    nst::ChannelBox box;
    const float lo[3] = {-2.1179f, 0.f, -1.8044f}, hi[3] = {2.2489f, 1.f, 2.64f};
    for (int c = 0; c < 3; ++c) box.lo[c] = lo[c], box.hi[c] = hi[c];
    std::uint64_t stream = 2400;
    for (const Case& k : cases) {
        INFO("n = " << k.n << "  " << k.h << " x " << k.w);
        const nst::Shape shape{k.n, 3, k.h, k.w};
        const std::size_t e = shape.numel();
        Guarded<float> x(e);
        nst::emu_test::fill_uniform(x.data(), e, stream++, -4.0, 8.0);
        if (e > 5) x[5] = NAN;
        std::vector<float> cpu = x.to_vector();
        nst::clamp_to_box(box, nst::TensorView<float>(cpu.data(), shape));
        nst::kernels::clamp_to_box(x.data(), k.n, shape.plane(), box, nullptr);
        REQUIRE(x.intact());
        CHECK(describe_difference(x.data(), cpu.data(), e) == "bit-identical");
        if (e > 5) CHECK(std::isnan(x[5]));
    }
}

TEST_CASE("emu: channel affine kernels vs apply_channel_map for the iterate-space maps") {
    for (nst::PreprocessKind kind : {nst::PreprocessKind::Torchvision, nst::PreprocessKind::Caffe}) {
        nst::Preprocessor pre;
        pre.kind = kind;
        nst::ChannelMap map;
        pre.affine(map.src, map.a, map.b);
        const nst::kernels::ChannelAffine affine = nst::kernels::to_affine(map);
        std::uint64_t stream = 2500;
        for (int n : {1, 2}) {
            INFO((kind == nst::PreprocessKind::Caffe ? "caffe" : "torchvision") << "  n = " << n);
            const nst::Shape shape{n, 3, 19, 23};
            const std::size_t e = shape.numel();
            Guarded<float> in(e), out(e, 0, NAN), g(e), din(e, 0, NAN);
            nst::emu_test::fill_uniform(in.data(), e, stream++, -0.2, 1.4);
            nst::emu_test::fill_uniform(g.data(), e, stream++, -1.0, 2.0);
            std::vector<float> out_cpu(e), din_cpu(e);
            nst::apply_channel_map(map, nst::TensorView<float>(out_cpu.data(), shape),
                                   nst::ConstView<float>(in.data(), shape));
            nst::apply_channel_map_transpose(map, nst::TensorView<float>(din_cpu.data(), shape),
                                             nst::ConstView<float>(g.data(), shape));
            nst::kernels::channel_affine(out.data(), in.data(), n, shape.plane(), affine, nullptr);
            nst::kernels::channel_affine_backward(din.data(), g.data(), n, shape.plane(), affine, nullptr);
            REQUIRE(out.intact());
            REQUIRE(din.intact());
            CHECK(describe_difference(out.data(), out_cpu.data(), e) == "bit-identical");
            CHECK(describe_difference(din.data(), din_cpu.data(), e) == "bit-identical");
        }
    }
}
