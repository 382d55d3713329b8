// SPDX-License-Identifier: MIT
// Dense optical flow between two frames: OpenCV's DIS (Kroeger et al., ECCV 2016) from Debian's
// libopencv-video-dev, on the frames' grey levels; and the flow store `nst video` reads through,
// which computes each pair once and caches it as .flo files, or reads a researcher's precomputed
// flow (--flow-dir). Conventions of flow fields: video/flo.h and video/warp.h.
#pragma once
#include <string>
#include <vector>

#include "core/tensor.h"

namespace nst {

enum class FlowMethod { DisUltrafast, DisFast, DisMedium };
FlowMethod parse_flow_method(const std::string& name);  // dis-ultrafast, dis-fast, dis-medium; usage error
const char* flow_method_name(FlowMethod m);

// Flow from frame a to frame b on a's grid, (1, 2, H, W): a's pixel (x, y) is found at
// (x + u, y + v) in b. a and b: (1, 3, H, W) RGB in [0, 1] of the same size (internal error
// otherwise: callers check sizes). Runtime error (exit 4) in a build without OpenCV's video
// module, naming the Debian package.
Tensor<float> estimate_flow(ConstView<float> a, ConstView<float> b, FlowMethod method);

// Whether this build has an estimator (OpenCV's video module found at configure time).
bool have_flow_estimator();

// File name of the flow from 1-based frame a to frame b, as the artistic-videos scripts name
// DeepFlow's output (so a folder of their .flo files can be passed as --flow-dir):
// "forward_a_b.flo" when a < b, "backward_a_b.flo" when a > b.
std::string flow_file_name(int a, int b);

// Flow between frames of one clip, by 0-based frame index. With a precomputed folder, flow is
// read from it (flow_file_name with 1-based numbers) and a missing file is an input error;
// otherwise it is read from the cache folder when present there and of the frames' size, else
// estimated from the frames and written to the cache (atomically) first. A cached or supplied
// file of another size than the frames: input error (exit 3) naming the file and both sizes.
class FlowStore {
public:
    // frames: the clip's frame files (list_frames); cache_dir is created when missing.
    FlowStore(std::vector<std::string> frames, std::string cache_dir, std::string precomputed_dir,
              FlowMethod method);
    Tensor<float> flow(int a, int b);  // (1, 2, H, W) from frame a to frame b
    double estimate_seconds() const;   // wall time spent estimating (not reading) so far
    int estimated_pairs() const;       // flows estimated (not read) so far
private:
    std::vector<std::string> m_frames;
    std::string m_cache_dir, m_precomputed_dir;
    FlowMethod m_method;
    double m_estimate_seconds = 0;
    int m_estimated = 0;
};

}  // namespace nst
