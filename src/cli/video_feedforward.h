// SPDX-License-Identifier: MIT
// The feed-forward path of `nst video --model` (issue #14): each frame through a per-style
// transformer, or an AdaIN/WCT decoder with --encoder and --style, with the machinery of nst
// stylize (cli/model_stylizer.h). No flow is used to stylise; the warping error is still reported.
#pragma once
#include "cli/video_optimise.h"

namespace nst::cli {

// Writes work.results_dir(1, 1)/frame_NNNNN.png for every frame not there yet. Returns false when
// --stop-after-frames stopped it early. All frames count as "later" frames in the timings.
bool stylize_video(const VideoOptions& o, const VideoPlan& plan, const VideoWork& work, VideoTimings& timings);

}  // namespace nst::cli
