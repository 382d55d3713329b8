// SPDX-License-Identifier: MIT
// kernels/channel_map.cu under emulation vs the perceptual loss's input map as
// PerceptualLoss::to_net and its gradient step compute it (src/loss/perceptual.cpp): fp32
// a * x + b and a * g, each operation rounded, so bit-identical.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "cuda_emu.h"
#include "emu_test_util.h"
#include "kernels/channel_map.h"

using nst::emu_test::Guarded;
using nst::emu_test::describe_difference;

TEST_CASE("emu: channel affine map and its transpose vs the loss's input map") {
    // The caffe-bgr io into torchvision input (a flip with scales and offsets), and an identity
    // permutation with scales (rgb255 into torchvision input).
    const nst::kernels::ChannelAffine maps[] = {
        {{2, 1, 0}, {1.f / (255.f * 0.229f), 1.f / (255.f * 0.224f), 1.f / (255.f * 0.225f)}, {0.3f, -0.2f, 0.1f}},
        {{0, 1, 2}, {0.0171f, 0.0175f, 0.0174f}, {-2.1179f, -2.0357f, -1.8044f}},
    };
    struct Case {
        int n, h, w;
    };
    const Case cases[] = {{1, 1, 1}, {2, 5, 7}, {3, 17, 33}};
    std::uint64_t stream = 1900;
    for (const auto& map : maps)
        for (const Case& k : cases) {
            INFO("src = " << map.src[0] << map.src[1] << map.src[2] << "  n = " << k.n << "  " << k.h << " x " << k.w);
            const std::size_t plane = std::size_t(k.h) * k.w, e = std::size_t(k.n) * 3 * plane;
            Guarded<float> in(e), out(e, 0, NAN), g(e), din(e, 0, NAN);
            nst::emu_test::fill_uniform(in.data(), e, stream++, -130.0, 255.0);
            nst::emu_test::fill_uniform(g.data(), e, stream++, -1.0, 1.0);
            // The CPU loss's loops (to_net per sample, then the gradient step after backward).
            std::vector<float> out_cpu(e), din_cpu(e);
            for (int b = 0; b < k.n; ++b) {
                const std::size_t o = std::size_t(b) * 3 * plane;
                for (int c = 0; c < 3; ++c)
                    for (std::size_t i = 0; i < plane; ++i) {
                        out_cpu[o + c * plane + i] = map.a[c] * in[o + map.src[c] * plane + i] + map.b[c];
                        din_cpu[o + map.src[c] * plane + i] = map.a[c] * g[o + c * plane + i];
                    }
            }
            nst::kernels::channel_affine(out.data(), in.data(), k.n, plane, map, nullptr);
            nst::kernels::channel_affine_backward(din.data(), g.data(), k.n, plane, map, nullptr);
            REQUIRE(out.intact());
            REQUIRE(din.intact());
            CHECK(describe_difference(out.data(), out_cpu.data(), e) == "bit-identical");
            CHECK(describe_difference(din.data(), din_cpu.data(), e) == "bit-identical");
        }
}
