// SPDX-License-Identifier: MIT
// The end of `nst video` (issue #14): the stylised frames written to OUT (a video file, encoded
// atomically at the input's frame rate, or a folder of frame_NNNNN.png) only once all are
// finished, and the warping error of the result measured with the input frames' flow.
#pragma once
#include <string>
#include <vector>

#include "engine/video_flows.h"

namespace nst::cli {

// The mean over consecutive pairs of video/warp_error.h's warping error of the stylised frames
// (PNG files, [0, 1]), with the flow of the input frames at the stylised size: Lai et al.'s
// (normalised by the unmasked elements) and Ruder et al.'s (by all C·H·W).
struct ClipWarpError {
    double lai = 0, ruder = 0;
    int pairs = 0;
};
ClipWarpError output_warping_error(const std::vector<std::string>& frames, WorkingFlows& flows);

// OUT as a video (fps_num / fps_den, libx264 CRF crf for .mp4; video/clip.h) or a folder.
void write_video_output(const std::string& output, bool video, const std::vector<std::string>& frames, int fps_num,
                        int fps_den, int crf);

}  // namespace nst::cli
