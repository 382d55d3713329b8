// SPDX-License-Identifier: MIT
// A short clip with exact motion for the warping-error tests: a slow zoom-out of the analytic
// scene of flow_fixture.h, so that every warped sample stays inside the frame and Lai's mask keeps
// every pixel, with its exact forward and backward flow as artistic-videos-named .flo files, and
// optionally a known brightness offset β_t per frame (flicker).
#pragma once
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "flow_fixture.h"
#include "io/image.h"
#include "test_util.h"
#include "video/flo.h"
#include "video/flow.h"

namespace nst::test::zoom_clip {

constexpr int kH = 40, kW = 48, kFrames = 4;
constexpr double kScale = 0.975;  // per-frame zoom about the centre (< 1: content moves inwards)
constexpr double kCx = (kW - 1) / 2.0, kCy = (kH - 1) / 2.0;
inline const double kOffsets[kFrames] = {0.05, -0.03, 0.08, 0.0};  // the flicker β_t

// Frame t shows the scene at c + (x - c) / s^t; so frame t's pixel p is at c + s (p - c) in
// frame t+1 (forward flow (s - 1)(p - c)) and the backward flow is (1/s - 1)(p - c).
inline Tensor<float> frame(int t, double offset) {
    const double k = std::pow(kScale, -t);
    Tensor<float> f = render(kH, kW, [&](double x, double y, double& sx, double& sy) {
        sx = kCx + (x - kCx) * k, sy = kCy + (y - kCy) * k;
    });
    for (auto& v : f) v += float(offset);
    return f;
}

// Writes the frames as DIR/1.png ... and returns their paths.
inline std::vector<std::string> write_frames(const std::string& dir, bool flicker) {
    std::filesystem::create_directories(dir);
    std::vector<std::string> files;
    for (int t = 0; t < kFrames; ++t) {
        files.push_back(dir + "/" + std::to_string(t + 1) + ".png");
        save_image(files.back(), frame(t, flicker ? kOffsets[t] : 0.0).cview());
    }
    return files;
}

inline void write_exact_flow(const std::string& dir) {
    std::filesystem::create_directories(dir);
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
inline double residual_bound() { return bilinear_bound() * std::pow(kScale, -2.0 * (kFrames - 1)) + 1.0 / 255; }

// The stylised frames as the flickered clip: V_t - warp(V_{t+1}) = r + β_t - β_{t+1}, |r| <= b
// (the bilinear weights sum to 1, so the offset passes through the warp); the pair's Lai error,
// the mean square, is (Δβ)² within 2|Δβ| b + b².
inline double flicker_expected(int t) {
    const double d = kOffsets[t] - kOffsets[t + 1];
    return d * d;
}
inline double flicker_tolerance(int t) {
    const double b = residual_bound();
    return 2 * std::abs(kOffsets[t] - kOffsets[t + 1]) * b + b * b;
}

struct Clip {
    std::string dir;
    std::vector<std::string> input, stylised;
    std::string flow_dir;
};

// DIR/input (the clip), DIR/stylised (the clip, flickered when asked), DIR/flow (exact .flo).
inline Clip make(const std::string& name, bool flicker) {
    Clip c;
    c.dir = temp_dir(name);
    c.input = write_frames(c.dir + "/input", false);
    c.stylised = write_frames(c.dir + "/stylised", flicker);
    c.flow_dir = c.dir + "/flow";
    write_exact_flow(c.flow_dir);
    return c;
}

}  // namespace nst::test::zoom_clip
