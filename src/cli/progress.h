// SPDX-License-Identifier: MIT
// Progress lines on stderr: stage, iteration, weighted terms, iterations/second and the ETA of
// the whole run.
#pragma once
#include <chrono>
#include <string>
#include <vector>

#include "loss/objective.h"

namespace nst::cli {

std::string format_duration(double seconds);  // "1m05s", "42.0s", "1h02m"

struct ProgressStage {
    int iterations = 0;
    double pixels = 0;  // proportional to the content's H*W: an iteration's cost grows about linearly with it
    int size = 0;       // the stage's size under --size-rule, for the label
};

class Progress {
public:
    // One stage: lines as before coarse-to-fine ("nst: iter 50/1000 ..."). Several: each line
    // begins "nst: stage k/K (S px)" and the ETA covers the stages still to come, estimated from
    // the seconds per (iteration x pixel) measured so far.
    // temporal: the problems have temporal targets (`nst video`); the lines then show the
    // temporal term after tv.
    Progress(std::vector<ProgressStage> stages, int print_every, bool quiet, bool temporal = false);
    // Stage k (0-based) begins; `run_seconds`: wall seconds of the run so far.
    void begin_stage(int k, double run_seconds);
    // Called after iteration `iter` (1-based within the stage) with its terms and the wall seconds
    // since the stage began.
    void update(int iter, const LossTerms& terms, double stage_seconds);
    void finish(int iterations, double seconds);

private:
    std::vector<ProgressStage> m_stages;
    int m_every;
    bool m_quiet;
    bool m_temporal;
    int m_stage = 0;
    double m_stage_start = 0;  // run seconds at the start of m_stage
    double m_work_before = 0;  // iterations x pixels of the stages before m_stage
    double m_work_total = 0;
};

}  // namespace nst::cli
