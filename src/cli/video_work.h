// SPDX-License-Identifier: MIT
// The work folder of `nst video` (issue #14): everything a run needs to resume and nothing else.
//   frames/            a video input decoded once (frame_00001.png ...; frames/complete when done)
//   flow/              the flow cache (video/flow.h: forward_a_b.flo, backward_b_a.flo)
//   results/           per-frame results: frame_00001.png and frame_00001.npy (the raw network-
//                      space x, so that later frames and resumed runs use the exact floats);
//                      multi-pass: results/pass_01/ ... (a pass's folder is removed once the next
//                      pass is complete); feed-forward: PNG only
//   settings.txt       the settings that decide the results; a rerun must match them
//   summary.json       timings and the warping error of the finished clip
// A frame's result is complete when its last file (the .npy; the PNG for feed-forward) exists:
// each is written atomically, so an interrupted run never leaves a partial one.
#pragma once
#include <string>
#include <vector>

#include "video/clip.h"

namespace nst::cli {

class VideoWork {
public:
    explicit VideoWork(std::string root) : m_root(std::move(root)) {}
    const std::string& root() const { return m_root; }
    std::string frames_dir() const { return m_root + "/frames"; }
    std::string flow_dir() const { return m_root + "/flow"; }
    std::string settings_path() const { return m_root + "/settings.txt"; }
    std::string summary_path() const { return m_root + "/summary.json"; }
    // results/ for a single pass (passes == 1), results/pass_PP/ for pass `pass` (1-based) of several.
    std::string results_dir(int pass, int passes) const;

    // Creates the folder (input error naming it when impossible). restart: first removes what an
    // earlier run left in it (only the entries listed above, never anything else).
    void prepare(bool restart) const;

    // Compares `settings` with settings.txt: absent -> written; equal -> nothing; different while
    // no frame result exists -> the folder is cleared as by --restart and the new settings written
    // (nothing to keep); different otherwise -> usage error (exit 2) naming the first differing
    // setting and --restart.
    void check_settings(const std::string& settings) const;

    // The clip's frame files: a folder's own files, or a video decoded into frames/ (once; kept
    // for reruns). Input errors (exit 3) from video/clip.h.
    std::vector<std::string> input_frames(const std::string& clip) const;

private:
    std::string m_root;
};

// "frame_00001" for 0-based frame 0: the reference code's 1-based numbering.
std::string frame_stem(int frame);

// The default work folder: OUT.nst-work beside a video OUT, OUT/.nst-work inside a folder OUT.
std::string default_work_dir(const std::string& output, bool video_output);

}  // namespace nst::cli
