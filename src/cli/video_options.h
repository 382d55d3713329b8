// SPDX-License-Identifier: MIT
// The options of `nst video` (issue #14; docs/conventions.md "`nst video`"), registered in
// cmd_video.cpp and resolved there into a VideoPlan that the drivers (video_optimise.h,
// video_feedforward.h) follow.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "cli/model_stylizer.h"
#include "cli/problem_options.h"
#include "video/flow.h"

namespace nst::cli {

struct VideoOptions {
    ProblemOptions problem;     // --content is the clip (video file or frame folder)
    StylizeOptions model;       // --model and its companions (feed-forward path)
    std::string output;
    std::string work_dir;       // empty: default_work_dir
    bool restart = false;
    std::string num_iterations;  // FIRST[,LATER]; empty: 2000,1000 (one pass) or 100 (per pass)
    std::string init_first = "random";
    std::string init = "prev-warped";
    std::string flow_relative_indices = "1";
    double temporal_weight = 0;  // default 1e3 (one pass) or 5e2 (multi-pass) unless given
    int passes = 1;
    int temporal_after = 8;
    double blend_weight = 1.0, blend_weight_last_pass = 0.0;
    double tol_loss_relative = 0;  // default 1e-4 (one pass) or 0 (multi-pass) unless given
    int tol_loss_relative_interval = 50;
    std::string flow_method = "dis-medium";
    std::string flow_dir;       // precomputed .flo files
    std::string fps;            // N or N/D; needed for a folder clip to a video OUT
    int crf = 18;
    std::uint64_t seed = 0;
    int print_iter = 50;
    std::string trace;
    bool quiet = false;
    int lbfgs_history = 100;
    int stop_after_frames = 0;  // 0 = all
    CLI::Option* o_temporal_weight = nullptr;
    CLI::Option* o_tol = nullptr;
    CLI::Option* o_passes = nullptr;
    CLI::Option* o_image_size = nullptr;
};

// What the options resolve to.
struct VideoPlan {
    bool feedforward = false;
    bool video_output = false;        // OUT is a video file (else a folder of PNG frames)
    int first_iterations = 0, later_iterations = 0;
    double temporal_weight = 0;
    double tol_relative = 0;
    std::vector<int> relative_indices;  // J, ascending
    FlowMethod flow_method = FlowMethod::DisMedium;
    int fps_num = 0, fps_den = 1;     // from --fps; 0: the input's
    std::vector<std::string> frames;  // the input frame files
    int height = 0, width = 0;        // the size the frames are stylised at
};

}  // namespace nst::cli
