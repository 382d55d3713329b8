// SPDX-License-Identifier: MIT
// One frame's optimisation in `nst video`: drives an Engine for a number of iterations with the
// progress lines, the trace (each line numbered with its frame and pass), the reference code's
// optional stop rule, and the interrupt check of nst run.
#pragma once
#include <string>

#include "cli/trace.h"
#include "core/tensor.h"
#include "engine/engine.h"

namespace nst::cli {

struct FrameRunSettings {
    int iterations = 0;
    // artistic-videos' stop rule: every `tol_interval` iterations the loss is compared with its
    // value `tol_interval` iterations earlier (at the first check: the first iteration's), and the
    // frame ends when |f - f_before| / |f_before| < tol_relative. 0 = off.
    double tol_relative = 0;
    int tol_interval = 50;
    int print_iter = 50;
    bool quiet = false;
    bool tracing = false;
    bool temporal = false;  // the run has temporal targets: progress lines show the term
};

struct FrameLabel {
    int frame = 0, frames = 1;  // 0-based frame, clip length
    int pass = 1, passes = 1;   // 1-based
};

// Runs the engine; returns the iterations done (fewer when L-BFGS or the stop rule stopped it).
// On SIGINT/SIGTERM: runtime error (exit 4) saying where it stopped and that finished frames are
// kept in the work folder.
int run_frame(Engine& engine, const FrameRunSettings& s, const FrameLabel& label, Trace& trace,
              double run_seconds);

}  // namespace nst::cli
