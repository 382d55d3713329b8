// SPDX-License-Identifier: MIT
// The memory planner: the peak model (estimate_peak) and the choice of strips and history
// (plan_memory). See memory_plan.h for the rules and docs/conventions.md for the terms.
#include "engine/memory_plan.h"

#include <algorithm>
#include <cstdio>

#include "core/error.h"
#include "engine/system_memory.h"
#include "loss/objective.h"
#include "nn/vgg19.h"
#include "optim/lbfgs.h"

namespace nst {

namespace {

std::size_t floats(std::size_t n) { return n * sizeof(float); }
std::size_t round_up(std::size_t v, std::size_t m) { return (v + m - 1) / m * m; }

int deepest_tap(const LossSpec& loss) {
    const std::vector<int> taps = loss_taps(loss);
    return taps.empty() ? -1 : taps.back();
}

// The smallest side every image needs for the deepest layer (its output must not be empty).
bool geometry_valid(const ProblemGeometry& g, int deepest) {
    const int side = deepest < 0 ? 1 : tile_alignment(deepest);
    if (g.height < side || g.width < side) return false;
    for (const Shape& s : g.styles)
        if (s.h < side || s.w < side) return false;
    return true;
}

// The weights in the forms the CPU net converts them to, for the convolutions up to the deepest
// layer: a float copy of weights and bias, and the Winograd F(2x2, 3x3) filters of both
// directions (16 values per (o, i), the output channels padded to 8; nn/conv2d_impl.h).
std::size_t weight_forms_bytes(int deepest) {
    std::size_t n = 0;
    for (int c = 0; c < kNumConvs; ++c) {
        if (conv_layer_index(c) > deepest) break;
        const std::size_t o = std::size_t(conv_out_channels(c)), i = std::size_t(conv_in_channels(c));
        n += o * i * 9 + o;
        n += 16 * round_up(o, 8) * i;  // forward
        n += 16 * round_up(i, 8) * o;  // backward (the flipped weights)
    }
    return floats(n);
}

// The rows of the tallest window of an image `height` rows tall cut into strips of tile_rows.
int max_window_rows(int height, int tile_rows, int deepest) {
    int rows = 0;
    for (const Strip& s : plan_strips(height, tile_rows, deepest)) rows = std::max(rows, s.win_rows());
    return rows;
}

struct NetWindows {
    std::size_t bytes = 0;    // of the buffers for the largest window of any pass
    std::size_t scratch = 0;  // per-thread convolution scratch, grown to the largest pass (kept)
    int content_rows = 0;     // rows of the content's largest window
};

// The net's buffers are sized by the largest window of any pass: the style images' strips while
// the targets are made, then (after release()) the content's strips. Tensor::ensure only grows,
// so each pass's buffers are those of its tallest window.
NetWindows net_windows(const LossSpec& loss, const ProblemGeometry& g, int tile_rows) {
    const int deepest = deepest_tap(loss);
    NetWindows n;
    n.content_rows = deepest < 0 ? g.height : max_window_rows(g.height, tile_rows, deepest);
    if (deepest < 0) return n;
    const std::vector<int> taps = loss_taps(loss);
    n.bytes = cpu::Vgg19Net<float>::buffer_bytes(taps, n.content_rows, g.width);
    n.scratch = cpu::Vgg19Net<float>::scratch_bytes_per_thread(taps, n.content_rows, g.width);
    for (const Shape& s : g.styles) {
        const int rows = max_window_rows(s.h, tile_rows, deepest);
        n.bytes = std::max(n.bytes, cpu::Vgg19Net<float>::buffer_bytes(taps, rows, s.w));
        n.scratch = std::max(n.scratch, cpu::Vgg19Net<float>::scratch_bytes_per_thread(taps, rows, s.w));
    }
    return n;
}

std::string count_text(int n, const std::string& noun) { return std::to_string(n) + " " + noun + (n == 1 ? "" : "s"); }
std::string rows_text(int rows) { return count_text(rows, "row"); }

// The objectives' own copies of the temporal targets: per previous frame the warped result
// (3 floats a pixel) and its weight map (1), on the host (CPU) or the device (CUDA).
MemoryTerm temporal_term(const PlanRequest& r, std::size_t hw) {
    return {"objective: temporal targets (" + count_text(r.temporal_frames, "previous frame") + ")",
            floats(4 * hw) * std::size_t(r.temporal_frames)};
}

MemoryEstimate cpu_estimate(const PlanRequest& r, const ProblemGeometry& g, int tile_rows, int history) {
    const std::size_t hw = std::size_t(g.height) * std::size_t(g.width), n = 3 * hw;
    const int deepest = deepest_tap(r.loss);
    const bool tiled = deepest >= 0 && plan_strips(g.height, tile_rows, deepest).size() > 1;
    const NetWindows net = net_windows(r.loss, g, tile_rows);
    MemoryEstimate e;
    e.terms.push_back({"resident before the engine (program, weights, images)", r.baseline});
    e.terms.push_back({"starting point kept by the engine", floats(n)});
    e.terms.push_back({"x and its gradient", 2 * floats(n)});
    if (r.optimizer == OptimizerKind::Lbfgs) {
        const int p = pairs_kept(r.optimizer, history, r.iterations);
        const bool half = r.lbfgs_history_precision == HistoryPrecision::Bf16;
        e.terms.push_back({"L-BFGS: " + count_text(p, "pair") + (half ? " (bf16)" : "") + ", direction, previous gradient",
                           cpu::Lbfgs<float>::planned_bytes(n, p, r.lbfgs_history_precision)});
    } else {
        e.terms.push_back({"Adam: m and v", 2 * floats(n)});
    }
    e.terms.push_back({"objective: targets and Gram matrices",
                       cpu::Objective<float>::planned_bytes(r.loss, g.height, g.width, g.styles.size(),
                                                            r.num_content_masks > 0)});
    if (r.num_content_masks > 0 || r.edit_mask)
        e.terms.push_back({"objective: mask copies", floats(hw) * (r.num_content_masks + (r.edit_mask ? 1 : 0))});
    if (r.temporal_frames > 0) e.terms.push_back(temporal_term(r, hw));
    e.terms.push_back({"network buffers (largest window " + rows_text(net.content_rows) + ")", net.bytes});
    if (tiled) e.terms.push_back({"strip input and gradient", 2 * floats(3 * std::size_t(net.content_rows) * g.width)});
    if (deepest >= 0) {
        e.terms.push_back({"network weights (float copies, Winograd filters)", weight_forms_bytes(deepest)});
        e.terms.push_back({"convolution scratch (" + std::to_string(r.threads) + " threads)",
                           std::size_t(std::max(1, r.threads)) * net.scratch});
    }
    // At the end of a stage (and at --save-iter) the engine is still alive while the result is
    // copied out, turned into RGB and quantised for the encoder.
    e.terms.push_back({"result and image written", 2 * floats(n) + 2 * n * std::size_t(r.output_depth) / 8});
    e.terms.push_back({"runtime slack (OpenBLAS, OpenMP, allocator)", cpu_runtime_slack_bytes(r.threads)});
    return e;
}

// CUDA: nst's own device allocations. Unverified without a GPU (docs/conventions.md).
MemoryEstimate cuda_estimate(const PlanRequest& r, const ProblemGeometry& g, int tile_rows, int history) {
    const int deepest = deepest_tap(r.loss);
    const int window = deepest < 0 ? g.height : max_window_rows(g.height, tile_rows, deepest);
    // cuda_planned_bytes counts Adam's m and v for 0 pairs, so an L-BFGS run is given at least
    // one (a one-iteration L-BFGS run is over-counted by that pair).
    const int cuda_pairs = r.optimizer == OptimizerKind::Lbfgs ? std::max(1, pairs_kept(r.optimizer, history, r.iterations)) : 0;
    MemoryEstimate e;
    e.terms.push_back({"device memory nst holds already", r.baseline});
    e.terms.push_back({"device buffers (cuda_planned_bytes, window " + rows_text(window) + ")",
                       cuda_planned_bytes(r.loss, window, g.width, g.height, g.styles, cuda_pairs,
                                          r.lbfgs_history_precision, r.cuda)});
    if (r.temporal_frames > 0) e.terms.push_back(temporal_term(r, std::size_t(g.height) * std::size_t(g.width)));
    return e;
}

// Strip heights to try, largest first: 0 (untiled), then every multiple of the alignment below
// the tallest image (a style image may be taller than the content).
std::vector<int> row_candidates(const ProblemGeometry& g, int deepest) {
    std::vector<int> rows = {0};
    if (deepest < 0) return rows;
    int tallest = g.height;
    for (const Shape& s : g.styles) tallest = std::max(tallest, s.h);
    const int a = tile_alignment(deepest);
    for (int k = (tallest - 1) / a; k >= 1; --k) rows.push_back(k * a);
    return rows;
}

// What plan_strips makes of a requested height: a multiple of the alignment, at least one unit.
int effective_rows(int rows, int deepest) {
    if (rows <= 0 || deepest < 0) return 0;
    const int a = tile_alignment(deepest);
    return std::max(a, rows / a * a);
}

struct Choice {
    bool found = false;
    int rows = 0, history = 0;
};

// The plan rules 1-3 of memory_plan.h at geometry g; fixed_rows / fixed_history: the user's.
Choice choose(const PlanRequest& r, const ProblemGeometry& g, std::size_t limit, bool fixed_rows, bool fixed_history) {
    const int deepest = deepest_tap(r.loss);
    const std::vector<int> cands = fixed_rows ? std::vector<int>{effective_rows(r.tile_rows, deepest)}
                                              : row_candidates(g, deepest);
    const auto fits = [&](int rows, int history) {
        return limit == 0 || estimate_peak(r, g, rows, history).total() <= limit;
    };
    for (int rows : cands)
        if (fits(rows, r.lbfgs_history)) return {true, rows, r.lbfgs_history};
    const int wanted = pairs_kept(r.optimizer, r.lbfgs_history, r.iterations);
    if (fixed_history || r.optimizer != OptimizerKind::Lbfgs || wanted <= 1) return {};
    // Fewer pairs. The pairs are bought with strip height, and strips much shorter than their
    // halo make every iteration slower (a window of own + 2 halo rows per own rows): so the strips
    // are kept at >= 4 halos (at most 1.5x the rows) while that still fits one pair, and only
    // then shortened. Among those, the strips that need the least; memory grows with the pairs,
    // so bisect.
    std::vector<int> pool;
    const int floor_rows = deepest < 0 ? 0 : 4 * tile_halo_rows(deepest);
    for (int rows : cands)
        if ((rows == 0 || rows >= floor_rows) && fits(rows, 1)) pool.push_back(rows);
    if (pool.empty()) pool = cands;
    int least = pool.front();
    std::size_t least_bytes = estimate_peak(r, g, least, 1).total();
    for (int rows : pool) {
        const std::size_t b = estimate_peak(r, g, rows, 1).total();
        if (b < least_bytes) least = rows, least_bytes = b;
    }
    if (least_bytes > limit) return {};
    int lo = 1, hi = wanted;  // fits(least, lo), !fits(least, hi)
    while (hi - lo > 1) {
        const int mid = lo + (hi - lo) / 2;
        (fits(least, mid) ? lo : hi) = mid;
    }
    for (int rows : pool)
        if (fits(rows, lo)) return {true, rows, lo};
    return {};
}

PlanRequest without_explicit(PlanRequest r) {
    r.tile_rows_explicit = false;
    r.history_explicit = false;
    return r;
}

std::string size_text(const ProblemGeometry& g) { return std::to_string(g.width) + "x" + std::to_string(g.height); }

}  // namespace


std::size_t MemoryEstimate::total() const {
    std::size_t t = 0;
    for (const MemoryTerm& m : terms) t += m.bytes;
    return t;
}

// Measured on the 2-core x86-64 machine (docs/conventions.md, "Memory planner"): the resident
// growth that no buffer of the model explains, a fixed part (OpenBLAS's GEMM buffers as touched
// by the Gram matrices, the OpenMP runtime) and a part per thread (stacks, OpenBLAS's per-thread
// buffers).
std::size_t cpu_runtime_slack_bytes(int threads) {
    constexpr std::size_t kFixed = std::size_t(24) << 20;
    constexpr std::size_t kPerThread = std::size_t(4) << 20;
    return kFixed + kPerThread * std::size_t(std::max(1, threads));
}

int pairs_kept(OptimizerKind optimizer, int history, int iterations) {
    if (optimizer != OptimizerKind::Lbfgs) return 0;
    return std::max(0, std::min(history, iterations - 1));
}

MemoryEstimate estimate_peak(const PlanRequest& r, const ProblemGeometry& g, int tile_rows, int history) {
    return r.backend == Backend::Cuda ? cuda_estimate(r, g, tile_rows, history) : cpu_estimate(r, g, tile_rows, history);
}

int smallest_size(const PlanRequest& r) {
    const int deepest = deepest_tap(r.loss);
    if (r.size <= 1 || !geometry_valid(r.geometry(r.size), deepest)) return std::max(1, r.size);
    if (geometry_valid(r.geometry(1), deepest)) return 1;
    int lo = 1, hi = r.size;  // !valid(lo), valid(hi)
    while (hi - lo > 1) {
        const int mid = lo + (hi - lo) / 2;
        (geometry_valid(r.geometry(mid), deepest) ? hi : lo) = mid;
    }
    return hi;
}

std::size_t minimum_need(const PlanRequest& r, int size) {
    const ProblemGeometry g = r.geometry(size);
    const int deepest = deepest_tap(r.loss);
    const std::vector<int> cands = r.tile_rows_explicit ? std::vector<int>{effective_rows(r.tile_rows, deepest)}
                                                        : row_candidates(g, deepest);
    const int history = r.history_explicit ? r.lbfgs_history : 1;
    std::size_t least = 0;
    for (int rows : cands) {
        const std::size_t b = estimate_peak(r, g, rows, history).total();
        if (least == 0 || b < least) least = b;
    }
    return least;
}

int largest_fitting_size(const PlanRequest& r, std::size_t limit) {
    int lo = smallest_size(r);
    if (minimum_need(r, lo) > limit) return 0;
    int hi = r.size;
    if (minimum_need(r, hi) <= limit) return hi;
    while (hi - lo > 1) {  // fits(lo), !fits(hi)
        const int mid = lo + (hi - lo) / 2;
        (minimum_need(r, mid) <= limit ? lo : hi) = mid;
    }
    return lo;
}

MemoryPlan plan_memory(const PlanRequest& r, std::size_t limit, bool limit_explicit) {
    NST_REQUIRE(r.geometry, "plan_memory: no geometry");
    if (r.tile_rows_explicit && r.tile_rows < 0) throw_usage("--tile-rows: must be >= 0 (0 = untiled)");
    const ProblemGeometry g = r.geometry(r.size);
    const int deepest = deepest_tap(r.loss);
    const PlanRequest free_request = without_explicit(r);

    if (limit > 0) {
        const int smallest = smallest_size(free_request);
        const std::size_t floor_need = minimum_need(free_request, smallest);
        if (floor_need > limit) {
            const std::string what = "is below what nst needs at any size: at least " + format_bytes(floor_need) +
                                     " (" + format_bytes(r.baseline) + " resident before the engine, then a " +
                                     std::to_string(smallest) + " px image)";
            if (limit_explicit) throw_usage("--memory-limit " + format_bytes(limit) + " " + what);
            throw_runtime("the memory available (" + format_bytes(limit) + " after the " +
                          std::to_string(int(kDefaultLimitMargin * 100)) + " % margin) " + what +
                          "; free memory or set --memory-limit");
        }
    }

    const Choice c = choose(r, g, limit, r.tile_rows_explicit, r.history_explicit);
    if (!c.found) {
        const std::string over = ", over the memory limit " + format_bytes(limit);
        // The user's own setting is what does not fit: say what the planner would choose instead.
        if (r.tile_rows_explicit || r.history_explicit) {
            const Choice alt = choose(free_request, g, limit, false, false);
            if (alt.found) {
                const std::string setting = r.tile_rows_explicit && r.history_explicit
                                                ? "--tile-rows " + std::to_string(r.tile_rows) + " with --lbfgs-history " +
                                                      std::to_string(r.lbfgs_history)
                                            : r.tile_rows_explicit ? "--tile-rows " + std::to_string(r.tile_rows)
                                                                   : "--lbfgs-history " + std::to_string(r.lbfgs_history);
                throw_runtime(size_text(g) + ": " + setting + " needs a predicted " +
                              format_bytes(minimum_need(r, r.size)) + " at the least" + over +
                              "; leave it out and the planner fits " +
                              (alt.rows == 0 ? std::string("untiled") : "strips of " + rows_text(alt.rows)) + " with " +
                              count_text(pairs_kept(r.optimizer, alt.history, r.iterations), "L-BFGS pair"));
            }
        }
        const int fitting = largest_fitting_size(r, limit);
        throw_runtime(size_text(g) + " needs a predicted " + format_bytes(minimum_need(r, r.size)) +
                      " at the least (the smallest strips, 1 L-BFGS pair)" + over +
                      (fitting > 0 ? "; the largest size that fits is " + std::to_string(fitting) +
                                         " (the same --size-rule), or raise --memory-limit"
                                   : "; no size fits with these settings"));
    }

    MemoryPlan p;
    p.size = r.size;
    p.geometry = g;
    p.optimizer = r.optimizer;
    p.limit = limit;
    p.lbfgs_history = c.history;
    p.history_precision = r.lbfgs_history_precision;
    p.pairs = pairs_kept(r.optimizer, c.history, r.iterations);
    p.pairs_requested = pairs_kept(r.optimizer, r.lbfgs_history, r.iterations);
    p.history_cut = c.history != r.lbfgs_history;
    p.tile_rows = c.rows;
    p.strips = deepest < 0 ? std::vector<Strip>{Strip{0, g.height, 0, g.height}} : plan_strips(g.height, c.rows, deepest);
    p.halo_rows = p.strips.size() > 1 ? tile_halo_rows(deepest) : 0;
    p.tiled_by_planner = !r.tile_rows_explicit && c.rows != 0;
    p.estimate = estimate_peak(r, g, c.rows, c.history);
    if (p.tiled_by_planner || p.history_cut) {
        const std::size_t untiled = estimate_peak(r, g, r.tile_rows_explicit ? c.rows : 0, r.lbfgs_history).total();
        p.why = (r.tile_rows_explicit ? "--tile-rows " + std::to_string(r.tile_rows) : std::string("untiled")) +
                " with " + count_text(p.pairs_requested, "L-BFGS pair") + " needs a predicted " +
                format_bytes(untiled) + ", over the memory limit " + format_bytes(limit) + ": ";
        if (p.tiled_by_planner)
            p.why += "exact tiling in " + std::to_string(p.strips.size()) + " strips of " + rows_text(c.rows) +
                     " (results unchanged, iterations slower)";
        if (p.tiled_by_planner && p.history_cut) p.why += " and ";
        if (p.history_cut) {
            p.why += "L-BFGS history cut to " + std::to_string(c.history) + " pairs (this changes the iterates)";
            // The planner never picks the precision (that too changes the iterates), but says
            // what the user's choice of it would buy.
            if (r.lbfgs_history_precision == HistoryPrecision::Fp32) {
                PlanRequest half = r;
                half.lbfgs_history_precision = HistoryPrecision::Bf16;
                const Choice h = choose(half, g, limit, r.tile_rows_explicit, r.history_explicit);
                if (h.found && h.history > c.history)
                    p.why += "; --lbfgs-history-precision bf16 would keep " +
                             count_text(pairs_kept(r.optimizer, h.history, r.iterations), "pair");
            }
        }
        p.why += "; predicted peak " + format_bytes(p.estimate.total());
    }
    return p;
}

std::string describe_plan(const MemoryPlan& p) {
    std::string s = size_text(p.geometry) + " (size " + std::to_string(p.size) + ")\n";
    if (p.strips.size() <= 1) {
        s += "  evaluation: untiled\n";
    } else {
        int win = 0;
        for (const Strip& st : p.strips) win = std::max(win, st.win_rows());
        s += "  evaluation: exact tiling, " + std::to_string(p.strips.size()) + " strips of " +
             rows_text(p.strips.front().own_end - p.strips.front().own_begin) + ", halo " + rows_text(p.halo_rows) +
             ", windows up to " + rows_text(win) + (p.tiled_by_planner ? " (chosen by the planner)" : "") + "\n";
    }
    if (p.optimizer == OptimizerKind::Lbfgs)
        s += "  L-BFGS history: " + std::to_string(p.lbfgs_history) + ", at most " + count_text(p.pairs, "pair") + " kept" +
             (p.history_precision == HistoryPrecision::Bf16 ? " in bf16" : "") + (p.history_cut ? " (cut by the planner from " + std::to_string(p.pairs_requested) +
                                                  "; the iterates change)"
                                            : std::string()) +
             "\n";
    s += "  memory limit: " + (p.limit > 0 ? format_bytes(p.limit) : std::string("none known")) + "\n";
    s += "  predicted peak: " + format_bytes(p.estimate.total()) + " (" + std::to_string(p.estimate.total()) +
         " bytes)\n";
    for (const MemoryTerm& t : p.estimate.terms) {
        char line[160];
        std::snprintf(line, sizeof line, "    %-58s %10s\n", t.name.c_str(), format_bytes(t.bytes).c_str());
        s += line;
    }
    if (!p.why.empty()) s += "  planner: " + p.why + "\n";
    return s;
}

}  // namespace nst
