// SPDX-License-Identifier: MIT
// `nst run`: style transfer from image files to a stylised image (spec §1).
#include <algorithm>
#include <chrono>
#include <csignal>
#include <cmath>
#include <cstdint>
#include <cstdio>

#include "cli/commands.h"
#include "cli/in_process.h"
#include "cli/memory_options.h"
#include "cli/output_path.h"
#include "cli/problem_options.h"
#include "cli/progress.h"
#include "cli/stages.h"
#include "cli/trace.h"
#include "core/error.h"
#include "core/interrupt.h"
#include "io/atomic_file.h"
#include "io/npy.h"

namespace nst::cli {

namespace {

constexpr int kMaxBatch = 64;  // iterations queued between two reads of the loss values

struct RunOptions {
    ProblemOptions problem;
    MemoryOptions memory;  // --memory-limit, --tile-rows, --dry-run
    std::string output = "out.png";
    int output_depth = 8;
    std::string init = "random";
    std::string optimizer = "lbfgs";
    double learning_rate = 0;  // 0: the optimiser's default (1 for lbfgs, 10 for adam)
    int lbfgs_history = 100;
    std::string lbfgs_history_precision = "fp32";
    std::string num_iterations = "1000";  // one count, or one per --scales stage
    std::string scales;                   // coarse-to-fine stages (stages.h); empty: one stage
    std::uint64_t seed = 0;
    int print_iter = 50;
    int save_iter = 0;
    std::string trace;
    bool quiet = false;
    std::string cuda_graph = "on";
    std::string profile_iters;  // FIRST:COUNT
    CLI::Option* o_output = nullptr;  // absent with an in-process result hook: nothing is written
    CLI::Option* o_learning_rate = nullptr;
    CLI::Option* o_image_size = nullptr;  // --image-size conflicts with --scales
    CLI::Option* o_lbfgs_history = nullptr;  // an explicit history is never cut by the planner
    CLI::Option* o_history_precision = nullptr;
};

// --profile-iters FIRST:COUNT: the iterations bracketed by cudaProfilerStart/Stop.
void parse_profile_iters(const std::string& text, CudaOptions& cuda) {
    if (text.empty()) return;
    const std::size_t colon = text.find(':');
    int first = 0, count = 0;
    char tail = 0;
    if (colon == std::string::npos ||
        std::sscanf(text.c_str(), "%d:%d%c", &first, &count, &tail) != 2 || first < 1 || count < 1)
        throw_usage("--profile-iters: expected FIRST:COUNT with FIRST >= 1 and COUNT >= 1, got '" + text + "'");
    cuda.profile_first = first;
    cuda.profile_count = count;
}

// The starting point x0 in network space, (1, 3, H, W) of the content's size.
Tensor<float> make_init(const RunOptions& o, const Problem& p) {
    const Shape shape = p.spec.content.shape();
    if (o.init == "content") return p.spec.content.clone();
    if (o.init == "random") return random_init(p, o.seed);
    // --init style: the first style image, resized to the content's size.
    std::string path = o.init;
    if (o.init == "style") path = o.problem.styles.front().substr(0, o.problem.styles.front().find(','));
    Tensor<float> x = load_network_image(path, p.pre, shape.h, shape.w, "--init", image_reading(p.preset));
    color_init_image(p.color, p.pre, x);  // grey under --color-control luminance
    return x;
}

// The image of x as an image output holds it: RGB in [0, 1], recombined with the content's chroma
// when a colour control asks for it. Also what an in-process result hook receives.
Tensor<float> output_rgb(const Tensor<float>& x, const Preprocessor& pre, const ColorPlan& color) {
    Tensor<float> rgb(x.shape());
    pre.to_image(rgb.view(), x.cview());
    color_output_image(color, rgb.view());
    return rgb;
}

// A .npy output is the raw optimised tensor x, untouched, so that it can be evaluated or resumed.
// --output-rounding truncate writes the 8-bit levels ToPILImage would (truncation).
void save_result(const std::string& path, const Tensor<float>& x, const Preprocessor& pre, int depth,
                 const ColorPlan& color, OutputRounding rounding) {
    if (output_kind(path) == OutputKind::Npy) {
        const Shape s = x.shape();
        save_npy(path, x.data(), {s.n, s.c, s.h, s.w});
        return;
    }
    Tensor<float> rgb = output_rgb(x, pre, color);
    if (rounding == OutputRounding::Truncate && depth == 8) truncate_to_8bit_levels(rgb.view());
    save_image(path, rgb.cview(), depth);
}

// What one stage needs besides its problem: where it saves, and how it reports.
struct StageContext {
    int index = 0;            // 0-based
    int num_stages = 1;
    int iterations = 0;
    std::string save_base;    // --save-iter names derive from it (the output, or its stage path)
    double run_seconds = 0;   // wall seconds of the stages before this one
    TraceMemory memory;       // the stage's plan, for the trace
    OutputIterate iterate = OutputIterate::Last;      // --output-iterate (preset default)
    OutputRounding rounding = OutputRounding::Round;  // --output-rounding (preset default)
};

// Runs one stage's optimisation on `engine`; returns the iterations done (fewer than asked
// when L-BFGS stops early, or when an in-process iteration hook says stop: then `halted` is set)
// and the image to write in `result`: x_N, or with --output-iterate previous x_{N-1}, the point
// the N-th iteration evaluated (neural-style-pt's saves, intermediate ones included, are one
// step behind). When L-BFGS stops at iteration k it does not step, so x is then the point
// iteration k evaluated under either rule; a halted run hands over the current x.
int run_stage(const RunOptions& o, const StageContext& sc, Engine& engine, const Preprocessor& pre,
              const ColorPlan& color, Progress& progress, Trace& trace, Tensor<float>& result, bool& halted) {
    int done = 0;
    bool stopped = false;
    RunHooks* hooks = active_run_hooks();
    // An iteration hook may stop after any iteration, so that the engine must not run ahead of
    // it: one iteration per batch then (on CUDA, one host copy of the loss per iteration).
    const int max_batch = hooks && hooks->on_iteration ? 1 : kMaxBatch;
    const bool lag = sc.iterate == OutputIterate::Previous;
    const auto is_save_point = [&](int it) {
        return it == sc.iterations || (o.save_iter > 0 && it % o.save_iter == 0);
    };
    Tensor<float> held;  // with lag: x before the iteration that ends at the next save point
    if (lag && is_save_point(1)) held = engine.current();
    // Iterations run in batches that end at print, save and ring points, so that a GPU engine
    // hands its loss values to the host only there (every iteration when --trace is on, but
    // still one copy per batch).
    while (done < sc.iterations && !stopped) {
        int next = std::min(sc.iterations, done + max_batch);
        if (o.print_iter > 0) next = std::min(next, (done / o.print_iter + 1) * o.print_iter);
        if (o.save_iter > 0) next = std::min(next, (done / o.save_iter + 1) * o.save_iter);
        // With lag the batch ends one short of a save point, where x_{point-1} is taken.
        if (lag && is_save_point(next) && next - 1 > done) next -= 1;
        engine.advance(next - done);
        const std::vector<IterationRecord> records = engine.take_records();
        TraceMemory memory = sc.memory;
        if (!o.trace.empty()) memory.peak = engine.peak_memory_bytes();
        for (const IterationRecord& r : records) {
            done = r.iter;
            if (!o.trace.empty()) trace.add(sc.index + 1, r.iter, r.terms, sc.run_seconds + r.seconds, memory);
            progress.update(r.iter, r.terms, r.seconds);
            if (hooks) {
                hooks->final_terms = r.terms;
                if (hooks->on_iteration &&
                    !hooks->on_iteration(IterationEvent{sc.index, r.iter, r.terms, sc.run_seconds + r.seconds})) {
                    halted = stopped = true;
                    break;
                }
            }
            if (r.stopped) {
                if (!o.quiet)
                    std::fprintf(stderr,
                                 "nst: L-BFGS stopped at iteration %d (torch's stopping rule: a tolerance met, or no "
                                 "descent direction)\n",
                                 r.iter);
                stopped = true;
                break;
            }
        }
        if (const int sig = interrupt_signal())
            throw_runtime(std::string("interrupted by ") + (sig == SIGINT ? "SIGINT" : "SIGTERM") + " at iteration " +
                          std::to_string(done) + " of " + std::to_string(sc.iterations) +
                          (sc.num_stages > 1 ? " in stage " + std::to_string(sc.index + 1) + " of " +
                                                   std::to_string(sc.num_stages) + "; completed stages are kept"
                                             : "") +
                          "; nothing else was written");
        if (!stopped && o.save_iter > 0 && done % o.save_iter == 0 && done != sc.iterations)
            save_result(iteration_path(sc.save_base, done), lag ? held.clone() : engine.current(), pre,
                        o.output_depth, color, sc.rounding);
        if (lag && !stopped && done < sc.iterations && is_save_point(done + 1)) held = engine.current();
    }
    result = lag && !stopped && !held.empty() ? std::move(held) : engine.current();
    return done;
}

void run(RunOptions& o) {
    RunHooks* hooks = active_run_hooks();
    // In-process with a result hook and no --output, the result is handed over, not written.
    if (hooks && hooks->on_result && o.o_output->count() == 0) o.output.clear();
    const bool write_output = !o.output.empty();
    // Option values first (exit 2), then files (exit 3), then the device (exit 4).
    if (write_output) validate_output_path(o.output, o.output_depth);
    if (!write_output && o.save_iter > 0) throw_usage("--save-iter: needs --output (its files are named after it)");
    const std::vector<Stage> stages =
        parse_stages(o.scales, o.num_iterations, o.problem.image_size, o.o_image_size->count() > 0);
    const int num_stages = int(stages.size());
    if (num_stages > 1 && o.problem.content.size() >= 4 &&
        o.problem.content.compare(o.problem.content.size() - 4, 4, ".npy") == 0)
        throw_usage("--scales: the content '" + o.problem.content +
                    "' is a .npy tensor, which has one fixed size; give an image file");
    const OptimizerKind optimizer = parse_optimizer(o.optimizer);
    if (o.o_learning_rate->count() == 0) o.learning_rate = optimizer == OptimizerKind::Lbfgs ? 1.0 : 10.0;
    if (!(o.learning_rate > 0) || !std::isfinite(o.learning_rate))
        throw_usage("--learning-rate: must be a finite number > 0");
    if (o.lbfgs_history < 1 || o.lbfgs_history > 100000) throw_usage("--lbfgs-history: must be in 1..100000");
    const HistoryPrecision history_precision = parse_history_precision(o.lbfgs_history_precision);
    if (optimizer != OptimizerKind::Lbfgs && o.o_history_precision->count() > 0)
        throw_usage("--lbfgs-history-precision: applies to --optimizer lbfgs only");
    if (o.print_iter < 0) throw_usage("--print-iter: must be >= 0");
    if (o.save_iter < 0) throw_usage("--save-iter: must be >= 0");
    if (o.init.empty()) throw_usage("--init: expected random, content, style or a path");
    if (o.cuda_graph != "on" && o.cuda_graph != "off") throw_usage("--cuda-graph: expected on or off");
    CudaOptions cuda;
    cuda.graph = o.cuda_graph == "on";
    parse_profile_iters(o.profile_iters, cuda);
    const MemoryPlanner planner(o.memory);
    if (write_output) {
        check_writable(o.output);
        for (int k = 1; k < num_stages; ++k) check_writable(stage_path(o.output, k));
    }
    if (!o.trace.empty()) check_writable(o.trace);

    // An iteration's cost grows with the pixels, which grow as size^2 (all stages share the
    // content's aspect ratio).
    std::vector<ProgressStage> plan;
    for (const Stage& st : stages) plan.push_back({st.iterations, double(st.size) * st.size, st.size});
    Trace trace;
    Progress progress(plan, o.print_iter, o.quiet);
    const auto start = std::chrono::steady_clock::now();
    const auto run_seconds = [&] {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    };
    int total_done = 0;
    bool random_weights = false;
    std::string weights_source;
    std::string last_kind;
    std::size_t peak = 0, predicted = 0;
    Tensor<float> previous;  // the previous stage's result, network space
    Vgg19Weights weights;    // read once, by stage 1; each later stage takes them over
    // Each stage is a whole problem at its size (stages.h): resolve_problem recomputes content,
    // style images, masks and colour controls there, and a new engine starts a fresh optimiser.
    for (int k = 0; k < num_stages; ++k) {
        ProblemOptions stage_problem = o.problem;
        stage_problem.image_size = stages[k].size;
        stage_problem.plan_only = planner.dry_run();
        std::string backend_note;
        Problem p = resolve_problem(stage_problem, backend_note, k > 0 ? &weights : nullptr);
        if (k == 0 && !backend_note.empty() && !o.quiet) std::fprintf(stderr, "nst: %s\n", backend_note.c_str());
        random_weights = p.weights.random;
        weights_source = p.weights.source;
        if (k == 0 && p.weights.random) warn_random_weights(p.weights.source);

        // The plan comes before the starting point and the engine exist, so that its baseline is
        // the resident set with the weights and images alone (the model adds the rest).
        const std::string stage_label = num_stages > 1 ? "stage " + std::to_string(k + 1) + "/" +
                                                             std::to_string(num_stages) + " (" +
                                                             std::to_string(stages[k].size) + " px): "
                                                       : "";
        const StagePlanInput plan_input{stages[k].size,          stages[k].iterations,
                                        optimizer,               o.lbfgs_history,
                                        o.o_lbfgs_history->count() > 0, history_precision,
                                        o.output_depth};
        const MemoryPlan mplan = planner.plan(o.problem, p, plan_input, o.problem.gpu, stage_label, k == 0);
        predicted = std::max(predicted, mplan.estimate.total());
        if (planner.dry_run()) {
            std::printf("stage %d/%d: %s", k + 1, num_stages, describe_plan(mplan).c_str());
            std::fflush(stdout);
            if (k + 1 < num_stages) weights = std::move(p.weights);
            continue;
        }
        // Said whenever the planner changed something, even under --quiet: a cut history changes
        // the result.
        if (!mplan.why.empty()) std::fprintf(stderr, "nst: %smemory: %s\n", stage_label.c_str(), mplan.why.c_str());

        p.spec.init = k == 0 ? make_init(o, p) : upsample_init(previous, p);
        p.spec.optimizer = optimizer;
        p.spec.learning_rate = o.learning_rate;
        p.spec.lbfgs_history = mplan.lbfgs_history;
        p.spec.lbfgs_history_precision = history_precision;
        p.spec.lbfgs_tol_grad = p.preset.tol_grad;
        p.spec.lbfgs_tol_change = p.preset.tol_change;
        if (optimizer != OptimizerKind::Lbfgs && (p.preset.tol_grad >= 0 || p.preset.tol_change >= 0) &&
            (o.problem.conventions.o_tol_grad->count() || o.problem.conventions.o_tol_change->count()))
            throw_usage("--tol-grad / --tol-change: apply to --optimizer lbfgs only");
        p.spec.tile_rows = mplan.tile_rows;
        CudaOptions stage_cuda = cuda;
        stage_cuda.precision = p.spec.cuda.precision;
        stage_cuda.gram_impl = p.spec.cuda.gram_impl;
        p.spec.cuda = stage_cuda;
        const Shape shape = p.spec.content.shape();
        const Preprocessor pre = p.pre;
        const ColorPlan& color = p.color;  // p outlives the engine
        std::unique_ptr<Engine> engine = make_engine(p.backend, p.weights, std::move(p.spec), o.problem.gpu);
        if (!o.quiet) {
            const std::string label = num_stages > 1 ? "stage " + std::to_string(k + 1) + "/" +
                                                           std::to_string(num_stages) + ": "
                                                     : "";
            std::fprintf(stderr, "nst: %s%dx%d, %d iterations of %s on %s\n", label.c_str(), shape.w, shape.h,
                         stages[k].iterations, o.optimizer.c_str(), engine->device_description().c_str());
        }
        progress.begin_stage(k, run_seconds());

        StageContext sc;
        sc.index = k;
        sc.num_stages = num_stages;
        sc.iterations = stages[k].iterations;
        sc.save_base = num_stages > 1 ? stage_path(o.output, k + 1) : o.output;
        sc.run_seconds = run_seconds();
        sc.memory = TraceMemory{mplan.estimate.total(), mplan.tile_rows, mplan.lbfgs_history, 0,
                                optimizer == OptimizerKind::Lbfgs ? history_precision_name(history_precision) : ""};
        sc.iterate = p.preset.output_iterate;
        sc.rounding = p.preset.output_rounding;
        Tensor<float> result;
        bool halted = false;
        total_done += run_stage(o, sc, *engine, pre, color, progress, trace, result, halted);
        // A run stopped by its iteration hook ends here, its result saved as the final one.
        const bool last = k + 1 == num_stages || halted;
        const std::string path = last ? o.output : stage_path(o.output, k + 1);
        // A finished stage is on disk before the next begins, so a later failure keeps it.
        if (write_output) save_result(path, result, pre, o.output_depth, color, sc.rounding);
        if (last && hooks && hooks->on_result) hooks->on_result(output_rgb(result, pre, color));
        peak = std::max(peak, engine->peak_memory_bytes());
        last_kind = engine->peak_memory_kind();
        if (last) break;
        previous = std::move(result);
        if (!o.quiet && write_output)
            std::fprintf(stderr, "nst: wrote %s (stage %d/%d)\n", path.c_str(), k + 1, num_stages);
        engine.reset();  // the engines keep their own copies of the weights
        weights = std::move(p.weights);
    }
    if (planner.dry_run()) return;  // nothing ran, nothing was written
    if (hooks) hooks->iterations_done = total_done;
    progress.finish(total_done, run_seconds());
    if (!o.trace.empty()) trace.write(o.trace);
    if (!o.quiet)
        std::fprintf(stderr, "nst: %s; peak %s memory %.0f MiB (predicted %.0f MiB)\n",
                     write_output ? ("wrote " + o.output).c_str() : "result handed over", last_kind.c_str(),
                     double(peak) / (1 << 20), double(predicted) / (1 << 20));
    if (random_weights) warn_random_weights(weights_source);
}

}  // namespace

void warn_random_weights(const std::string& source) {
    // random16[:SEED] makes VGG16 weights, random[:SEED] VGG19's (nn/weights.h).
    const char* net = source.rfind("random16", 0) == 0 ? "VGG16" : "VGG19";
    std::fprintf(stderr,
                 "nst: warning: using random %s weights (%s), not the pretrained network; results are not "
                 "those of the paper (see weights/README.md)\n",
                 net, source.c_str());
}

Command add_run_command(CLI::App& app) {
    auto o = std::make_shared<RunOptions>();
    CLI::App* sub = app.add_subcommand("run", "style transfer: optimise an image to match content and style");
    o->problem.add_to(*sub);
    o->problem.color.add_run_options(*sub);
    o->problem.conventions.add_run_options(*sub);
    o->memory.add_to(*sub);
    o->o_output =
        sub->add_option("--output", o->output, ".png, .jpg or .npy (raw optimised tensor)")->capture_default_str();
    sub->add_option("--output-depth", o->output_depth, "bits per PNG sample: 8 or 16")->capture_default_str();
    sub->add_option("--init", o->init, "random, content, style, or an image/.npy path")->capture_default_str();
    sub->add_option("--optimizer", o->optimizer, "lbfgs or adam")->capture_default_str();
    o->o_learning_rate = sub->add_option("--learning-rate", o->learning_rate, "step size (default 1 for lbfgs, 10 for adam)");
    o->o_lbfgs_history = sub->add_option("--lbfgs-history", o->lbfgs_history,
                                         "number of (s, y) pairs kept (the memory planner may lower the default)")
                             ->capture_default_str();
    o->o_history_precision =
        sub->add_option("--lbfgs-history-precision", o->lbfgs_history_precision,
                        "storage of the (s, y) pairs: fp32 or bf16 (half the history's memory; changes the iterates)")
            ->capture_default_str();
    o->o_image_size = sub->get_option("--image-size");
    sub->add_option("--scales", o->scales,
                    "coarse-to-fine: stage sizes S1,S2,... (increasing) or START:FACTOR:END; replaces --image-size");
    sub->add_option("--num-iterations", o->num_iterations,
                    "iterations (= objective evaluations): one count, or one per --scales stage")
        ->capture_default_str();
    sub->add_option("--seed", o->seed, "seed of the random init; same seed, inputs, backend = same output")
        ->capture_default_str();
    sub->add_option("--print-iter", o->print_iter, "progress line every N iterations (0 = never)")->capture_default_str();
    sub->add_option("--save-iter", o->save_iter, "save <output>_<iter> every N iterations (0 = never)")
        ->capture_default_str();
    sub->add_option("--trace", o->trace, "JSON Lines file: one object per iteration");
    sub->add_flag("--quiet", o->quiet, "no progress output");
    sub->add_option("--cuda-graph", o->cuda_graph,
                    "cuda: replay each iteration as one CUDA graph (off: eager launches, per-layer NVTX ranges)")
        ->capture_default_str();
    sub->add_option("--profile-iters", o->profile_iters,
                    "cuda: FIRST:COUNT iterations bracketed by cudaProfilerStart/Stop (Nsight capture range)");
    return [o] { run(*o); };
}

}  // namespace nst::cli
