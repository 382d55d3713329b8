// SPDX-License-Identifier: MIT
// The memory planner's decisions (engine/memory_plan.h) and the memory quantities it reads
// (engine/system_memory.h). Limits are derived from the model's own functions at other settings
// (never hard-coded byte counts), so each case checks the rule, not a number: untiled when it
// fits, the largest strips that fit, then the most pairs that fit, explicit settings kept, and
// the size named when nothing fits is the boundary of the model.
#include <doctest/doctest.h>

#include <cstdlib>
#include <string>

#include "engine/memory_plan.h"
#include "engine/system_memory.h"
#include "test_errors.h"

using namespace nst;
using nst::test::contains;
using nst::test::error_of;

namespace {

// A 4:3 content (size = its width) and one style image of the same size, the default layers.
PlanRequest request(int size, int iterations = 1000, int history = 100) {
    PlanRequest r;
    r.size = size;
    r.geometry = [](int s) {
        ProblemGeometry g;
        g.width = s;
        g.height = (3 * s + 2) / 4;
        g.styles = {Shape{1, 3, g.height, g.width}};
        return g;
    };
    r.loss.content_layers = {layer_index("relu4_2")};
    r.loss.style_layers = parse_layer_list("relu1_1,relu2_1,relu3_1,relu4_1,relu5_1", "--style-layers");
    r.loss.style_layer_weights.assign(5, 1.0);
    r.iterations = iterations;
    r.lbfgs_history = history;
    r.threads = 2;
    r.baseline = std::size_t(100) << 20;
    return r;
}

std::size_t peak(const PlanRequest& r, int rows, int history) {
    return estimate_peak(r, r.geometry(r.size), rows, history).total();
}

const int kAlign = tile_alignment(layer_index("relu5_1"));  // 16

}  // namespace

TEST_CASE("memory sizes: binary suffixes and fractions and bad values") {
    CHECK(parse_memory_size("16G", "--memory-limit") == std::size_t(16) << 30);
    CHECK(parse_memory_size("1.5G", "--memory-limit") == std::size_t(3) << 29);
    CHECK(parse_memory_size("512M", "--memory-limit") == std::size_t(512) << 20);
    CHECK(parse_memory_size("512MiB", "--memory-limit") == std::size_t(512) << 20);
    CHECK(parse_memory_size("100k", "--memory-limit") == std::size_t(100) << 10);
    CHECK(parse_memory_size("2T", "--memory-limit") == std::size_t(2) << 40);
    CHECK(parse_memory_size("1000000", "--memory-limit") == 1000000);
    for (const char* bad : {"", "G", ".", "abc", "-1G", "1.2.3G", "16Q", "16GB", "0", "0.0001K", " 16G", "16G ", "1e9",
                            "nan", "inf", "99999999999T"}) {
        INFO("SIZE '" << bad << "'");
        const std::string msg = error_of([&] { parse_memory_size(bad, "--memory-limit"); }, ExitCode::Usage);
        CHECK(contains(msg, "--memory-limit"));
    }
    CHECK(format_bytes(100) == "100 B");
    CHECK(format_bytes(std::size_t(3) << 29) == "1.50 GiB");
    CHECK(format_bytes(std::size_t(812) << 20) == "812 MiB");
}

TEST_CASE("system memory: meminfo and cgroup files as the kernel writes them") {
    CHECK(parse_meminfo_available("MemTotal:       24683584 kB\nMemFree:  1 kB\nMemAvailable:   23548800 kB\n") ==
          std::size_t(23548800) * 1024);
    CHECK(parse_meminfo_available("MemTotal: 5 kB\n") == 0);
    CHECK(parse_cgroup_memory_max("max\n") == 0);
    CHECK(parse_cgroup_memory_max("17179869184\n") == std::size_t(16) << 30);
    CHECK(parse_cgroup_memory_max("9223372036854771712\n") == 0);  // cgroup v1: no limit
    CHECK(parse_cgroup_path("0::/user.slice/nst.scope\n", "") == "/user.slice/nst.scope");
    CHECK(parse_cgroup_path("4:memory:/box/1\n0::/\n", "memory") == "/box/1");
    CHECK(parse_cgroup_path("4:memory:/box/1\n", "") == "");
    // This machine: a process holds something, and the default limit keeps the margin back.
    CHECK(resident_bytes() > 0);
    const std::size_t limit = default_host_limit();
    if (available_bytes() > 0) {
        CHECK(limit > 0);
        CHECK(limit <= std::size_t(double(available_bytes() + resident_bytes()) * 0.9) + 1);
    }
}

TEST_CASE("memory model: L-BFGS pairs and the terms") {
    CHECK(pairs_kept(OptimizerKind::Lbfgs, 100, 2) == 1);  // the first step makes no pair
    CHECK(pairs_kept(OptimizerKind::Lbfgs, 100, 0) == 0);
    CHECK(pairs_kept(OptimizerKind::Lbfgs, 5, 1000) == 5);
    CHECK(pairs_kept(OptimizerKind::Adam, 100, 1000) == 0);

    const PlanRequest r = request(512);
    const MemoryEstimate e = estimate_peak(r, r.geometry(512), 0, 100);
    std::size_t sum = 0;
    for (const MemoryTerm& t : e.terms) sum += t.bytes;
    CHECK(e.total() == sum);
    CHECK(e.terms.front().bytes == r.baseline);
    // Each pair is two image-sized float vectors.
    const std::size_t n = 3 * 384 * 512;
    CHECK(peak(r, 0, 11) - peak(r, 0, 10) == 2 * n * sizeof(float));
    // Adam holds m and v instead of the history.
    PlanRequest adam = r;
    adam.optimizer = OptimizerKind::Adam;
    CHECK(peak(r, 0, 100) - peak(adam, 0, 100) == (2 * std::size_t(pairs_kept(r.optimizer, 100, 1000)) + 2 - 2) * n * 4);
    // Strips shrink the net's buffers, and the peak grows with the size.
    CHECK(peak(r, 4 * kAlign, 100) < peak(r, 0, 100));
    CHECK(peak(request(1024), 0, 100) > peak(r, 0, 100));
}

TEST_CASE("memory model: temporal targets add 16 bytes a pixel per previous frame on both backends") {
    // The objectives' copies: warped frame (3 floats) and weight map (1 float) per pixel.
    for (Backend b : {Backend::Cpu, Backend::Cuda}) {
        CAPTURE(backend_name(b));
        PlanRequest r = request(256);
        r.backend = b;
        const std::size_t none = peak(r, 0, 100);
        r.temporal_frames = 3;
        const std::size_t hw = std::size_t(192) * 256;
        CHECK(peak(r, 0, 100) - none == 3 * 16 * hw);
        bool named = false;
        for (const MemoryTerm& t : estimate_peak(r, r.geometry(256), 0, 100).terms)
            named = named || contains(t.name, "temporal targets (3 previous frames)");
        CHECK(named);
    }
}

TEST_CASE("memory planner: untiled with the requested history when it fits") {
    const PlanRequest r = request(512);
    const std::size_t untiled = peak(r, 0, 100);
    for (std::size_t limit : {std::size_t(0), untiled, untiled + (std::size_t(1) << 30)}) {
        const MemoryPlan p = plan_memory(r, limit, true);
        CHECK(p.tile_rows == 0);
        CHECK(p.strips.size() == 1);
        CHECK(p.lbfgs_history == 100);
        CHECK(p.pairs == 100);
        CHECK(!p.tiled_by_planner);
        CHECK(!p.history_cut);
        CHECK(p.why.empty());
        CHECK(p.estimate.total() == untiled);
    }
}

TEST_CASE("memory planner: exact tiling in the largest strips that fit") {
    const PlanRequest r = request(1024);
    const std::size_t limit = (peak(r, 0, 100) + peak(r, 8 * kAlign, 100)) / 2;
    const MemoryPlan p = plan_memory(r, limit, true);
    REQUIRE(p.tile_rows > 0);
    CHECK(p.tile_rows % kAlign == 0);
    CHECK(p.strips.size() > 1);
    CHECK(p.halo_rows == tile_halo_rows(layer_index("relu5_1")));
    CHECK(p.tiled_by_planner);
    CHECK(!p.history_cut);
    CHECK(p.lbfgs_history == 100);  // tiling comes before fewer pairs
    CHECK(p.estimate.total() <= limit);
    CHECK(peak(r, p.tile_rows + kAlign, 100) > limit);  // one alignment unit more does not fit
    CHECK(contains(p.why, "tiling"));
    CHECK(contains(p.why, "unchanged"));
    CHECK(contains(describe_plan(p), "strips of " + std::to_string(p.tile_rows) + " rows"));
}

TEST_CASE("memory planner: fewer L-BFGS pairs when the smallest strips do not fit") {
    const PlanRequest r = request(1024);
    // The least memory over the strip heights, with 10 pairs: 10 is then the most that fits.
    std::size_t least = 0;
    for (int rows = 0; rows < 768; rows += kAlign) {
        const std::size_t b = peak(r, rows, 10);
        if (least == 0 || b < least) least = b;
    }
    const MemoryPlan p = plan_memory(r, least, true);
    CHECK(p.history_cut);
    CHECK(p.lbfgs_history == 10);
    CHECK(p.pairs == 10);
    CHECK(p.pairs_requested == 100);
    CHECK(p.estimate.total() <= least);
    CHECK(contains(p.why, "changes the iterates"));
    // Adam has no history to cut: below its smallest strips it is an error.
    PlanRequest adam = r;
    adam.optimizer = OptimizerKind::Adam;
    CHECK(plan_memory(adam, peak(adam, 0, 100), true).tile_rows == 0);
    std::size_t adam_least = 0;
    for (int rows = 0; rows < 768; rows += kAlign) {
        const std::size_t b = peak(adam, rows, 100);
        if (adam_least == 0 || b < adam_least) adam_least = b;
    }
    CHECK(plan_memory(adam, adam_least, true).estimate.total() == adam_least);
    CHECK(contains(error_of([&] { plan_memory(adam, adam_least - 1, true); }, ExitCode::Runtime), "at the least"));
}

TEST_CASE("memory planner: explicit settings are kept or refused") {
    PlanRequest r = request(1024);
    r.tile_rows_explicit = true;
    r.tile_rows = 100;  // rounded down to the alignment, as plan_strips does
    const MemoryPlan p = plan_memory(r, 0, false);
    CHECK(p.tile_rows == 96);
    CHECK(!p.tiled_by_planner);
    CHECK(p.why.empty());

    // Untiled forced (--tile-rows 0): over the limit, the planner cuts the pairs instead.
    r.tile_rows = 0;
    const std::size_t limit = peak(r, 0, 50);
    const MemoryPlan q = plan_memory(r, limit, true);
    CHECK(q.tile_rows == 0);
    CHECK(q.lbfgs_history == 50);

    // ... unless the history is explicit too: an error naming the settings and what would fit.
    r.history_explicit = true;
    std::string msg = error_of([&] { plan_memory(r, limit, true); }, ExitCode::Runtime);
    CHECK(contains(msg, "--tile-rows 0 with --lbfgs-history 100"));
    CHECK(contains(msg, "leave it out"));

    // An explicit history that does not fit even with the smallest strips.
    PlanRequest h = request(1024);
    h.history_explicit = true;
    std::size_t least = 0;
    for (int rows = 0; rows < 768; rows += kAlign) {
        const std::size_t b = peak(h, rows, 10);
        if (least == 0 || b < least) least = b;
    }
    msg = error_of([&] { plan_memory(h, least, true); }, ExitCode::Runtime);
    CHECK(contains(msg, "--lbfgs-history 100"));
    h.tile_rows_explicit = true;
    h.tile_rows = -1;
    error_of([&] { plan_memory(h, 0, false); }, ExitCode::Usage);
}

TEST_CASE("memory planner: nothing fits names the largest size that does") {
    const PlanRequest r = request(2048);
    const std::size_t limit = minimum_need(r, 600) + (std::size_t(1) << 20);
    const std::string msg = error_of([&] { plan_memory(r, limit, true); }, ExitCode::Runtime);
    const std::string key = "the largest size that fits is ";
    const std::size_t at = msg.find(key);
    REQUIRE(at != std::string::npos);
    const int size = std::atoi(msg.c_str() + at + key.size());
    CHECK(size == largest_fitting_size(r, limit));
    CHECK(size >= 600);
    CHECK(minimum_need(r, size) <= limit);
    CHECK(minimum_need(r, size + 1) > limit);
    CHECK(minimum_need(r, size + 4) > limit);
    CHECK(contains(msg, format_bytes(limit)));
    // The named size does plan under that limit.
    PlanRequest smaller = r;
    smaller.size = size;
    CHECK(plan_memory(smaller, limit, true).estimate.total() <= limit);
}

TEST_CASE("memory planner: a limit below any size is a usage error when given and a runtime error by default") {
    const PlanRequest r = request(512);
    const std::size_t floor_need = minimum_need(r, smallest_size(r));
    const int smallest = smallest_size(r);  // the height reaches 16 rows (relu5_1's alignment)
    CHECK(r.geometry(smallest).height >= kAlign);
    CHECK(r.geometry(smallest - 1).height < kAlign);
    CHECK(contains(error_of([&] { plan_memory(r, floor_need - 1, true); }, ExitCode::Usage), "--memory-limit"));
    CHECK(contains(error_of([&] { plan_memory(r, floor_need - 1, false); }, ExitCode::Runtime), "at any size"));
    CHECK(contains(error_of([&] { plan_memory(r, 1024, true); }, ExitCode::Usage), "below what nst needs"));
}

TEST_CASE("memory planner: bf16 history counts 2 bytes a value and a cut history names what bf16 keeps") {
    const PlanRequest r = request(1024);
    PlanRequest half = r;
    half.lbfgs_history_precision = HistoryPrecision::Bf16;
    // Each pair is two image-sized vectors of 2 bytes; d and g_prev stay float.
    const std::size_t n = 3 * 768 * 1024;
    CHECK(peak(half, 0, 11) - peak(half, 0, 10) == 2 * n * 2);
    CHECK(peak(r, 0, 100) - peak(half, 0, 100) == 2 * std::size_t(100) * n * 2);
    // The limit at which fp32 keeps 10 pairs (as in the case above).
    std::size_t least = 0;
    for (int rows = 0; rows < 768; rows += kAlign) {
        const std::size_t b = peak(r, rows, 10);
        if (least == 0 || b < least) least = b;
    }
    const MemoryPlan p32 = plan_memory(r, least, true);
    const MemoryPlan p16 = plan_memory(half, least, true);
    REQUIRE(p32.pairs == 10);
    CHECK(p16.history_precision == HistoryPrecision::Bf16);  // kept as asked, never switched
    CHECK(p32.history_precision == HistoryPrecision::Fp32);
    CHECK(p16.pairs >= 19);  // the 10 fp32 pairs' bytes hold 20 bf16 pairs, less rounding of strips
    CHECK(p16.estimate.total() <= least);
    MESSAGE("fp32 why: " << p32.why);
    CHECK(contains(p32.why, "--lbfgs-history-precision bf16 would keep " + std::to_string(p16.pairs) + " pairs"));
    CHECK(!contains(p16.why, "would keep"));
    CHECK(contains(describe_plan(p16), "kept in bf16"));
    CHECK(contains(describe_plan(p16), "pairs (bf16)"));
}
