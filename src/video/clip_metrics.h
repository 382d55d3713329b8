// SPDX-License-Identifier: MIT
// Temporal consistency of a stylised clip, measured with its *input* clip's optical flow (Lai et
// al. 2018; docs/research/video.md §5.1): for each consecutive pair t, t+1 the warping error of
// video/warp_error.h, with the forward flow t→t+1 and Lai's occlusion mask from the forward and
// backward flows of the input frames, applied to the stylised frames. Both normalisations are
// reported: Lai's (mean over the unmasked elements) and Ruder/FAV's (over all D = 3·H·W).
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "video/flow.h"
#include "video/warp_error.h"

namespace nst {

struct ClipWarpError {
    std::vector<WarpError> pairs;  // pairs[t]: stylised frames t and t+1 (0-based)
    double mean_lai = 0;           // mean of pairs[t].lai over t
    double mean_ruder = 0;         // mean of pairs[t].ruder over t
};

// flows: a FlowStore over the input clip's frames (frame_count of them, at least 2).
// stylised(t): stylised frame t, (1, 3, H, W) in [0, 1] on the input frames' grid; a frame of
// another size than the flow is an input error naming `stylised_name(t)`.
ClipWarpError clip_warping_error(FlowStore& flows, int frame_count,
                                 const std::function<Tensor<float>(int)>& stylised,
                                 const std::function<std::string(int)>& stylised_name);

// The same over image files: input_frames and stylised_frames (list_frames of the two clips) must
// be equally many (at least 2), else an input error; flows must be a store over input_frames.
ClipWarpError clip_warping_error(FlowStore& flows, const std::vector<std::string>& input_frames,
                                 const std::vector<std::string>& stylised_frames);

}  // namespace nst
