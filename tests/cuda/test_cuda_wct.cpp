// SPDX-License-Identifier: MIT
// cuda::wct_moments / cuda::wct_forward (cuda/wct_cuda.h) against the CPU path (nn/wct.h) and
// against the property WCT exists for: the coloured features have the style's covariance. The
// device covariance is an fp32 SSYRK where the CPU's is double, and the whitening amplifies its
// rounding by the content covariance's condition number, so the comparisons are 1e-4 relative
// (an indexing or transpose error gives O(1)); the moments 1e-5. alpha 0 is bit-exact. The
// CUDA backend of the pipeline (cuda/wct_stylize_cuda.h) runs two levels against the CPU one.
#include <doctest/doctest.h>

#include <vector>

#include "cuda/wct_cuda.h"
#include "cuda/wct_stylize_cuda.h"
#include "cuda_test_util.h"
#include "engine/wct_stylize.h"
#include "nn/adain_net.h"
#include "nn/net_model.h"
#include "nn/wct.h"
#include "nn/wct_net.h"
#include "gained_model.h"
#include "test_util.h"

using namespace nst;
using namespace nst::test::gpu;

namespace {

// Correlated features: channel i = z_i + 0.5 z_{i+1} + offset_i.
Tensor<float> correlated(Shape s, std::uint64_t seed) {
    const Tensor<float> z = test::random_tensor<float>(s, seed);
    Tensor<float> f(s);
    const std::size_t hw = s.plane();
    for (int n = 0; n < s.n; ++n)
        for (int c = 0; c < s.c; ++c)
            for (std::size_t p = 0; p < hw; ++p) {
                const std::size_t i = (std::size_t(n) * s.c + c) * hw + p;
                const float next = c + 1 < s.c ? z.data()[i + hw] : 0.f;
                f.data()[i] = z.data()[i] + 0.5f * next + 0.3f * float(c);
            }
    return f;
}

}  // namespace

TEST_CASE("cuda wct: moments and the transform match the CPU path") {
    const Shape cs{2, 24, 13, 11}, ss{1, 24, 12, 15};
    const Tensor<float> content = correlated(cs, 301), style = correlated(ss, 302);
    const Tensor<float> content_d = upload(content.cview()), style_d = upload(style.cview());

    const WctMoments gm = cuda::wct_moments(context(), style_d.cview(), 0);
    const WctMoments cm = cpu::wct_moments(style.cview(), 0);
    CHECK(test::rel_l2(gm.mean.data(), cm.mean.data(), cm.mean.size()) < 1e-5);
    CHECK(test::rel_l2(gm.cov.data(), cm.cov.data(), cm.cov.size()) < 1e-5);

    for (const double alpha : {1.0, 0.6}) {
        for (const bool identity : {false, true}) {
            WctOptions o;
            o.content_identity = identity;
            Tensor<float> ref(cs);
            cpu::wct_forward(ref.view(), content.cview(), {cm}, {1.0}, alpha, o);
            Tensor<float> y_d(cs, Device::Cuda);
            cuda::wct_forward(context(), y_d.view(), content_d.cview(), {gm}, {1.0}, alpha, o);
            const Tensor<float> y = download(y_d.cview());
            const double err = test::rel_l2(y.data(), ref.data(), ref.numel());
            MESSAGE("alpha " << alpha << " +I " << identity << ": device vs CPU " << err);
            CHECK(err < 1e-4);
        }
    }
    // The coloured device features carry the style's covariance.
    Tensor<float> y_d(cs, Device::Cuda);
    cuda::wct_forward(context(), y_d.view(), content_d.cview(), {gm}, {1.0}, 1.0, {});
    const Tensor<float> y = download(y_d.cview());
    for (int n = 0; n < cs.n; ++n) {
        const WctMoments ym = cpu::wct_moments(y.cview(), n);
        const double err = test::rel_l2(ym.cov.data(), cm.cov.data(), cm.cov.size());
        MESSAGE("sample " << n << ": covariance of the output vs the style's " << err);
        CHECK(err < 1e-4);
    }
    // alpha 0: the content, exactly; in place.
    Tensor<float> same = upload(content.cview());
    cuda::wct_forward(context(), same.view(), same.cview(), {gm}, {1.0}, 0.0, {});
    const Tensor<float> back = download(same.cview());
    for (std::size_t i = 0; i < back.numel(); ++i) REQUIRE(back.data()[i] == content.data()[i]);
}

TEST_CASE("cuda wct: the two-level pipeline matches the CPU backend") {
    // Random weights with a He-like gain (tests/test_wct_net.cpp explains why), levels 3 then 1.
    auto model = [](const NetDesc& desc, std::uint64_t seed) { return test::gained_model(desc, seed, 2.5f); };
    const NetModel encoder = model(adain_encoder_desc(), 7), d3 = model(wct_decoder_desc(3), 13),
                   d1 = model(wct_decoder_desc(1), 11);
    WctModels models;
    models.encoder = &encoder;
    models.encoder_name = "encoder";
    models.decoders[3] = &d3;
    models.decoders[1] = &d1;
    std::vector<Tensor<float>> styles;
    styles.push_back(test_image(Shape{1, 3, 22, 26}, 311, 1.0, 0.0));
    const Tensor<float> content = test_image(Shape{1, 3, 20, 23}, 312, 1.0, 0.0);
    WctSettings s;
    s.levels = {3, 1};
    s.alpha = 0.7;
    s.clamp = false;
    check_wct_models(models, s.levels);
    CpuWctBackend cpu_backend(models);
    cuda::CudaWctBackend gpu_backend(0, models);
    const Tensor<float> ref = wct_stylize(cpu_backend, content.cview(), styles, s);
    const Tensor<float> out = wct_stylize(gpu_backend, content.cview(), styles, s);
    REQUIRE(out.shape() == ref.shape());
    const double err = test::rel_l2(out.data(), ref.data(), ref.numel());
    MESSAGE("levels 3, 1: device vs CPU " << err);
    CHECK(err < 1e-4);
}
