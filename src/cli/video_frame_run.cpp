// SPDX-License-Identifier: MIT
#include "cli/video_frame_run.h"

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdio>

#include "cli/progress.h"
#include "core/error.h"
#include "core/interrupt.h"

namespace nst::cli {

namespace {
constexpr int kMaxBatch = 64;  // iterations queued between two reads of the loss values (as nst run)
}

int run_frame(Engine& engine, const FrameRunSettings& s, const FrameLabel& label, Trace& trace,
              double run_seconds) {
    const Shape shape = engine.current().shape();
    Progress progress({{s.iterations, double(shape.h) * shape.w, std::max(shape.h, shape.w)}}, s.print_iter,
                      s.quiet, s.temporal);
    progress.begin_stage(0, 0);
    trace.set_context("\"frame\": " + std::to_string(label.frame + 1) + ", \"pass\": " + std::to_string(label.pass) +
                      ", ");
    const bool stop_rule = s.tol_relative > 0 && s.tol_interval > 0;
    double f_before = 0;
    int done = 0;
    bool stopped = false;
    while (done < s.iterations && !stopped) {
        // Batches end where a progress line or a stop-rule check is due, so that a GPU engine
        // hands its loss values over only there.
        int next = std::min(s.iterations, done + kMaxBatch);
        if (s.print_iter > 0) next = std::min(next, (done / s.print_iter + 1) * s.print_iter);
        if (stop_rule) next = std::min(next, (done / s.tol_interval + 1) * s.tol_interval);
        if (done == 0) next = 1;  // the first value is the stop rule's first reference
        engine.advance(next - done);
        for (const IterationRecord& r : engine.take_records()) {
            done = r.iter;
            if (s.tracing) trace.add(1, r.iter, r.terms, run_seconds + r.seconds, TraceMemory{});
            progress.update(r.iter, r.terms, r.seconds);
            if (r.stopped) {
                stopped = true;
                break;
            }
            if (stop_rule && r.iter == 1) f_before = r.terms.total;
            if (stop_rule && r.iter % s.tol_interval == 0) {
                const double change = std::abs(r.terms.total - f_before) / std::max(std::abs(f_before), 1e-300);
                f_before = r.terms.total;
                if (change < s.tol_relative) {
                    stopped = true;
                    break;
                }
            }
        }
        if (const int sig = interrupt_signal())
            throw_runtime(std::string("interrupted by ") + (sig == SIGINT ? "SIGINT" : "SIGTERM") + " at iteration " +
                          std::to_string(done) + " of frame " + std::to_string(label.frame + 1) + "/" +
                          std::to_string(label.frames) +
                          (label.passes > 1 ? " in pass " + std::to_string(label.pass) + "/" +
                                                  std::to_string(label.passes)
                                            : "") +
                          "; finished frames are kept in the work folder: rerun the same command to resume");
    }
    return done;
}

}  // namespace nst::cli
