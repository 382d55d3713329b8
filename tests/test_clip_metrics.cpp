// SPDX-License-Identifier: MIT
// clip_warping_error (video/clip_metrics.h) on a clip with exact motion and exact flow supplied
// as .flo files (zoom_clip.h). The stylised clip is the clip itself (error ~0) or the clip with a
// known brightness offset per frame (error (β_t - β_{t+1})² per pair). The tolerances follow from
// the bilinear error bound of flow_fixture.h and 8-bit PNG rounding.
#include <doctest/doctest.h>

#include <cmath>

#include "test_errors.h"
#include "video/clip_metrics.h"
#include "zoom_clip.h"

using namespace nst;
using namespace nst::test;
using namespace nst::test::zoom_clip;

TEST_CASE("clip metrics: a clip against itself with its exact flow has ~0 warping error") {
    const Clip c = make("clip_metrics_same", false);
    FlowStore flows(c.input, "", c.flow_dir, FlowMethod::DisMedium);
    const ClipWarpError e = clip_warping_error(flows, c.input, c.stylised);
    REQUIRE(e.pairs.size() == std::size_t(kFrames - 1));
    const double b = residual_bound();
    MESSAGE("same clip: mean Lai error " << e.mean_lai << " (bound " << b * b << ")");
    for (const WarpError& p : e.pairs) {
        CHECK(p.unmasked_pixels == std::size_t(kH * kW));  // exact flow: Lai's mask keeps everything
        CHECK(p.lai <= b * b);
        CHECK(p.ruder == doctest::Approx(p.lai).epsilon(1e-12));
    }
    CHECK(flows.estimated_pairs() == 0);
}

TEST_CASE("clip metrics: per-frame brightness flicker gives (beta_t - beta_t+1)^2 per pair") {
    const Clip c = make("clip_metrics_flicker", true);
    FlowStore flows(c.input, "", c.flow_dir, FlowMethod::DisMedium);
    const ClipWarpError e = clip_warping_error(flows, c.input, c.stylised);
    REQUIRE(e.pairs.size() == std::size_t(kFrames - 1));
    double mean = 0, tol = 0;
    for (int t = 0; t + 1 < kFrames; ++t) {
        CAPTURE(t);
        CHECK(std::abs(e.pairs[t].lai - flicker_expected(t)) <= flicker_tolerance(t));
        CHECK(e.pairs[t].ruder == doctest::Approx(e.pairs[t].lai).epsilon(1e-12));
        mean += flicker_expected(t) / (kFrames - 1);
        tol += flicker_tolerance(t) / (kFrames - 1);
    }
    MESSAGE("flicker: mean Lai error " << e.mean_lai << ", expected " << mean);
    CHECK(e.mean_lai == doctest::Approx((e.pairs[0].lai + e.pairs[1].lai + e.pairs[2].lai) / 3).epsilon(1e-12));
    CHECK(std::abs(e.mean_lai - mean) <= tol);
}

TEST_CASE("clip metrics: a masked region changes only Lai's normalisation") {
    // Backward flow 2→1 broken inside a block: Lai's round trip fails there, M = 0, so the Lai
    // mean is over fewer pixels while Ruder's keeps dividing by 3·H·W.
    const Clip c = make("clip_metrics_masked", true);
    Tensor<float> bwd = load_flo(c.flow_dir + "/backward_2_1.flo");
    for (int y = 10; y < 20; ++y)
        for (int x = 12; x < 30; ++x) bwd.view().at(0, 0, y, x) += 5;
    save_flo(c.flow_dir + "/backward_2_1.flo", bwd.cview());
    FlowStore flows(c.input, "", c.flow_dir, FlowMethod::DisMedium);
    const ClipWarpError e = clip_warping_error(flows, c.input, c.stylised);
    const WarpError& p = e.pairs[0];
    CHECK(p.unmasked_pixels < std::size_t(kH * kW - 100));
    CHECK(p.ruder == doctest::Approx(p.lai * double(p.unmasked_pixels) / (kH * kW)).epsilon(1e-9));
}

TEST_CASE("clip metrics: clips that do not match are input errors") {
    const Clip c = make("clip_metrics_errors", false);
    FlowStore flows(c.input, "", c.flow_dir, FlowMethod::DisMedium);
    std::vector<std::string> fewer(c.stylised.begin(), c.stylised.end() - 1);
    CHECK(contains(error_of([&] { clip_warping_error(flows, c.input, fewer); }), "3 frames"));
    std::vector<std::string> resized = c.stylised;
    resized[2] = c.dir + "/small.png";
    save_image(resized[2], filled(Shape{1, 3, kH, kW - 2}, 0.5f).cview());
    const std::string msg = error_of([&] { clip_warping_error(flows, c.input, resized); });
    CHECK(contains(msg, resized[2]));
    CHECK(contains(msg, std::to_string(kW - 2) + "x" + std::to_string(kH)));
    const std::vector<std::string> one(c.input.begin(), c.input.begin() + 1);
    FlowStore single(one, "", c.flow_dir, FlowMethod::DisMedium);
    CHECK(contains(error_of([&] { clip_warping_error(single, one, one); }), "at least 2 frames"));
}
