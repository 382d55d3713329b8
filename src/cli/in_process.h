// SPDX-License-Identifier: MIT
// nst's commands run inside a process that outlives them (issue #15): `nst batch` runs one
// manifest line after another, the Python module one call after another. Both go through the
// very code of the CLI — the same option parsing, checks, pipeline and output — so that a job
// gives the bit-identical result of the same `nst run` / `nst stylize` command line.
//
// What differs from a one-shot command is set through RunHooks, installed for the current thread
// by ScopedRunHooks around run_in_process(): an iteration callback that may stop the run, the
// result handed back in memory, and weights/models kept loaded between jobs (WeightCache).
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "loss/objective.h"

namespace nst::cli {

// One iteration as the hooks see it (stages are coarse-to-fine --scales stages, 0-based).
struct IterationEvent {
    int stage = 0;
    int iteration = 0;  // 1-based within the stage
    LossTerms terms;
    double seconds = 0;  // wall seconds since the command began
};

// Weights and models loaded once per process, keyed by their source (file path + size + mtime,
// or random[:SEED]); jobs take copies, so a job cannot change what the next one sees.
class WeightCache;

struct RunHooks {
    // Called after every iteration record of `nst run`; returning false stops the run there
    // (the result so far is the result: written to --output and passed to on_result).
    std::function<bool(const IterationEvent&)> on_iteration;
    // The final image as written to --output: (1, 3, H, W) RGB in [0, 1], after colour controls.
    // With on_result set, --output may be empty (nothing is written).
    std::function<void(const Tensor<float>& rgb)> on_result;
    WeightCache* cache = nullptr;  // null: load per command, as the CLI does
    // `nst eval` (the Python module's evaluate): with on_evaluate set, the gradient is always
    // computed and handed over with the terms instead of printing JSON; --grad-out still writes.
    // The hook may move from `grad` (the Python module returns it without a copy).
    std::function<void(const LossSpec& spec, const LossTerms& terms, Tensor<float>& grad)> on_evaluate;
    // `nst features` (the Python module's features/gram): with on_feature set, each layer's
    // activation (1, C, H, W) and, with --gram, its Gram matrix (1, 1, C, C; else an empty view)
    // are handed over instead of written; --out-dir is then not used.
    std::function<void(const std::string& layer, ConstView<float> activation, ConstView<float> gram)> on_feature;
    // Filled by the command: the last iteration's terms and the iterations run (all stages).
    LossTerms final_terms;
    int iterations_done = 0;
};

// The hooks of the command running on this thread (null outside ScopedRunHooks).
RunHooks* active_run_hooks();

class ScopedRunHooks {
public:
    explicit ScopedRunHooks(RunHooks& hooks);
    ~ScopedRunHooks();
    ScopedRunHooks(const ScopedRunHooks&) = delete;
    ScopedRunHooks& operator=(const ScopedRunHooks&) = delete;

private:
    RunHooks* m_previous;
};

// Parses `args` (without the program name, e.g. {"run", "--content", "a.jpg", ...}) exactly as
// `nst` does and runs the command. Errors are thrown as nst::Error with the CLI's message and exit
// code (a parse error as a usage error, code 2); --help/--version are usage errors here.
void run_in_process(const std::vector<std::string>& args);

}  // namespace nst::cli
