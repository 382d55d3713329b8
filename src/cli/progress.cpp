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

Progress::Progress(int total_iterations, int print_every, bool quiet)
    : m_total(total_iterations), m_every(print_every), m_quiet(quiet) {}

void Progress::update(int iter, const LossTerms& t, double seconds) {
    if (m_quiet || m_every <= 0) return;
    if (iter % m_every != 0 && iter != m_total) return;
    const double rate = seconds > 0 ? iter / seconds : 0;
    const double eta = rate > 0 ? (m_total - iter) / rate : 0;
    std::fprintf(stderr, "nst: iter %*d/%d  total %.6e  content %.4e  style %.4e  tv %.4e  %.2f it/s  ETA %s\n",
                 int(std::to_string(m_total).size()), iter, m_total, t.total, t.content_sum(), t.style_sum(), t.tv, rate,
                 format_duration(eta).c_str());
}

void Progress::finish(int iterations, double seconds) {
    if (m_quiet) return;
    std::fprintf(stderr, "nst: %d iterations in %s (%.2f it/s)\n", iterations, format_duration(seconds).c_str(),
                 seconds > 0 ? iterations / seconds : 0.0);
}

}  // namespace nst::cli
