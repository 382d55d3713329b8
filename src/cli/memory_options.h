// SPDX-License-Identifier: MIT
// The memory options of `nst run` (issue #11): --memory-limit, --tile-rows and --dry-run, and the
// step from a resolved stage to its memory plan (engine/memory_plan.h).
#pragma once
#include <cstddef>
#include <string>

#include <CLI/CLI.hpp>

#include "cli/problem_options.h"
#include "engine/memory_plan.h"

namespace nst::cli {

struct MemoryOptions {
    std::string memory_limit;  // SIZE; empty: what the machine or device has, minus 10 %
    int tile_rows = 0;         // explicit strips (0 = untiled) when given
    bool dry_run = false;
    CLI::Option* o_tile_rows = nullptr;

    void add_to(CLI::App& app);
};

// What the run settings add to a stage's problem for its plan.
struct StagePlanInput {
    int size = 0;
    int iterations = 0;
    OptimizerKind optimizer = OptimizerKind::Lbfgs;
    int lbfgs_history = 100;
    bool history_explicit = false;
    HistoryPrecision history_precision = HistoryPrecision::Fp32;
    int output_depth = 8;
};

class MemoryPlanner {
public:
    // Option values (usage errors, exit 2), before any file is read: a malformed SIZE, a negative
    // --tile-rows, or a limit below what this process already holds.
    explicit MemoryPlanner(const MemoryOptions& o);

    // The plan of one stage, made after its problem is resolved (weights and images loaded) and
    // before its engine exists, so that the baseline is the resident set then. `label` ("stage
    // 2/3 (1024 px): " or "") begins any error message. An explicit limit below what nst needs
    // at any size is a usage error at the first stage; later, when earlier stages have grown the
    // resident set, it is a runtime error (exit 4) like any other stage that does not fit.
    MemoryPlan plan(const ProblemOptions& po, const Problem& p, const StagePlanInput& s, int gpu,
                    const std::string& label, bool first_stage) const;

    bool dry_run() const { return m_dry_run; }

private:
    std::size_t m_limit = 0;  // explicit limit, or 0 for the default
    bool m_explicit = false;
    int m_tile_rows = 0;
    bool m_tile_rows_explicit = false;
    bool m_dry_run = false;
};

}  // namespace nst::cli
