// SPDX-License-Identifier: MIT
// clip_warping_error (video/clip_metrics.h) on a clip with exact motion and exact flow supplied
// as .flo files: a slow zoom-out of the analytic scene, so that every warped sample stays inside
// the frame and Lai's mask keeps every pixel. The stylised clip is the clip itself (error ~0) or
// the clip with a known brightness offset per frame (error (β_t - β_{t+1})² per pair). The
// tolerances follow from the bilinear error bound of flow_fixture.h and 8-bit PNG rounding.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>

#include "flow_motion.h"
#include "test_errors.h"
#include "video/clip_metrics.h"
#include "video/flo.h"

using namespace nst;
using namespace nst::test;
namespace fs = std::filesystem;

namespace {

constexpr int kH = 40, kW = 48, kFrames = 4;
constexpr double kScale = 0.975;  // per-frame zoom about the centre (< 1: content moves inwards)
constexpr double kCx = (kW - 1) / 2.0, kCy = (kH - 1) / 2.0;
const double kOffsets[kFrames] = {0.05, -0.03, 0.08, 0.0};  // the flicker β_t

// Frame t shows the scene at c + (x - c) / s^t; so frame t's pixel p is at c + s (p - c) in
// frame t+1 (forward flow (s - 1)(p - c)) and the backward flow is (1/s - 1)(p - c).
Tensor<float> frame(int t, double offset) {
    const double k = std::pow(kScale, -t);
    Tensor<float> f = render(kH, kW, [&](double x, double y, double& sx, double& sy) {
        sx = kCx + (x - kCx) * k, sy = kCy + (y - kCy) * k;
    });
    for (auto& v : f) v += float(offset);
    return f;
}

std::vector<std::string> write_frames(const std::string& dir, bool flicker) {
    fs::create_directories(dir);
    std::vector<std::string> files;
    for (int t = 0; t < kFrames; ++t) {
        files.push_back(dir + "/" + std::to_string(t + 1) + ".png");
        save_image(files.back(), frame(t, flicker ? kOffsets[t] : 0.0).cview());
    }
    return files;
}

void write_exact_flow(const std::string& dir) {
    fs::create_directories(dir);
    const Tensor<float> fwd = flow_field(kH, kW, [](double x, double y, double& u, double& v) {
        u = (kScale - 1) * (x - kCx), v = (kScale - 1) * (y - kCy);
    });
    const Tensor<float> bwd = flow_field(kH, kW, [](double x, double y, double& u, double& v) {
        u = (1 / kScale - 1) * (x - kCx), v = (1 / kScale - 1) * (y - kCy);
    });
    for (int t = 1; t < kFrames; ++t) {
        save_flo(dir + "/" + flow_file_name(t, t + 1), fwd.cview());
        save_flo(dir + "/" + flow_file_name(t + 1, t), bwd.cview());
    }
}

// Largest |V_t(p) - warp(V_{t+1})(p)| for the unflickered clip: bilinear interpolation of frame
// t+1 (its second derivatives are the scene's times s^-2(t+1)) plus the rounding of 8-bit PNGs
// (at most 0.5/255 in each frame, and interpolation does not enlarge it).
double residual_bound() { return bilinear_bound() * std::pow(kScale, -2.0 * (kFrames - 1)) + 1.0 / 255; }

struct Clip {
    std::string dir;
    std::vector<std::string> input, stylised;
    std::string flow_dir;
};

Clip make_clip(const std::string& name, bool flicker) {
    Clip c;
    c.dir = temp_dir(name);
    c.input = write_frames(c.dir + "/input", false);
    c.stylised = write_frames(c.dir + "/stylised", flicker);
    c.flow_dir = c.dir + "/flow";
    write_exact_flow(c.flow_dir);
    return c;
}

}  // namespace

TEST_CASE("clip metrics: a clip against itself with its exact flow has ~0 warping error") {
    const Clip c = make_clip("clip_metrics_same", false);
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
    const Clip c = make_clip("clip_metrics_flicker", true);
    FlowStore flows(c.input, "", c.flow_dir, FlowMethod::DisMedium);
    const ClipWarpError e = clip_warping_error(flows, c.input, c.stylised);
    REQUIRE(e.pairs.size() == std::size_t(kFrames - 1));
    // V_t - warp(V_{t+1}) = r + β_t - β_{t+1} with |r| <= b (the bilinear weights sum to 1, so the
    // offset passes through the warp); its mean square is (Δβ)² within 2|Δβ| b + b².
    const double b = residual_bound();
    double mean = 0;
    for (int t = 0; t + 1 < kFrames; ++t) {
        const double d = kOffsets[t] - kOffsets[t + 1];
        CAPTURE(t);
        CHECK(std::abs(e.pairs[t].lai - d * d) <= 2 * std::abs(d) * b + b * b);
        CHECK(e.pairs[t].ruder == doctest::Approx(e.pairs[t].lai).epsilon(1e-12));
        mean += d * d / (kFrames - 1);
    }
    MESSAGE("flicker: mean Lai error " << e.mean_lai << ", expected " << mean);
    CHECK(e.mean_lai == doctest::Approx((e.pairs[0].lai + e.pairs[1].lai + e.pairs[2].lai) / 3).epsilon(1e-12));
    CHECK(std::abs(e.mean_lai - mean) <= 2 * 0.11 * b + b * b);
}

TEST_CASE("clip metrics: a masked region changes only Lai's normalisation") {
    // Backward flow 1→0 broken inside a block: Lai's round trip fails there, M = 0, so the Lai
    // mean is over fewer pixels while Ruder's keeps dividing by 3·H·W.
    const Clip c = make_clip("clip_metrics_masked", true);
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
    const Clip c = make_clip("clip_metrics_errors", false);
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
