// SPDX-License-Identifier: MIT
// The optimisation path of `nst video` (Ruder, Dosovitskiy & Brox; docs/research/video.md §1):
// per-frame optimisation in one forward pass (the default), or the multi-pass algorithm with
// alternating directions and blended initialisations (--passes N). Every frame's result goes to
// the work folder (video_work.h) as it is finished, and finished frames are skipped on a rerun,
// which then continues bit for bit as if it had not been interrupted (results are reread from the
// .npy files, the exact floats).
#pragma once
#include "cli/video_frame_run.h"
#include "cli/video_options.h"
#include "cli/video_work.h"
#include "engine/video_flows.h"

namespace nst::cli {

// Wall seconds spent stylising, split as the summary reports them.
struct VideoTimings {
    double first_seconds = 0;  // the first frame (of the first pass): more iterations, random init
    int first_count = 0;
    double later_seconds = 0;
    int later_count = 0;
};

// Returns true when every frame (of every pass) is finished, false when --stop-after-frames
// stopped the run early. The final results are in work.results_dir(passes, passes).
bool optimise_video(const VideoOptions& o, const VideoPlan& plan, const VideoWork& work, WorkingFlows& flows,
                    VideoTimings& timings);

// The per-frame progress line: "nst: frame 3/8  pass 1/1  2.41 s/frame  ETA 12.1s". The ETA uses
// the mean time of the later frames (the first one runs more iterations), or before any was
// measured, the first frame's time scaled by the iteration counts.
class FrameClock {
public:
    FrameClock(int total_first, int total_later, double later_per_first, bool quiet)
        : m_left_first(total_first), m_left_later(total_later), m_ratio(later_per_first), m_quiet(quiet) {}
    // A frame finished in `seconds` (is_first: the first frame).
    void finished(const FrameLabel& label, bool is_first, double seconds);
    // A frame that a rerun found complete.
    void skipped(bool is_first) { (is_first ? m_left_first : m_left_later)--; }
    const VideoTimings& timings() const { return m_t; }

private:
    int m_left_first, m_left_later;
    double m_ratio;
    bool m_quiet;
    VideoTimings m_t;
};

}  // namespace nst::cli
