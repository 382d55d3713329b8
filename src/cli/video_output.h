// SPDX-License-Identifier: MIT
// The end of `nst video` (issue #14): the stylised frames written to OUT (a video file, encoded
// atomically at the input's frame rate, or a folder of frame_NNNNN.png) only once all are
// finished, and the warping error of the result measured with the input frames' flow.
#pragma once
#include <string>
#include <vector>

#include "video/clip_metrics.h"

namespace nst::cli {

// The warping error of the stylised frames (PNG files) with the input frames' flow from `store`
// (video/clip_metrics.h); frames stylised at another size are resized to the input's (h, w)
// first, so that the flow and the occlusion mask are the input clip's own.
ClipWarpError output_warping_error(FlowStore& store, const std::vector<std::string>& frames, int h, int w);

// OUT as a video (fps_num / fps_den, libx264 CRF crf for .mp4; video/clip.h) or a folder.
void write_video_output(const std::string& output, bool video, const std::vector<std::string>& frames, int fps_num,
                        int fps_den, int crf);

}  // namespace nst::cli
