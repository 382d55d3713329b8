// SPDX-License-Identifier: MIT
// Video files (video/clip.h through FFmpeg): written from synthetic frames and read back.
// References: the 8-bit-quantised frames themselves (exact for the lossless FFV1 containers), a
// PSNR bound for the lossy codecs, and the frame count, size and rate each clip was written
// with. Bad input: one-line input errors, nothing written on failure.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "clip_fixture.h"
#include "core/error.h"
#include "video/clip.h"
#include "test_errors.h"
#include "test_util.h"

using namespace nst;
using nst::test::contains;
using nst::test::error_of;
using nst::test::moving_frame;
using nst::test::quantised;

namespace {

void write_clip(const std::string& path, int frames, int h, int w, int fps_num, int fps_den, int crf = 18) {
    auto enc = open_video_encoder(path, w, h, fps_num, fps_den, crf);
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

// PSNR in dB (peak 1) of a decoded frame against the top-left crop of the same size of `ref`,
// and the largest per-channel mean difference (a wrong YUV matrix or range shows up as a bias).
struct Fidelity {
    double psnr = 0, max_bias = 0;
};
Fidelity fidelity(const Tensor<float>& decoded, const Tensor<float>& ref) {
    const int h = decoded.shape().h, w = decoded.shape().w;
    double se = 0;
    Fidelity f;
    for (int c = 0; c < 3; ++c) {
        double sum = 0;
        for (int y = 0; y < h; ++y)
            for (int x = 0; x < w; ++x) {
                const double d = double(decoded.view().at(0, c, y, x)) - double(ref.view().at(0, c, y, x));
                se += d * d;
                sum += d;
            }
        f.max_bias = std::max(f.max_bias, std::abs(sum / (double(h) * w)));
    }
    f.psnr = 10.0 * std::log10(1.0 / std::max(se / (3.0 * h * w), 1e-20));
    return f;
}

std::vector<std::string> dir_names(const std::string& dir) {
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(dir)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
}

// Lossless containers: every decoded frame equals the quantised original exactly.
void check_lossless_round_trip(const std::string& path, int fps_num, int fps_den) {
    const int frames = 6, h = 48, w = 64;
    write_clip(path, frames, h, w, fps_num, fps_den);
    const ClipInfo probed = probe_clip(path);
    CHECK(probed.frames == frames);
    CHECK(probed.width == w);
    CHECK(probed.height == h);
    CHECK(probed.fps_num == fps_num);
    CHECK(probed.fps_den == fps_den);
    ClipInfo info;
    const std::vector<Tensor<float>> got = read_clip(path, info);
    CHECK(info.frames == frames);
    CHECK(info.fps_num == fps_num);
    CHECK(info.fps_den == fps_den);
    REQUIRE(int(got.size()) == frames);
    for (int t = 0; t < frames; ++t) {
        REQUIRE(got[t].shape() == (Shape{1, 3, h, w}));
        const Tensor<float> want = quantised(moving_frame(h, w, t));
        int differing = 0;
        for (std::size_t i = 0; i < want.numel(); ++i) differing += got[t][i] != want[i];
        CHECK_MESSAGE(differing == 0, "frame " << t);
    }
}

// Lossy codecs: count, size and rate kept, every frame above `min_psnr` dB against the original
// (cropped to the decoded size) with no colour bias, and frames in the right order (each matches
// its own original better than its neighbour's). The moving square's saturated edges are what
// 4:2:0 chroma loses most on: measured 30.4-32.8 dB (H.264 CRF 18) and 31.7-34.2 dB (VP9) on
// these 6 frames, against 38.7 / 45.9 dB for the smooth waves alone.
void check_lossy_round_trip(const std::string& path, int h, int w, int want_h, int want_w, double min_psnr) {
    const int frames = 6;
    write_clip(path, frames, h, w, 30000, 1001);
    ClipInfo info;
    const std::vector<Tensor<float>> got = read_clip(path, info);
    CHECK(info.frames == frames);
    CHECK(info.width == want_w);
    CHECK(info.height == want_h);
    CHECK(info.fps_num == 30000);
    CHECK(info.fps_den == 1001);
    REQUIRE(int(got.size()) == frames);
    double worst = 1e9;
    for (int t = 0; t < frames; ++t) {
        REQUIRE(got[t].shape() == (Shape{1, 3, want_h, want_w}));
        const Fidelity f = fidelity(got[t], moving_frame(h, w, t));
        worst = std::min(worst, f.psnr);
        CHECK_MESSAGE(f.psnr > min_psnr, "frame " << t << " PSNR " << f.psnr);
        CHECK_MESSAGE(f.max_bias < 0.005, "frame " << t << " colour bias " << f.max_bias);
        if (t > 0) CHECK(f.psnr > fidelity(got[t], moving_frame(h, w, t - 1)).psnr + 3.0);
    }
    MESSAGE(path << ": worst PSNR " << worst << " dB");
}

}  // namespace

TEST_CASE("clip video: .mkv (FFV1 RGB) round trip is exact and keeps count and rate" *
          doctest::skip(!have_video_codecs())) {
    const std::string dir = test::temp_dir("clip_mkv");
    check_lossless_round_trip(dir + "/a.mkv", 30000, 1001);
    check_lossless_round_trip(dir + "/b.mkv", 25, 1);
    CHECK(dir_names(dir) == std::vector<std::string>{"a.mkv", "b.mkv"});  // no temporaries left
}

TEST_CASE("clip video: .avi (FFV1 RGB) round trip is exact" *
          doctest::skip(!have_video_codecs())) {
    const std::string dir = test::temp_dir("clip_avi");
    check_lossless_round_trip(dir + "/a.avi", 24, 1);
}

TEST_CASE("clip video: .mp4 .mov .m4v (H.264) round trips keep count and rate within a PSNR bound" *
          doctest::skip(!have_video_codecs())) {
    const std::string dir = test::temp_dir("clip_mp4");
    check_lossy_round_trip(dir + "/a.mp4", 48, 64, 48, 64, 28.0);
    check_lossy_round_trip(dir + "/a.MOV", 48, 64, 48, 64, 28.0);
    check_lossy_round_trip(dir + "/a.m4v", 48, 64, 48, 64, 28.0);
}

TEST_CASE("clip video: odd sizes are cropped to even for H.264 and kept for VP9" *
          doctest::skip(!have_video_codecs())) {
    const std::string dir = test::temp_dir("clip_odd");
    check_lossy_round_trip(dir + "/odd.mp4", 47, 65, 46, 64, 28.0);
    check_lossy_round_trip(dir + "/odd.webm", 47, 65, 47, 65, 28.0);
    const std::string msg = error_of([&] { open_video_encoder(dir + "/tiny.mp4", 1, 9, 25, 1); }, ExitCode::Usage);
    CHECK(contains(msg, "too small"));
    CHECK_FALSE(test::file_exists(dir + "/tiny.mp4"));
}

TEST_CASE("clip video: an unfinished encoder leaves no file and an existing target untouched" *
          doctest::skip(!have_video_codecs())) {
    const std::string dir = test::temp_dir("clip_atomic");
    {
        auto enc = open_video_encoder(dir + "/new.mp4", 64, 48, 25, 1);
        enc->write(moving_frame(48, 64, 0));
        enc->write(moving_frame(48, 64, 1));
    }
    CHECK(dir_names(dir).empty());

    test::write_file(dir + "/old.mkv", "previous output");
    {
        auto enc = open_video_encoder(dir + "/old.mkv", 64, 48, 25, 1);
        enc->write(moving_frame(48, 64, 0));
    }
    CHECK(dir_names(dir) == std::vector<std::string>{"old.mkv"});
    CHECK(test::read_file(dir + "/old.mkv") == "previous output");

    // Finished: the old file is replaced by the complete new one.
    write_clip(dir + "/old.mkv", 2, 48, 64, 25, 1);
    CHECK(probe_clip(dir + "/old.mkv").frames == 2);
    CHECK(dir_names(dir) == std::vector<std::string>{"old.mkv"});
}

// Video cases need FFmpeg; a build without it reports them as skipped and runs this one instead.
TEST_CASE("clip video: without FFmpeg video paths are input errors naming the packages" *
          doctest::skip(have_video_codecs())) {
    const std::string dir = test::temp_dir("clip_no_ffmpeg");
    test::write_file(dir + "/a.mp4", "some bytes");
    std::string msg = error_of([&] { probe_clip(dir + "/a.mp4"); });
    CHECK(contains(msg, "libavformat-dev"));
    msg = error_of([&] { decode_video(dir + "/a.mp4", [](int, Tensor<float>&&) {}); });
    CHECK(contains(msg, "libswscale-dev"));
    msg = error_of([&] { open_video_encoder(dir + "/b.mkv", 64, 48, 25, 1); });
    CHECK(contains(msg, "libavcodec-dev"));
    CHECK_FALSE(test::file_exists(dir + "/b.mkv"));
}

TEST_CASE("clip video: bad encoder arguments are usage errors before any file is made") {
    const std::string dir = test::temp_dir("clip_enc_args");
    std::string msg = error_of([&] { open_video_encoder(dir + "/a.gif", 64, 48, 25, 1); }, ExitCode::Usage);
    CHECK(contains(msg, ".gif"));
    CHECK(contains(msg, ".mp4"));
    msg = error_of([&] { open_video_encoder(dir + "/a.mp4", 64, 48, 0, 1); }, ExitCode::Usage);
    CHECK(contains(msg, "frame rate"));
    msg = error_of([&] { open_video_encoder(dir + "/a.mp4", 0, 48, 25, 1); }, ExitCode::Usage);
    msg = error_of([&] { open_video_encoder(dir + "/a.mp4", 64, 48, 25, 1, 60); }, ExitCode::Usage);
    CHECK(contains(msg, "CRF"));
    msg = error_of([&] { open_video_encoder(dir + "/missing/a.mkv", 64, 48, 25, 1); }, ExitCode::Input);
    CHECK(contains(msg, "missing"));
    CHECK(dir_names(dir).empty());
}

TEST_CASE("clip video: bad input files are one-line input errors" *
          doctest::skip(!have_video_codecs())) {
    const std::string dir = test::temp_dir("clip_bad_input");
    auto no_frames_sink = [](int, Tensor<float>&&) { FAIL("no frame expected"); };

    std::string msg = error_of([&] { probe_clip(dir + "/missing.mp4"); });
    CHECK(contains(msg, "missing.mp4"));
    msg = error_of([&] { decode_video(dir + "/missing.mp4", no_frames_sink); });
    CHECK(contains(msg, "missing.mp4"));

    std::vector<unsigned char> noise(4096);
    std::uint64_t s = 12345;
    for (auto& b : noise) b = (s = s * 6364136223846793005ULL + 1442695040888963407ULL) >> 56;
    test::write_file(dir + "/noise.mp4", std::string(noise.begin(), noise.end()));
    msg = error_of([&] { probe_clip(dir + "/noise.mp4"); });
    CHECK(contains(msg, "noise.mp4"));

    test::write_file(dir + "/text.mkv", "this is a text file, not a Matroska video\n");
    msg = error_of([&] { decode_video(dir + "/text.mkv", no_frames_sink); });
    CHECK(contains(msg, "text.mkv"));

    test::write_file(dir + "/empty.webm", "");
    msg = error_of([&] { probe_clip(dir + "/empty.webm"); });
    CHECK(contains(msg, "empty"));

    std::filesystem::create_directory(dir + "/folder.mp4");
    msg = error_of([&] { probe_clip(dir + "/folder.mp4"); });
    CHECK(contains(msg, "folder"));

    // A finished encoder that got no frames writes a valid container without pictures.
    open_video_encoder(dir + "/zero.mkv", 64, 48, 25, 1)->finish();
    open_video_encoder(dir + "/zero.mp4", 64, 48, 25, 1)->finish();
    // (Matroska: a header and no cluster, which the demuxer cannot open; MP4: the muxer drops a
    // track without samples, so the file has no video stream.)
    msg = error_of([&] { probe_clip(dir + "/zero.mkv"); });
    CHECK(contains(msg, "ends before its header and first frame"));
    msg = error_of([&] { decode_video(dir + "/zero.mkv", no_frames_sink); });
    CHECK(contains(msg, "ends before its header and first frame"));
    msg = error_of([&] { probe_clip(dir + "/zero.mp4"); });
    CHECK(contains(msg, "no video stream"));
}

TEST_CASE("clip video: a file cut short is an input error" *
          doctest::skip(!have_video_codecs())) {
    const std::string dir = test::temp_dir("clip_truncated");
    for (const char* name : {"/cut.mkv", "/cut.mp4", "/cut.webm"}) {
        write_clip(dir + name, 6, 48, 64, 25, 1);
        const std::string bytes = test::read_file(dir + name);
        // Cut in half, and with the last tenth missing (Matroska/WebM: only the last frame lost,
        // which the demuxer does not notice by itself; the recorded duration does).
        for (const std::size_t keep : {bytes.size() / 2, bytes.size() * 9 / 10}) {
            test::write_file(dir + name, bytes.substr(0, keep));
            int decoded = 0;
            const std::string msg =
                error_of([&] { decode_video(dir + name, [&](int, Tensor<float>&&) { ++decoded; }); });
            CHECK_MESSAGE(contains(msg, name + 1), msg);
            CHECK(decoded < 6);
            error_of([&] { probe_clip(dir + name); });
        }
    }
}

TEST_CASE("clip video: damaged frame data is an input error rather than concealed" *
          doctest::skip(!have_video_codecs())) {
    const std::string dir = test::temp_dir("clip_damaged");
    write_clip(dir + "/d.mkv", 6, 48, 64, 25, 1);
    std::string bytes = test::read_file(dir + "/d.mkv");
    // The middle of the file is frame data (FFV1 slices, each with a CRC).
    for (std::size_t i = bytes.size() / 2; i < bytes.size() / 2 + 16; ++i) bytes[i] = char(~bytes[i]);
    test::write_file(dir + "/d.mkv", bytes);
    const std::string msg = error_of([&] { decode_video(dir + "/d.mkv", [](int, Tensor<float>&&) {}); });
    CHECK_MESSAGE(contains(msg, "d.mkv"), msg);
    CHECK_MESSAGE(contains(msg, "frame"), msg);
}
