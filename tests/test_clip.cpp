// SPDX-License-Identifier: MIT
// Clips (video/clip.h), the part without FFmpeg: video paths by extension, frame folders in
// natural order and of one size (video files: test_clip_video.cpp).
#include <doctest/doctest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "core/error.h"
#include "io/image.h"
#include "video/clip.h"
#include "video/clip_internal.h"
#include "clip_fixture.h"
#include "test_errors.h"
#include "test_util.h"

using namespace nst;
using nst::test::contains;
using nst::test::error_of;
using nst::test::moving_frame;

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
