// SPDX-License-Identifier: MIT
// The clips and arguments of the `nst video` CLI tests: a translating crop of a photograph from
// ../shared/images (a camera pan with known motion), written as a folder of PNG frames, and the
// quick settings (random VGG weights, cpu, small size, few iterations).
#pragma once
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "io/image.h"
#include "io/npy.h"
#include "test_util.h"

namespace nst::test {

// `frames` crops of h x w from tubingen.jpg (resized to 200 px wide), the window moving dx, dy
// pixels per frame, written as DIR/frame_1.png ...; returns DIR.
inline std::string translating_clip(const std::string& dir, int frames, int h, int w, int dx, int dy) {
    const Tensor<float> photo0 = load_image(shared_image("tubingen.jpg"));
    const int pw = 200, ph = std::max(h + dy * frames + 1, int(double(photo0.shape().h) * pw / photo0.shape().w));
    const Tensor<float> photo = resize_image(photo0.cview(), ph, pw);
    std::filesystem::create_directories(dir);
    for (int t = 0; t < frames; ++t) {
        Tensor<float> crop(Shape{1, 3, h, w});
        for (int c = 0; c < 3; ++c)
            for (int y = 0; y < h; ++y)
                for (int x = 0; x < w; ++x) crop.view().at(0, c, y, x) = photo.view().at(0, c, y + dy * t, x + dx * t);
        save_image(dir + "/frame_" + std::to_string(t + 1) + ".png", crop.cview());
    }
    return dir;
}

// nst video over `clip` to `output` with random weights on the cpu, nothing printed but the
// metric line, then `extra` (later options win).
inline std::vector<std::string> video_args(const std::string& clip, const std::string& style,
                                           const std::string& output, const std::vector<std::string>& extra) {
    std::vector<std::string> a = {"video",     "--content", clip,    "--style",     style, "--output", output,
                                  "--weights", "random:3",  "--backend", "cpu", "--quiet"};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
}

// The warping error (Lai et al.) from nst video's result line on stdout; -1 when missing.
inline double printed_warping_error(const std::string& out) {
    const std::size_t p = out.find("warping error ");
    if (p == std::string::npos) return -1;
    return std::stod(out.substr(p + 14));
}

}  // namespace nst::test
