// SPDX-License-Identifier: MIT
// `nst video`: style transfer for a clip with temporal consistency (issue #14; Ruder, Dosovitskiy
// & Brox, GCPR 2016 / IJCV 2018; docs/conventions.md "`nst video`"). This file registers the
// options, checks them, and runs the steps in order:
//   options (exit 2) -> work folder -> clip probed (exit 3) -> settings compared with the work
//   folder's -> frames (a video decoded once) -> flow for every pair the run needs (estimated or
//   read once, timed) -> frames stylised (video_optimise.h, or video_feedforward.h with --model)
//   -> OUT written -> warping error printed and summary.json written.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <set>
#include <utility>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/split.h"
#include "cli/video_feedforward.h"
#include "cli/video_optimise.h"
#include "cli/video_output.h"
#include "core/error.h"
#include "io/atomic_file.h"
#include "io/image.h"
#include "video/clip.h"

namespace nst::cli {

namespace {

namespace fs = std::filesystem;

int parse_positive(const std::string& item, const std::string& option) {
    std::size_t used = 0;
    long v = 0;
    try {
        v = std::stol(item, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (item.empty() || used != item.size() || v < 1 || v > 1000000)
        throw_usage(option + ": '" + item + "' is not a whole number >= 1");
    return int(v);
}

// --flow-relative-indices: J, positive and strictly increasing (nearest previous frame first).
std::vector<int> parse_relative_indices(const std::string& text) {
    std::vector<int> out;
    for (const std::string& item : split(text, ',')) {
        const int j = parse_positive(item, "--flow-relative-indices");
        if (!out.empty() && j <= out.back())
            throw_usage("--flow-relative-indices: '" + text + "' must increase (e.g. 1,2,4: nearest frame first)");
        out.push_back(j);
    }
    return out;
}

// --fps N or N/D.
void parse_fps(const std::string& text, int& num, int& den) {
    const std::vector<std::string> parts = split(text, '/');
    if (parts.size() > 2) throw_usage("--fps: expected N or N/D, got '" + text + "'");
    num = parse_positive(parts[0], "--fps");
    den = parts.size() == 2 ? parse_positive(parts[1], "--fps") : 1;
}

void require_finite(double v, const std::string& option) {
    if (!std::isfinite(v) || v < 0) throw_usage(option + ": expected a finite number >= 0");
}

// Option values only (exit 2); touches no file.
VideoPlan plan_options(VideoOptions& o) {
    VideoPlan plan;
    plan.feedforward = !o.model.model.empty();
    plan.video_output = is_video_path(o.output);
    std::error_code ec;
    if (!plan.video_output && fs::exists(o.output, ec) && !fs::is_directory(o.output, ec))
        throw_usage("--output '" + o.output +
                    "': a video file (.mp4 .mkv .avi .mov .webm .m4v) or a folder for the PNG frames");
    if (plan.feedforward) {
        if (o.o_passes->count() > 0)
            throw_usage("--passes: the multi-pass algorithm optimises frames; --model stylises each frame once");
        o.model.styles = o.problem.styles;
    } else if (o.problem.styles.empty()) {
        throw_usage("--style is required (or --model for a feed-forward model)");
    }
    if (o.passes < 1 || o.passes > 1000) throw_usage("--passes: must be in 1..1000");
    // The temporal loss compares network-space frames (engine/iterate_space.h).
    if (!plan.feedforward && resolve_conventions(o.problem.conventions, preset_named(o.problem.preset)).image_space)
        throw_usage("--iterate-space image (preset " + o.problem.preset +
                    ") is not available for video: the temporal loss works in the network's input space; give "
                    "--iterate-space network");
    if (o.temporal_after < 1) throw_usage("--temporal-after: must be >= 1");
    require_finite(o.blend_weight, "--blend-weight");
    require_finite(o.blend_weight_last_pass, "--blend-weight-last-pass");
    const std::string iterations = !o.num_iterations.empty() ? o.num_iterations : o.passes > 1 ? "100" : "2000,1000";
    const std::vector<std::string> counts = split(iterations, ',');
    if (counts.size() > 2 || (o.passes > 1 && counts.size() > 1))
        throw_usage("--num-iterations: expected FIRST[,LATER] (one count per pass with --passes), got '" + iterations +
                    "'");
    plan.first_iterations = parse_positive(counts[0], "--num-iterations");
    plan.later_iterations = counts.size() == 2 ? parse_positive(counts[1], "--num-iterations") : plan.first_iterations;
    // The reference code's defaults: temporal weight 1e3 single-pass, 5e2 multi-pass; the stop rule
    // 1e-4 over 50 iterations single-pass, off multi-pass (docs/research/video.md §1.5, §1.6).
    plan.temporal_weight = o.o_temporal_weight->count() ? o.temporal_weight : o.passes > 1 ? 5e2 : 1e3;
    require_finite(plan.temporal_weight, "--temporal-weight");
    plan.tol_relative = o.o_tol->count() ? o.tol_loss_relative : o.passes > 1 ? 0 : 1e-4;
    require_finite(plan.tol_relative, "--tol-loss-relative");
    if (o.tol_loss_relative_interval < 1) throw_usage("--tol-loss-relative-interval: must be >= 1");
    if (o.init_first != "random" && o.init_first != "content")
        throw_usage("--init-first: expected random or content, got '" + o.init_first + "'");
    if (o.init != "prev-warped" && o.init != "prev" && o.init != "content" && o.init != "random")
        throw_usage("--init: expected prev-warped, prev, content or random, got '" + o.init + "'");
    plan.relative_indices = parse_relative_indices(o.flow_relative_indices);
    if (plan.relative_indices.size() > std::size_t(kMaxTemporalFrames))
        throw_usage("--flow-relative-indices: at most " + std::to_string(kMaxTemporalFrames) + " previous frames");
    plan.flow_method = parse_flow_method(o.flow_method);
    if (!o.fps.empty()) parse_fps(o.fps, plan.fps_num, plan.fps_den);
    if (plan.video_output && !is_video_path(o.problem.content) && o.fps.empty())
        throw_usage("--output '" + o.output + "' is a video and --content '" + o.problem.content +
                    "' a folder of frames, which has no frame rate: give --fps");
    if (o.crf < 0 || o.crf > 51) throw_usage("--crf: must be in 0..51");
    if (o.print_iter < 0) throw_usage("--print-iter: must be >= 0");
    if (o.lbfgs_history < 1 || o.lbfgs_history > 100000) throw_usage("--lbfgs-history: must be in 1..100000");
    if (o.stop_after_frames < 0) throw_usage("--stop-after-frames: must be >= 0");
    if (!o.trace.empty()) check_writable(o.trace);
    return plan;
}

// The settings that decide the results, one "name=value" line each, for the work folder's
// settings.txt: every option but those that only say where things go or how much is printed,
// then the clip itself.
std::string settings_text(const CLI::App& sub, const VideoOptions& o, const ClipInfo& info) {
    static const std::set<std::string> ignored = {"--output", "--work-dir", "--restart", "--quiet", "--print-iter",
                                                  "--trace", "--stop-after-frames", "--fps", "--crf", "--threads",
                                                  "--help"};
    std::string text;
    for (const CLI::Option* opt : sub.get_options()) {
        const std::string name = opt->get_name();
        if (name.empty() || ignored.count(name)) continue;
        std::string value;
        if (opt->count() > 0) {
            for (const std::string& r : opt->results()) value += (value.empty() ? "" : ",") + r;
        } else {
            value = opt->get_default_str();
        }
        if (name == "--content") value = fs::absolute(o.problem.content).lexically_normal().string();
        text += name + "=" + value + "\n";
    }
    text += "clip=" + std::to_string(info.frames) + " frames of " + std::to_string(info.width) + "x" +
            std::to_string(info.height) + "\n";
    return text;
}

// Every flow pair the run reads, in a fixed order: the metric's consecutive pairs both ways, the
// warped-previous init's, and those of the temporal targets and multi-pass blends.
std::vector<std::pair<int, int>> needed_flows(const VideoOptions& o, const VideoPlan& plan, int n) {
    std::set<std::pair<int, int>> pairs;
    const auto both = [&](int a, int b) {
        if (a < 0 || b < 0 || a >= n || b >= n) return;
        pairs.insert({a, b});
        pairs.insert({b, a});
    };
    for (int t = 0; t + 1 < n; ++t) both(t, t + 1);
    if (!plan.feedforward && plan.temporal_weight > 0)
        for (int i = 0; i < n; ++i)
            for (int j : plan.relative_indices) {
                both(i, i - j);
                if (o.passes > 1) both(i, i + j);
            }
    return {pairs.begin(), pairs.end()};
}

void write_summary(const VideoWork& work, const VideoOptions& o, const VideoPlan& plan, const FlowStore& store,
                   const VideoTimings& t, const ClipWarpError& e) {
    nlohmann::ordered_json j;
    j["frames"] = plan.frames.size();
    j["width"] = plan.width;
    j["height"] = plan.height;
    j["method"] = plan.feedforward ? "feed-forward" : o.passes > 1 ? "multi-pass" : "single-pass";
    j["passes"] = plan.feedforward ? 1 : o.passes;
    j["flow"] = o.flow_dir.empty() ? std::string(flow_method_name(plan.flow_method)) : "--flow-dir " + o.flow_dir;
    j["flow_pairs_estimated"] = store.estimated_pairs();
    j["flow_seconds"] = store.estimate_seconds();
    // null where nothing was timed (no flow estimated, no such frame run; the feed-forward path
    // has no "first" frame: every frame costs the same).
    const auto mean = [](double sum, int count) { return count ? nlohmann::json(sum / count) : nlohmann::json(); };
    j["flow_seconds_per_pair"] = mean(store.estimate_seconds(), store.estimated_pairs());
    j["frames_stylised"] = t.first_count + t.later_count;
    j["seconds_per_frame_first"] = mean(t.first_seconds, t.first_count);
    j["seconds_per_frame_later"] = mean(t.later_seconds, t.later_count);
    j["warping_error_pairs"] = e.pairs.size();
    j["warping_error_lai"] = e.mean_lai;
    j["warping_error_ruder"] = e.mean_ruder;
    j["warping_error_size"] = "the input frames' (stylised frames resized to it when they differ)";
    const std::string text = j.dump(2) + "\n";
    write_file_atomic(work.summary_path(), text.data(), text.size());
}

void run_video(VideoOptions& o, const CLI::App& sub) {
    VideoPlan plan = plan_options(o);
    const VideoWork work(o.work_dir.empty() ? default_work_dir(o.output, plan.video_output) : o.work_dir);
    if (!o.flow_dir.empty() && !fs::is_directory(o.flow_dir))
        throw_input("--flow-dir '" + o.flow_dir + "': no such folder");
    if (plan.video_output) check_writable(o.output);

    // The clip: sizes checked before anything is written.
    const ClipInfo info = probe_clip(o.problem.content);
    if (info.frames < 2)
        throw_input("--content '" + o.problem.content + "' has " + std::to_string(info.frames) +
                    " frame: a video needs at least two (use nst run or nst stylize for one image)");
    if (plan.video_output && plan.fps_num == 0) {
        plan.fps_num = info.fps_num;
        plan.fps_den = info.fps_den;
    }
    // Frames are resized like nst run's content image; feed-forward models keep the frames' size
    // unless --image-size is given (as nst stylize does).
    if (plan.feedforward && o.o_image_size->count() == 0) {
        plan.height = info.height;
        plan.width = info.width;
    } else {
        target_size(info.height, info.width, o.problem.image_size, parse_size_rule(o.problem.size_rule), plan.height,
                    plan.width);
    }
    work.prepare(o.restart);
    const std::string settings = settings_text(sub, o, info);
    work.check_settings(settings);
    plan.frames = work.input_frames(o.problem.content);
    if (int(plan.frames.size()) != info.frames)
        throw_input("--content '" + o.problem.content + "': " + std::to_string(plan.frames.size()) +
                    " frames decoded, " + std::to_string(info.frames) + " probed");

    // Flow of the input frames, all pairs first: a bad --flow-dir file fails before any
    // stylisation, and the flow time is measured on its own.
    FlowStore store(plan.frames, work.flow_dir(), o.flow_dir, plan.flow_method);
    WorkingFlows flows(store, plan.height, plan.width);
    const std::vector<std::pair<int, int>> pairs = needed_flows(o, plan, int(plan.frames.size()));
    for (const auto& [a, b] : pairs) store.flow(a, b);
    if (!o.quiet && store.estimated_pairs() > 0)
        std::fprintf(stderr, "nst: flow: %d pairs by %s in %.2f s\n", store.estimated_pairs(),
                     flow_method_name(plan.flow_method), store.estimate_seconds());

    VideoTimings timings;
    const bool complete = plan.feedforward ? stylize_video(o, plan, work, timings)
                                           : optimise_video(o, plan, work, flows, timings);
    if (!complete) {
        if (!o.quiet)
            std::fprintf(stderr,
                         "nst: stopped after %d frames (--stop-after-frames); %s is not written yet: rerun to "
                         "continue\n",
                         o.stop_after_frames, o.output.c_str());
        return;
    }
    const int passes = plan.feedforward ? 1 : o.passes;
    std::vector<std::string> results;
    for (std::size_t i = 0; i < plan.frames.size(); ++i)
        results.push_back(work.results_dir(passes, passes) + "/" + frame_stem(int(i)) + ".png");
    write_video_output(o.output, plan.video_output, results, plan.fps_num, plan.fps_den, o.crf);
    const ClipWarpError e = output_warping_error(store, results, info.height, info.width);
    write_summary(work, o, plan, store, timings, e);
    std::printf("warping error %.6e (Lai et al., mean over %d pairs; %.6e over all elements), flow %s of the input "
                "frames\n",
                e.mean_lai, int(e.pairs.size()), e.mean_ruder,
                o.flow_dir.empty() ? flow_method_name(plan.flow_method) : ("from " + o.flow_dir).c_str());
    std::fflush(stdout);
    if (!o.quiet)
        std::fprintf(stderr, "nst: wrote %s (%zu frames, %dx%d); summary in %s\n", o.output.c_str(),
                     plan.frames.size(), plan.width, plan.height, work.summary_path().c_str());
}

}  // namespace

Command add_video_command(CLI::App& app) {
    auto o = std::make_shared<VideoOptions>();
    CLI::App* sub = app.add_subcommand("video", "style transfer for a video with temporal consistency (Ruder et al.)");
    o->problem.add_to(*sub);
    o->problem.color.add_run_options(*sub);
    sub->get_option("--content")->description("the clip: a video file (.mp4 .mkv .avi .mov .webm .m4v) or a folder of frames");
    sub->get_option("--style")->required(false);  // a per-style --model has its style built in
    o->o_image_size = sub->get_option("--image-size");
    sub->add_option("--output", o->output, "a video file, or a folder for frame_00001.png ...")->required();
    sub->add_option("--work-dir", o->work_dir,
                    "decoded frames, flow cache, per-frame results (default: OUTPUT.nst-work for a video, "
                    "OUTPUT/.nst-work for a folder)");
    sub->add_flag("--restart", o->restart, "discard what the work folder holds and start afresh");
    sub->add_option("--num-iterations", o->num_iterations,
                    "FIRST[,LATER] iterations per frame (default 2000,1000), or per pass with --passes (default 100)");
    sub->add_option("--init-first", o->init_first, "first frame (and pass 1): random (same --seed every frame) or content")
        ->capture_default_str();
    sub->add_option("--init", o->init, "later frames: prev-warped, prev, content or random")->capture_default_str();
    sub->add_option("--flow-relative-indices", o->flow_relative_indices,
                    "temporal targets J: frames i-j for j in J (1 = short-term; 1,2,4 long-term)")
        ->capture_default_str();
    o->o_temporal_weight = sub->add_option("--temporal-weight", o->temporal_weight,
                                           "temporal loss weight in the papers' units (default 1e3, 5e2 with --passes)");
    o->o_passes = sub->add_option("--passes", o->passes,
                                  "multi-pass algorithm: passes in alternating directions (the paper: 15)")
                      ->capture_default_str();
    sub->add_option("--temporal-after", o->temporal_after, "multi-pass: temporal loss from this pass on")
        ->capture_default_str();
    sub->add_option("--blend-weight", o->blend_weight, "multi-pass: weight b of the neighbour updated in this pass")
        ->capture_default_str();
    sub->add_option("--blend-weight-last-pass", o->blend_weight_last_pass,
                    "multi-pass: weight b' of the other neighbour (its previous-pass result)")
        ->capture_default_str();
    o->o_tol = sub->add_option("--tol-loss-relative", o->tol_loss_relative,
                               "stop a frame when the loss changes by less than this fraction over the interval "
                               "(default 1e-4, 0 with --passes; 0 = off)");
    sub->add_option("--tol-loss-relative-interval", o->tol_loss_relative_interval, "iterations between the checks")
        ->capture_default_str();
    sub->add_option("--flow", o->flow_method, "flow estimator: dis-medium, dis-fast or dis-ultrafast (OpenCV DIS)")
        ->capture_default_str();
    sub->add_option("--flow-dir", o->flow_dir,
                    "precomputed flow: forward_A_B.flo and backward_B_A.flo (1-based frames) at the input frames' size");
    sub->add_option("--fps", o->fps, "frame rate N or N/D of a video OUTPUT (default: the input video's)");
    sub->add_option("--crf", o->crf, "quality of an .mp4 OUTPUT (libx264 CRF, 0-51, lower is better)")
        ->capture_default_str();
    sub->add_option("--seed", o->seed, "seed of the random init (the same on every frame)")->capture_default_str();
    sub->add_option("--print-iter", o->print_iter, "progress line every N iterations (0 = never)")->capture_default_str();
    sub->add_option("--trace", o->trace, "JSON Lines file: one object per iteration, with its frame and pass");
    sub->add_flag("--quiet", o->quiet, "no progress output");
    sub->add_option("--lbfgs-history", o->lbfgs_history, "L-BFGS (s, y) pairs kept")->capture_default_str();
    sub->add_option("--stop-after-frames", o->stop_after_frames,
                    "stop after stylising this many more frames (OUTPUT not written; rerun to continue)")
        ->capture_default_str();
    // Feed-forward models, as nst stylize takes them.
    sub->add_option("--model", o->model.model, "feed-forward model, or AdaIN / WCT decoder(s), instead of optimising");
    sub->add_option("--encoder", o->model.encoder, "AdaIN / WCT: the encoder model");
    sub->add_option("--method", o->model.method, "adain or wct (default: from the model)");
    CLI::Option* alpha = sub->add_option("--alpha", o->model.alpha, "AdaIN / WCT: content-style trade-off in [0, 1]");
    alpha->each([o](const std::string&) { o->model.alpha_given = true; });
    sub->add_option("--style-size", o->model.style_size, "AdaIN / WCT: styles' smaller side (0 = keep)")
        ->capture_default_str();
    sub->add_flag("--preserve-color", o->model.preserve_color, "AdaIN: keep the content's colours");
    sub->add_option("--levels", o->model.levels, "WCT: levels to run, e.g. 5,4,3,2,1");
    sub->add_option("--threads", o->model.threads, "feed-forward: CPU threads (0 = all cores)")->capture_default_str();
    return [o, sub] {
        // The feed-forward backend follows --backend/--gpu (auto: CUDA when usable).
        std::string note;
        if (!o->model.model.empty()) {
            o->model.backend = backend_name(resolve_backend(parse_backend(o->problem.backend), o->problem.gpu, note));
            o->model.gpu = o->problem.gpu;
        }
        run_video(*o, *sub);
    };
}

}  // namespace nst::cli
