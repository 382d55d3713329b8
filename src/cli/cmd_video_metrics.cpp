// SPDX-License-Identifier: MIT
// `nst video-metrics`: the temporal warping error (Lai et al. 2018, and Ruder et al.'s 1/D
// variant; video/clip_metrics.h) of a stylised clip, with optical flow of the *input* clip, as
// one JSON line on stdout. Both clips are checked (frame counts, one size throughout, equal
// sizes) before any flow is computed, so a mismatch fails in a second rather than after minutes
// of flow. Flow comes from --flow-dir when given, else is estimated; it is cached only when
// --cache-dir is given (a metric run is usually one-off, so nothing is left on disk by default).
// A video file is decoded first into a private temporary folder of PNGs (exact: decoded frames are
// 8-bit), removed when the command ends, so that both kinds of clip go through one path.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "cli/trace.h"
#include "core/error.h"
#include "io/image.h"
#include "video/clip.h"
#include "video/clip_metrics.h"
#include "video/flow.h"

namespace nst::cli {

namespace {

struct VideoMetricsOptions {
    std::string content, output;
    std::string flow = "dis-medium";
    std::string flow_dir, cache_dir;
    bool per_frame = false;
};

std::string size_str(const ClipInfo& c) { return std::to_string(c.width) + "x" + std::to_string(c.height); }

// A video file's frames as numbered PNGs in a temporary folder that lives as long as this object.
class DecodedVideo {
public:
    explicit DecodedVideo(const std::string& video) {
        static int counter = 0;
        m_dir = (std::filesystem::temp_directory_path() /
                 ("nst-video-metrics-" + std::to_string(::getpid()) + "-" + std::to_string(counter++)))
                    .string();
        std::error_code ec;
        std::filesystem::remove_all(m_dir, ec);
        if (!std::filesystem::create_directories(m_dir, ec))
            throw_runtime("cannot create the temporary folder '" + m_dir + "' for the decoded frames");
        decode_video(video, [&](int t, Tensor<float>&& frame) {
            save_image(m_dir + "/" + std::to_string(t + 1) + ".png", frame.cview());
        });
    }
    ~DecodedVideo() {
        std::error_code ec;
        std::filesystem::remove_all(m_dir, ec);
    }
    DecodedVideo(const DecodedVideo&) = delete;
    DecodedVideo& operator=(const DecodedVideo&) = delete;
    const std::string& dir() const { return m_dir; }

private:
    std::string m_dir;
};

// The frame folder of a clip: the folder itself, or a video decoded into `decoded`.
std::string frame_folder(const std::string& path, std::unique_ptr<DecodedVideo>& decoded) {
    if (!is_video_path(path)) return path;
    decoded = std::make_unique<DecodedVideo>(path);
    return decoded->dir();
}

std::string result_json(const VideoMetricsOptions& o, FlowMethod method, const FlowStore& flows,
                        const ClipWarpError& e) {
    std::string s = "{\"pairs\": " + std::to_string(e.pairs.size()) + ", \"warp_error_lai\": " +
                    json_number(e.mean_lai) + ", \"warp_error_ruder\": " + json_number(e.mean_ruder) +
                    ", \"flow\": \"" + (o.flow_dir.empty() ? flow_method_name(method) : "flow-dir") + "\"" +
                    ", \"flow_estimated_pairs\": " + std::to_string(flows.estimated_pairs()) +
                    ", \"flow_seconds\": " + json_number(flows.estimate_seconds());
    if (o.per_frame) {
        s += ", \"per_pair\": [";
        for (std::size_t t = 0; t < e.pairs.size(); ++t)
            s += std::string(t ? ", " : "") + "{\"frames\": [" + std::to_string(t + 1) + ", " + std::to_string(t + 2) +
                 "], \"lai\": " + json_number(e.pairs[t].lai) + ", \"ruder\": " + json_number(e.pairs[t].ruder) +
                 ", \"unmasked_pixels\": " + std::to_string(e.pairs[t].unmasked_pixels) + "}";
        s += "]";
    }
    return s + "}";
}

void video_metrics_command(const VideoMetricsOptions& o) {
    const FlowMethod method = parse_flow_method(o.flow);
    // Probing first: a corrupt video or a folder of mixed sizes fails before anything is decoded.
    const ClipInfo ci = probe_clip(o.content), si = probe_clip(o.output);
    if (ci.width != si.width || ci.height != si.height)
        throw_input("--output '" + o.output + "' frames are " + size_str(si) + " but --content '" + o.content +
                    "' frames are " + size_str(ci));
    std::unique_ptr<DecodedVideo> content_video, output_video;
    const std::vector<std::string> input = list_frames(frame_folder(o.content, content_video));
    const std::vector<std::string> stylised = list_frames(frame_folder(o.output, output_video));
    if (input.size() != stylised.size())
        throw_input("--output '" + o.output + "' has " + std::to_string(stylised.size()) + " frames but --content '" +
                    o.content + "' has " + std::to_string(input.size()));
    if (input.size() < 2)
        throw_input("--content '" + o.content + "' has 1 frame: the warping error needs at least 2");
    if (o.flow_dir.empty() && !have_flow_estimator())
        estimate_flow({}, {}, method);  // throws the "install libopencv-video-dev" error up front
    FlowStore flows(input, o.cache_dir, o.flow_dir, method);
    const ClipWarpError e = clip_warping_error(flows, input, stylised);
    std::printf("%s\n", result_json(o, method, flows, e).c_str());
}

}  // namespace

Command add_video_metrics_command(CLI::App& app) {
    auto o = std::make_shared<VideoMetricsOptions>();
    CLI::App* sub = app.add_subcommand(
        "video-metrics", "temporal warping error of a stylised clip, with the input clip's optical flow (JSON)");
    sub->add_option("--content", o->content, "the input clip: a video file or a folder of frames")->required();
    sub->add_option("--output", o->output, "the stylised clip to measure (video or folder): as many frames of the same size")
        ->required();
    sub->add_option("--flow", o->flow, "flow estimator: dis-medium, dis-fast or dis-ultrafast")->capture_default_str();
    sub->add_option("--flow-dir", o->flow_dir,
                    "precomputed flow of the input clip: forward_i_j.flo / backward_j_i.flo (1-based, artistic-videos "
                    "naming)");
    sub->add_option("--cache-dir", o->cache_dir, "keep estimated flow here as .flo and reuse it (default: none)");
    sub->add_flag("--per-frame", o->per_frame, "also print the error of every consecutive pair");
    return [o] { video_metrics_command(*o); };
}

}  // namespace nst::cli
