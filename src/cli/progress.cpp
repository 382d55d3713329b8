// SPDX-License-Identifier: MIT
#include "cli/progress.h"

#include <cstdio>

namespace nst::cli {

std::string format_duration(double s) {
    char buf[32];
    if (s < 60)
        std::snprintf(buf, sizeof buf, "%.1fs", s);
    else if (s < 3600)
        std::snprintf(buf, sizeof buf, "%dm%02ds", int(s) / 60, int(s) % 60);
    else
        std::snprintf(buf, sizeof buf, "%dh%02dm", int(s) / 3600, (int(s) / 60) % 60);
    return buf;
}

Progress::Progress(std::vector<ProgressStage> stages, int print_every, bool quiet, bool temporal)
    : m_stages(std::move(stages)), m_every(print_every), m_quiet(quiet), m_temporal(temporal) {
    for (const ProgressStage& s : m_stages) m_work_total += s.iterations * s.pixels;
}

void Progress::begin_stage(int k, double run_seconds) {
    m_work_before = 0;
    for (int i = 0; i < k; ++i) m_work_before += m_stages[i].iterations * m_stages[i].pixels;
    m_stage = k;
    m_stage_start = run_seconds;
}

void Progress::update(int iter, const LossTerms& t, double stage_seconds) {
    const ProgressStage& st = m_stages[m_stage];
    if (m_quiet || m_every <= 0) return;
    if (iter % m_every != 0 && iter != st.iterations) return;
    const double rate = stage_seconds > 0 ? iter / stage_seconds : 0;
    // Work done over run time so far; with one stage this is (total - iter) / rate.
    const double work = m_work_before + iter * st.pixels;
    const double seconds = m_stage_start + stage_seconds;
    const double eta = work > 0 && seconds > 0 ? (m_work_total - work) * seconds / work : 0;
    std::string label;
    if (m_stages.size() > 1)
        label = "stage " + std::to_string(m_stage + 1) + "/" + std::to_string(m_stages.size()) + " (" +
                std::to_string(st.size) + " px) ";
    std::string temporal;
    if (m_temporal) {
        char buf[40];
        std::snprintf(buf, sizeof buf, "  temporal %.4e", t.temporal);
        temporal = buf;
    }
    std::fprintf(stderr, "nst: %siter %*d/%d  total %.6e  content %.4e  style %.4e  tv %.4e%s  %.2f it/s  ETA %s\n",
                 label.c_str(), int(std::to_string(st.iterations).size()), iter, st.iterations, t.total,
                 t.content_sum(), t.style_sum(), t.tv, temporal.c_str(), rate, format_duration(eta).c_str());
}

void Progress::finish(int iterations, double seconds) {
    if (m_quiet) return;
    std::fprintf(stderr, "nst: %d iterations in %s (%.2f it/s)\n", iterations, format_duration(seconds).c_str(),
                 seconds > 0 ? iterations / seconds : 0.0);
}

}  // namespace nst::cli
