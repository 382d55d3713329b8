// SPDX-License-Identifier: MIT
#include "cli/memory_options.h"

#include <omp.h>

#include <cmath>

#include "cli/split.h"
#include "core/error.h"
#include "engine/system_memory.h"
#include "io/image.h"

namespace nst::cli {

namespace {

bool is_npy(const std::string& path) { return path.size() >= 4 && path.compare(path.size() - 4, 4, ".npy") == 0; }

// The problem at another size, as resolve_problem would size it: the content by --size-rule
// (aspect from its working size), each style image to --style-scale times that size, a .npy as
// it is.
std::function<ProblemGeometry(int)> geometry_of(const ProblemOptions& po, const Problem& p) {
    const Shape content = p.spec.content.shape();
    const bool content_fixed = is_npy(po.content);
    std::vector<std::pair<Shape, bool>> styles;  // working shape, fixed (.npy)
    std::vector<std::string> paths;
    for (const std::string& arg : po.styles)
        for (const std::string& item : split(arg, ',')) paths.push_back(item);
    for (std::size_t k = 0; k < p.spec.styles.size(); ++k)
        styles.emplace_back(p.spec.styles[k].shape(), k < paths.size() && is_npy(paths[k]));
    const SizeRule rule = p.size_rule;
    const double style_scale = po.style_scale;
    return [=](int size) {
        ProblemGeometry g;
        g.height = content.h;
        g.width = content.w;
        if (!content_fixed) target_size(content.h, content.w, size, rule, g.height, g.width);
        const int style_n = std::max(1, int(std::lround(style_scale * size)));
        for (const auto& [shape, fixed] : styles) {
            Shape s = shape;
            if (!fixed) target_size(shape.h, shape.w, style_n, rule, s.h, s.w);
            g.styles.push_back(s);
        }
        return g;
    };
}

}  // namespace

void MemoryOptions::add_to(CLI::App& app) {
    app.add_option("--memory-limit", memory_limit,
                   "peak memory the planner may use: bytes or K/M/G/T (binary), e.g. 16G; default: what the machine "
                   "(cpu) or device (cuda) has free, minus 10 %");
    o_tile_rows = app.add_option("--tile-rows", tile_rows,
                                 "exact tiled evaluation in strips of N image rows (0 = untiled); default: the planner's");
    app.add_flag("--dry-run", dry_run, "print each stage's memory plan and predicted peak to stdout, then exit");
}

MemoryPlanner::MemoryPlanner(const MemoryOptions& o) : m_dry_run(o.dry_run) {
    m_tile_rows_explicit = o.o_tile_rows && o.o_tile_rows->count() > 0;
    m_tile_rows = o.tile_rows;
    if (m_tile_rows_explicit && m_tile_rows < 0) throw_usage("--tile-rows: must be >= 0 (0 = untiled)");
    if (o.memory_limit.empty()) return;
    m_limit = parse_memory_size(o.memory_limit, "--memory-limit");
    m_explicit = true;
    // The process itself already holds more: no problem of any size can fit.
    const std::size_t now = resident_bytes();
    if (now > 0 && m_limit < now)
        throw_usage("--memory-limit " + o.memory_limit + " is below what nst needs at any size (the program alone holds " +
                    format_bytes(now) + " before loading anything)");
}

MemoryPlan MemoryPlanner::plan(const ProblemOptions& po, const Problem& p, const StagePlanInput& s, int gpu,
                               const std::string& label, bool first_stage) const {
    PlanRequest r;
    r.backend = p.backend == Backend::Cuda ? Backend::Cuda : Backend::Cpu;
    r.size = s.size;
    r.geometry = geometry_of(po, p);
    r.loss = p.spec.loss;
    r.num_content_masks = p.spec.content_masks.size();
    r.edit_mask = !p.spec.edit_mask.empty();
    r.optimizer = s.optimizer;
    r.lbfgs_history = s.lbfgs_history;
    r.history_explicit = s.history_explicit;
    r.lbfgs_history_precision = s.history_precision;
    r.iterations = s.iterations;
    r.tile_rows = m_tile_rows_explicit ? m_tile_rows : 0;
    r.tile_rows_explicit = m_tile_rows_explicit;
    r.threads = omp_get_max_threads();
    r.output_depth = s.output_depth;
    r.cuda = p.spec.cuda;
    std::size_t limit = m_limit;
    if (r.backend == Backend::Cpu) {
        r.baseline = resident_bytes();
        if (!m_explicit) limit = default_host_limit();
    } else {
        // Between stages nst holds nothing on the device; the free memory excludes the context.
        r.baseline = 0;
        std::size_t free = 0, total = 0;
        if (!m_explicit && cuda_device_memory(gpu, free, total))
            limit = std::size_t(double(free) * (1.0 - kDefaultLimitMargin));
    }
    try {
        return plan_memory(r, limit, m_explicit);
    } catch (const Error& e) {
        const ExitCode code = e.code() == ExitCode::Usage && !first_stage ? ExitCode::Runtime : e.code();
        throw Error(code, label + e.what());
    }
}

}  // namespace nst::cli
