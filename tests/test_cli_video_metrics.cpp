// SPDX-License-Identifier: MIT
// `nst video-metrics` end to end: the JSON it prints for a clip with exact supplied flow (checked
// against the flicker formula of zoom_clip.h, and against the library on the same files), the
// flow cache with estimated flow, and the input errors of spec §7 (exit 3: frame counts, sizes,
// one frame, missing folder, wrong-size flow file; exit 2: unknown --flow).
#include <doctest/doctest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "test_util.h"
#include "video/clip.h"
#include "video/clip_metrics.h"
#include "zoom_clip.h"

using namespace nst;
using namespace nst::test;
using namespace nst::test::zoom_clip;
namespace fs = std::filesystem;

TEST_CASE("cli video-metrics: JSON with supplied flow matches the flicker formula") {
    const Clip c = make("cli_video_metrics_flow_dir", true);
    const RunResult r = run_nst({"video-metrics", "--content", c.dir + "/input", "--output", c.dir + "/stylised",
                                 "--flow-dir", c.flow_dir, "--per-frame"});
    INFO("stderr: " << r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(count_lines(r.out) == 1);
    const nlohmann::json j = nlohmann::json::parse(r.out);
    CHECK(j.at("pairs") == kFrames - 1);
    CHECK(j.at("flow") == "flow-dir");
    CHECK(j.at("flow_estimated_pairs") == 0);
    const auto& pairs = j.at("per_pair");
    REQUIRE(pairs.size() == std::size_t(kFrames - 1));
    double mean = 0;
    for (int t = 0; t + 1 < kFrames; ++t) {
        CAPTURE(t);
        CHECK(pairs[t].at("frames") == nlohmann::json::array({t + 1, t + 2}));
        CHECK(std::abs(pairs[t].at("lai").get<double>() - flicker_expected(t)) <= flicker_tolerance(t));
        CHECK(pairs[t].at("unmasked_pixels") == kH * kW);
        mean += pairs[t].at("lai").get<double>() / (kFrames - 1);
    }
    CHECK(j.at("warp_error_lai").get<double>() == doctest::Approx(mean).epsilon(1e-12));
    // The same files through the library: the command adds nothing of its own.
    FlowStore flows(c.input, "", c.flow_dir, FlowMethod::DisMedium);
    const ClipWarpError e = clip_warping_error(flows, c.input, c.stylised);
    CHECK(j.at("warp_error_lai").get<double>() == e.mean_lai);
    CHECK(j.at("warp_error_ruder").get<double>() == e.mean_ruder);

    const RunResult brief = run_nst({"video-metrics", "--content", c.dir + "/input", "--output",
                                     c.dir + "/stylised", "--flow-dir", c.flow_dir});
    REQUIRE(brief.exit_code == 0);
    CHECK_FALSE(nlohmann::json::parse(brief.out).contains("per_pair"));
}

TEST_CASE("cli video-metrics: video files give the frame folders' numbers" * doctest::skip(!have_video_codecs())) {
    // Lossless FFV1 in planar RGB holds the 8-bit PNG frames exactly, so the metric is identical.
    const Clip c = make("cli_video_metrics_video", true);
    for (const char* side : {"input", "stylised"}) {
        auto enc = open_video_encoder(c.dir + "/" + side + ".mkv", kW, kH, 25, 1);
        for (int t = 1; t <= kFrames; ++t) enc->write(load_image(c.dir + "/" + side + "/" + std::to_string(t) + ".png").cview());
        enc->finish();
    }
    const RunResult folders = run_nst({"video-metrics", "--content", c.dir + "/input", "--output",
                                       c.dir + "/stylised", "--flow-dir", c.flow_dir});
    const RunResult videos = run_nst({"video-metrics", "--content", c.dir + "/input.mkv", "--output",
                                      c.dir + "/stylised.mkv", "--flow-dir", c.flow_dir});
    INFO("stderr: " << videos.err);
    REQUIRE(folders.exit_code == 0);
    REQUIRE(videos.exit_code == 0);
    CHECK(videos.out == folders.out);
    // The decoded frames went to a temporary folder that is gone again.
    for (const auto& entry : fs::directory_iterator(fs::temp_directory_path()))
        CHECK(entry.path().filename().string().rfind("nst-video-metrics-", 0) == std::string::npos);
}

TEST_CASE("cli video-metrics: estimated flow is cached only with --cache-dir" * doctest::skip(!have_flow_estimator())) {
    const Clip c = make("cli_video_metrics_cache", true);
    const std::string cache = c.dir + "/cache";
    const std::vector<std::string> args = {"video-metrics", "--content", c.dir + "/input", "--output",
                                           c.dir + "/stylised", "--flow", "dis-fast", "--cache-dir", cache};
    const RunResult first = run_nst(args);
    INFO("stderr: " << first.err);
    REQUIRE(first.exit_code == 0);
    const nlohmann::json j1 = nlohmann::json::parse(first.out);
    CHECK(j1.at("flow") == "dis-fast");
    CHECK(j1.at("flow_estimated_pairs") == 2 * (kFrames - 1));
    CHECK(file_exists(cache + "/forward_1_2.flo"));
    CHECK(file_exists(cache + "/backward_4_3.flo"));
    // DIS on the zoom is close to the exact flow, so the flicker dominates as with exact flow.
    CHECK(j1.at("warp_error_lai").get<double>() == doctest::Approx(0.0083).epsilon(0.1));
    const RunResult second = run_nst(args);
    REQUIRE(second.exit_code == 0);
    const nlohmann::json j2 = nlohmann::json::parse(second.out);
    CHECK(j2.at("flow_estimated_pairs") == 0);
    CHECK(j2.at("warp_error_lai") == j1.at("warp_error_lai"));
}

TEST_CASE("cli video-metrics: bad clips and flow are one-line errors") {
    const Clip c = make("cli_video_metrics_errors", false);
    const std::string in = c.dir + "/input", sty = c.dir + "/stylised", sentinel = c.dir + "/sentinel.txt";
    auto args = [&](const std::string& content, const std::string& output, std::vector<std::string> more = {}) {
        std::vector<std::string> a = {"video-metrics", "--content", content, "--output", output};
        a.insert(a.end(), more.begin(), more.end());
        return a;
    };
    // Differing counts.
    fs::copy(sty, c.dir + "/fewer", fs::copy_options::recursive);
    fs::remove(c.dir + "/fewer/4.png");
    check_cli_error(args(in, c.dir + "/fewer", {"--flow-dir", c.flow_dir}), 3, sentinel, "3 frames");
    // Differing sizes.
    fs::create_directories(c.dir + "/small");
    for (int t = 1; t <= kFrames; ++t)
        save_image(c.dir + "/small/" + std::to_string(t) + ".png", filled(Shape{1, 3, kH, kW - 4}, 0.5f).cview());
    check_cli_error(args(in, c.dir + "/small", {"--flow-dir", c.flow_dir}), 3, sentinel,
                    std::to_string(kW - 4) + "x" + std::to_string(kH));
    // One frame.
    fs::create_directories(c.dir + "/one");
    fs::copy(c.input[0], c.dir + "/one/1.png");
    check_cli_error(args(c.dir + "/one", c.dir + "/one", {"--flow-dir", c.flow_dir}), 3, sentinel, "1 frame");
    // Missing folder.
    check_cli_error(args(c.dir + "/nowhere", sty, {"--flow-dir", c.flow_dir}), 3, sentinel, c.dir + "/nowhere");
    // A flow file of the wrong size.
    save_flo(c.flow_dir + "/forward_2_3.flo", filled(Shape{1, 2, kH / 2, kW / 2}, 0.0f).cview());
    check_cli_error(args(in, sty, {"--flow-dir", c.flow_dir}), 3, sentinel, c.flow_dir + "/forward_2_3.flo");
    // A missing flow file.
    fs::remove(c.flow_dir + "/backward_4_3.flo");
    write_exact_flow(c.dir + "/flow2");
    fs::remove(c.dir + "/flow2/backward_4_3.flo");
    check_cli_error(args(in, sty, {"--flow-dir", c.dir + "/flow2"}), 3, sentinel, "backward_4_3.flo");
    // Unknown method: a usage error before anything is read.
    check_cli_error(args(in, sty, {"--flow", "farneback"}), 2, sentinel, "farneback");
}
