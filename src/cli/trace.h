// SPDX-License-Identifier: MIT
// --trace: JSON Lines, one object per iteration with its stage (1-based; 1 without --scales), the
// iteration within that stage, the weighted terms, the wall seconds since the run began, and the
// stage's memory plan next to the peak measured so far (so that prediction and measurement can
// be compared). Kept in memory and written atomically at the end, so a failed run leaves no
// partial trace.
#pragma once
#include <cstddef>
#include <string>
#include <utility>

#include "loss/objective.h"

namespace nst::cli {

// The memory fields of a trace line.
struct TraceMemory {
    std::size_t predicted_peak = 0;  // the stage's plan (engine/memory_plan.h), bytes
    int tile_rows = 0;               // the plan's strips (0 = untiled)
    int lbfgs_history = 0;           // the plan's history
    std::size_t peak = 0;            // Engine::peak_memory_bytes() when the line was recorded
    std::string lbfgs_history_precision;  // fp32 or bf16; empty for Adam (not written)
};

class Trace {
public:
    // JSON fields put before "stage" on the lines added from now on, e.g. "\"frame\": 3, "
    // (nst video numbers each line with its frame and pass); empty for none.
    void set_context(std::string fields) { m_context = std::move(fields); }
    // temporal: the problems have temporal targets (`nst video`), so every line also carries
    // "temporal" (the weighted temporal term) after "tv"; without, the lines keep `nst run`'s
    // keys (spec: --trace).
    explicit Trace(bool temporal = false) : m_temporal(temporal) {}
    void add(int stage, int iter, const LossTerms& terms, double seconds, const TraceMemory& memory);
    void write(const std::string& path) const;

private:
    bool m_temporal = false;
    std::string m_text;
    std::string m_context;
};

// A double as JSON: shortest round-trip form; non-finite values become null.
std::string json_number(double v);

}  // namespace nst::cli
