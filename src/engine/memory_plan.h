// SPDX-License-Identifier: MIT
// The memory planner (issue #11; docs/conventions.md, "Memory planner"). Before a stage runs, nst
// predicts the peak memory of its optimisation from the problem's sizes and picks what fits
// under the limit, in this order:
//   1. the untiled evaluation with the requested L-BFGS history;
//   2. exact tiling (loss/tiling.h): the largest strips that fit. Results are unchanged (up to
//      float rounding), only time grows;
//   3. fewer L-BFGS pairs. This changes the iterates, so the plan says so. Strips are then kept
//      at least 4 halos tall (windows at most 1.5x the rows they own) while one pair still fits
//      that way, so that a cut history does not also buy needlessly slow iterations.
// What the user set explicitly (--tile-rows, --lbfgs-history) is never changed: if it does not
// fit, that is an error naming what would. Activation precision is never chosen here: it
// changes results, so it stays the user's --precision (CUDA only).
//
// The model is a sum of named terms (MemoryEstimate), so that a plan can print its breakdown and
// a measured peak can be compared term by term. CPU: the resident set (ru_maxrss); CUDA: nst's own
// device allocations (cuda_planned_bytes, unverified without a GPU).
#pragma once
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "loss/tiling.h"

namespace nst {

// The image sizes of one problem at one size (the --image-size / --scales value).
struct ProblemGeometry {
    int height = 0, width = 0;  // the content, = the image optimised
    std::vector<Shape> styles;  // each style image, (1, 3, h, w)
};

struct PlanRequest {
    Backend backend = Backend::Cpu;
    int size = 0;  // the stage's size under --size-rule
    // The same problem at another size: the content's aspect and --size-rule, the styles sized by
    // --style-scale (a .npy keeps its size). Used to find the largest size that fits.
    std::function<ProblemGeometry(int size)> geometry;
    LossSpec loss;
    std::size_t num_content_masks = 0;  // --content-masks: one (1, 1, H, W) per style image
    bool edit_mask = false;             // --edit-mask
    int temporal_frames = 0;            // video: previous frames with temporal targets (ProblemSpec::temporal)
    OptimizerKind optimizer = OptimizerKind::Lbfgs;
    int lbfgs_history = 100;
    bool history_explicit = false;  // --lbfgs-history given: never reduced
    // --lbfgs-history-precision: counted as chosen, never changed by the planner (it changes the
    // iterates); a cut history's reason says how many pairs bf16 would keep instead.
    HistoryPrecision lbfgs_history_precision = HistoryPrecision::Fp32;
    int iterations = 0;             // of this stage
    int tile_rows = 0;              // --tile-rows (0 = untiled) when tile_rows_explicit
    bool tile_rows_explicit = false;
    int threads = 1;                // OpenMP threads (per-thread convolution scratch)
    int output_depth = 8;           // bits per sample of the image written at the end
    // CPU: the process's resident bytes when planning (weights, images and masks loaded, no
    // engine yet). CUDA: device bytes nst already holds (0 between stages).
    std::size_t baseline = 0;
    CudaOptions cuda;
};

struct MemoryTerm {
    std::string name;
    std::size_t bytes = 0;
};

struct MemoryEstimate {
    std::vector<MemoryTerm> terms;
    std::size_t total() const;
};

// Runtime buffers the model cannot derive from sizes (CPU): OpenBLAS's per-thread GEMM buffers,
// OpenMP's thread stacks and the allocator's slack. Measured (docs/conventions.md).
std::size_t cpu_runtime_slack_bytes(int threads);

// The (s, y) pairs an L-BFGS run of `iterations` iterations holds at most: the first step makes
// none, each later one at most one, up to `history`. 0 for Adam.
int pairs_kept(OptimizerKind optimizer, int history, int iterations);

// The predicted peak of a problem with geometry g, strips of tile_rows rows (0 = untiled) and an
// L-BFGS history of `history`.
MemoryEstimate estimate_peak(const PlanRequest& r, const ProblemGeometry& g, int tile_rows, int history);

struct MemoryPlan {
    int size = 0;
    ProblemGeometry geometry;
    int tile_rows = 0;          // for ProblemSpec::tile_rows: 0 = untiled, else a multiple of the alignment
    std::vector<Strip> strips;  // the content's strips (one without halo when untiled)
    int halo_rows = 0;          // of the deepest layer (0 when untiled)
    OptimizerKind optimizer = OptimizerKind::Lbfgs;
    int lbfgs_history = 0;      // for ProblemSpec::lbfgs_history
    int pairs = 0;              // pairs kept at most (0 for Adam)
    int pairs_requested = 0;    // what the requested history would have kept
    HistoryPrecision history_precision = HistoryPrecision::Fp32;  // the request's, unchanged
    MemoryEstimate estimate;
    std::size_t limit = 0;      // 0 = no limit known
    bool tiled_by_planner = false;  // the planner chose tiling
    bool history_cut = false;       // the planner cut the pairs (the iterates change)
    std::string why;                // one sentence when the planner changed anything, else ""
};

// Chooses tile rows and history for r under `limit` (0 = no limit: the request as it is).
// Errors: an explicit --tile-rows or --lbfgs-history that does not fit, or nothing that fits at
// this size: runtime error (exit 4) naming the predicted minimum and the largest size that
// fits. A limit below what nst needs at any size: usage error (exit 2) when limit_explicit.
MemoryPlan plan_memory(const PlanRequest& r, std::size_t limit, bool limit_explicit);

// The least peak at `size`: the smallest strips and 1 pair, or the explicit settings.
std::size_t minimum_need(const PlanRequest& r, int size);
// The smallest size at which every image of the problem is large enough for its deepest layer.
int smallest_size(const PlanRequest& r);
// The largest size <= r.size whose minimum_need fits under limit (bisection); 0 if none.
int largest_fitting_size(const PlanRequest& r, std::size_t limit);

// The plan as text: size, strips and halo, history, the predicted peak and its terms.
std::string describe_plan(const MemoryPlan& p);

}  // namespace nst
