// SPDX-License-Identifier: MIT
#include "cli/trace.h"

#include <cmath>
#include <cstdio>

#include "io/atomic_file.h"

namespace nst::cli {

std::string json_number(double v) {
    if (!std::isfinite(v)) return "null";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    return buf;
}

void Trace::add(int stage, int iter, const LossTerms& t, double seconds, const TraceMemory& m) {
    m_text += "{" + m_context + "\"stage\": " + std::to_string(stage) + ", \"iter\": " + std::to_string(iter) + ", \"total\": " + json_number(t.total) +
              ", \"content\": " + json_number(t.content_sum()) + ", \"style\": " + json_number(t.style_sum()) +
              ", \"tv\": " + json_number(t.tv) +
              (m_temporal ? ", \"temporal\": " + json_number(t.temporal) : std::string()) + ", \"seconds\": " + json_number(seconds) +
              ", \"tile_rows\": " + std::to_string(m.tile_rows) + ", \"lbfgs_history\": " + std::to_string(m.lbfgs_history) +
              (m.lbfgs_history_precision.empty() ? std::string()
                                                 : ", \"lbfgs_history_precision\": \"" + m.lbfgs_history_precision + "\"") +
              ", \"predicted_peak_bytes\": " + std::to_string(m.predicted_peak) +
              ", \"peak_bytes\": " + std::to_string(m.peak) + "}\n";
}

void Trace::write(const std::string& path) const { write_file_atomic(path, m_text.data(), m_text.size()); }

}  // namespace nst::cli
