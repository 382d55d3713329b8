// SPDX-License-Identifier: MIT
// Clips (video/clip.h): frame folders in natural order and with one size; video files written
// and read back through FFmpeg. References: the quantised synthetic frames themselves (exact for
// the lossless FFV1 containers), PSNR bounds for the lossy codecs, and the frame counts and rates
// the clips were written with.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "io/image.h"
#include "video/clip.h"
#include "video/clip_internal.h"
#include "test_errors.h"
#include "test_util.h"

using namespace nst;
using nst::test::contains;
using nst::test::error_of;

namespace {

// A moving pattern (1, 3, h, w): smooth colour waves that travel with t plus a bright square
// that moves 3 px right and 2 px down per frame, so every frame differs.
Tensor<float> moving_frame(int h, int w, int t) {
    Tensor<float> f(Shape{1, 3, h, w});
    const std::size_t plane = std::size_t(h) * w;
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            const std::size_t i = std::size_t(y) * w + x;
            const bool square = x >= 4 + 3 * t && x < 14 + 3 * t && y >= 3 + 2 * t && y < 13 + 2 * t;
            f[i] = square ? 0.95f : float(0.5 + 0.4 * std::sin(0.21 * x + 0.35 * t));
            f[plane + i] = float(0.5 + 0.4 * std::cos(0.17 * y - 0.25 * t));
            f[2 * plane + i] = square ? 0.1f : float(0.5 + 0.3 * std::sin(0.09 * (x + y) + 0.5 * t));
        }
    return f;
}

// What an 8-bit file holds for a float frame: round(clamp(v) * 255) / 255.
Tensor<float> quantised(const Tensor<float>& f) {
    Tensor<float> q(f.shape());
    for (std::size_t i = 0; i < f.numel(); ++i)
        q[i] = float(std::floor(std::min(1.f, std::max(0.f, f[i])) * 255.0 + 0.5) / 255.0);
    return q;
}

void write_clip(const std::string& path, int frames, int h, int w, int fps_num, int fps_den) {
    auto enc = open_video_encoder(path, w, h, fps_num, fps_den);
    for (int t = 0; t < frames; ++t) enc->write(moving_frame(h, w, t));
    enc->finish();
}

std::vector<Tensor<float>> read_clip(const std::string& path, ClipInfo& info) {
    std::vector<Tensor<float>> frames;
    info = decode_video(path, [&](int index, Tensor<float>&& f) {
        CHECK(index == int(frames.size()));
        frames.push_back(std::move(f));
    });
    return frames;
}

// PSNR in dB of a against the top-left (h, w) crop of b (peak 1).
double psnr(const Tensor<float>& a, const Tensor<float>& b) {
    const int h = a.shape().h, w = a.shape().w;
    double se = 0;
    for (int c = 0; c < 3; ++c)
        for (int y = 0; y < h; ++y)
            for (int x = 0; x < w; ++x) {
                const double d = double(a.view().at(0, c, y, x)) - double(b.view().at(0, c, y, x));
                se += d * d;
            }
    return 10.0 * std::log10(1.0 / std::max(se / (3.0 * h * w), 1e-20));
}

std::vector<std::string> dir_names(const std::string& dir) {
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(dir)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
}

}  // namespace

TEST_CASE("clip: is_video_path by extension in any case") {
    CHECK(is_video_path("a/b.mp4"));
    CHECK(is_video_path("B.MKV"));
    CHECK(is_video_path("x.Webm"));
    CHECK(is_video_path("x.avi"));
    CHECK(is_video_path("x.mov"));
    CHECK(is_video_path("x.m4v"));
    CHECK_FALSE(is_video_path("frames"));
    CHECK_FALSE(is_video_path("frames/"));
    CHECK_FALSE(is_video_path("a.png"));
    CHECK_FALSE(is_video_path("mp4"));
}

TEST_CASE("clip: natural order of names") {
    CHECK(natural_less("frame_2.png", "frame_10.png"));
    CHECK_FALSE(natural_less("frame_10.png", "frame_2.png"));
    CHECK(natural_less("a9", "a10"));
    CHECK(natural_less("a", "a1"));
    CHECK(natural_less("frame_01.png", "frame_1.png"));  // numerically equal: byte order decides
    CHECK(natural_less("x99999999999999999999999.png", "x100000000000000000000000.png"));  // beyond 64 bits
    CHECK(natural_less("b1", "c0"));
    CHECK_FALSE(natural_less("a5", "a5"));
}

TEST_CASE("clip: frame folder listed in natural order without hidden or foreign files") {
    const std::string dir = test::temp_dir("clip_folder_order");
    for (int k : {10, 2, 1, 33, 9}) save_image(dir + "/f_" + std::to_string(k) + ".png", moving_frame(6, 8, k));
    save_image(dir + "/.f_0.png", moving_frame(6, 8, 0));  // hidden: an atomic writer's temporary
    test::write_file(dir + "/notes.txt", "not a frame");
    std::filesystem::create_directory(dir + "/sub.png");  // a folder with an image name
    const std::vector<std::string> frames = list_frames(dir);
    const std::vector<std::string> want = {dir + "/f_1.png", dir + "/f_2.png", dir + "/f_9.png", dir + "/f_10.png",
                                           dir + "/f_33.png"};
    CHECK(frames == want);
    const ClipInfo info = probe_clip(dir);
    CHECK(info.frames == 5);
    CHECK(info.width == 8);
    CHECK(info.height == 6);
    CHECK(info.fps_num == 0);
}

TEST_CASE("clip: frame folder errors name the folder or the differing frame") {
    const std::string dir = test::temp_dir("clip_folder_errors");
    std::string msg = error_of([&] { list_frames(dir + "/missing"); });
    CHECK(contains(msg, "missing"));
    CHECK(contains(msg, "no such folder"));

    std::filesystem::create_directory(dir + "/empty");
    msg = error_of([&] { probe_clip(dir + "/empty"); });
    CHECK(contains(msg, "no frame images"));

    test::write_file(dir + "/plain", "x");
    msg = error_of([&] { list_frames(dir + "/plain"); });
    CHECK(contains(msg, "not a folder"));

    const std::string sizes = dir + "/sizes";
    std::filesystem::create_directory(sizes);
    save_image(sizes + "/f1.png", moving_frame(6, 8, 0));
    save_image(sizes + "/f2.png", moving_frame(6, 8, 1));
    save_image(sizes + "/f3.png", moving_frame(7, 8, 2));
    save_image(sizes + "/f10.png", moving_frame(5, 5, 3));  // also differs, but comes later
    msg = error_of([&] { probe_clip(sizes); });
    CHECK(contains(msg, "f3.png"));
    CHECK(contains(msg, "8x7"));
    CHECK(contains(msg, "8x6"));
    CHECK_FALSE(contains(msg, "f10.png"));

    const std::string corrupt = dir + "/corrupt";
    std::filesystem::create_directory(corrupt);
    save_image(corrupt + "/f1.png", moving_frame(6, 8, 0));
    test::write_file(corrupt + "/f2.png", "not a png at all");
    msg = error_of([&] { probe_clip(corrupt); });
    CHECK(contains(msg, "f2.png"));
}
