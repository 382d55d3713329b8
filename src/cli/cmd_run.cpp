// SPDX-License-Identifier: MIT
// `nst run`: style transfer from image files to a stylised image (spec §1).
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>

#include "cli/commands.h"
#include "cli/output_path.h"
#include "cli/problem_options.h"
#include "cli/progress.h"
#include "cli/trace.h"
#include "core/error.h"
#include "core/rng.h"
#include "io/atomic_file.h"
#include "io/npy.h"

namespace nst::cli {

namespace {

struct RunOptions {
    ProblemOptions problem;
    std::string output = "out.png";
    int output_depth = 8;
    std::string init = "random";
    std::string optimizer = "lbfgs";
    double learning_rate = 0;  // 0: the optimiser's default (1 for lbfgs, 10 for adam)
    int lbfgs_history = 100;
    int num_iterations = 1000;
    std::uint64_t seed = 0;
    int print_iter = 50;
    int save_iter = 0;
    std::string trace;
    bool quiet = false;
    CLI::Option* o_learning_rate = nullptr;
};

// The starting point x0 in network space, (1, 3, H, W) of the content's size.
Tensor<float> make_init(const RunOptions& o, const Problem& p) {
    const Shape shape = p.spec.content.shape();
    if (o.init == "content") return p.spec.content.clone();
    if (o.init == "random") {
        Tensor<float> x(shape);
        if (p.preset.random_init == RandomInit::Gaussian) {
            for (std::size_t i = 0; i < x.numel(); ++i) x[i] = float(0.001 * rng::normal(o.seed, rng::kStreamInit, i));
        } else {
            for (std::size_t i = 0; i < x.numel(); ++i) x[i] = float(rng::uniform(o.seed, rng::kStreamInit, i));
            p.pre.to_network(x.view(), x.cview());
        }
        return x;
    }
    // --init style: the first style image, resized to the content's size.
    std::string path = o.init;
    if (o.init == "style") path = o.problem.styles.front().substr(0, o.problem.styles.front().find(','));
    return load_network_image(path, p.pre, shape.h, shape.w, "--init");
}

void save_result(const std::string& path, const Tensor<float>& x, const Preprocessor& pre, int depth) {
    if (output_kind(path) == OutputKind::Npy) {
        const Shape s = x.shape();
        save_npy(path, x.data(), {s.n, s.c, s.h, s.w});
        return;
    }
    Tensor<float> rgb(x.shape());
    pre.to_image(rgb.view(), x.cview());
    save_image(path, rgb.cview(), depth);
}

void run(RunOptions& o) {
    // Option values first (exit 2), then files (exit 3), then the device (exit 4).
    validate_output_path(o.output, o.output_depth);
    const OptimizerKind optimizer = parse_optimizer(o.optimizer);
    if (o.o_learning_rate->count() == 0) o.learning_rate = optimizer == OptimizerKind::Lbfgs ? 1.0 : 10.0;
    if (!(o.learning_rate > 0) || !std::isfinite(o.learning_rate))
        throw_usage("--learning-rate: must be a finite number > 0");
    if (o.lbfgs_history < 1 || o.lbfgs_history > 100000) throw_usage("--lbfgs-history: must be in 1..100000");
    if (o.num_iterations < 0) throw_usage("--num-iterations: must be >= 0");
    if (o.print_iter < 0) throw_usage("--print-iter: must be >= 0");
    if (o.save_iter < 0) throw_usage("--save-iter: must be >= 0");
    if (o.init.empty()) throw_usage("--init: expected random, content, style or a path");
    check_writable(o.output);
    if (!o.trace.empty()) check_writable(o.trace);

    std::string backend_note;
    Problem p = resolve_problem(o.problem, backend_note);
    if (!backend_note.empty() && !o.quiet) std::fprintf(stderr, "nst: %s\n", backend_note.c_str());
    if (p.weights.random) warn_random_weights(p.weights.source);

    p.spec.init = make_init(o, p);
    p.spec.optimizer = optimizer;
    p.spec.learning_rate = o.learning_rate;
    p.spec.lbfgs_history = o.lbfgs_history;
    const Shape shape = p.spec.content.shape();
    const Preprocessor pre = p.pre;
    std::unique_ptr<Engine> engine = make_engine(p.backend, p.weights, std::move(p.spec), o.problem.gpu);
    if (!o.quiet)
        std::fprintf(stderr, "nst: %dx%d, %d iterations of %s on %s\n", shape.w, shape.h, o.num_iterations,
                     o.optimizer.c_str(), engine->device_description().c_str());

    Trace trace;
    Progress progress(o.num_iterations, o.print_iter, o.quiet);
    const auto start = std::chrono::steady_clock::now();
    int done = 0;
    for (int iter = 1; iter <= o.num_iterations; ++iter) {
        const LossTerms terms = engine->iterate();
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        done = iter;
        if (!o.trace.empty()) trace.add(iter, terms, seconds);
        progress.update(iter, terms, seconds);
        if (o.save_iter > 0 && iter % o.save_iter == 0 && iter != o.num_iterations)
            save_result(iteration_path(o.output, iter), engine->current(), pre, o.output_depth);
        if (engine->converged()) {
            if (!o.quiet) std::fprintf(stderr, "nst: L-BFGS stopped at iteration %d (no descent direction)\n", iter);
            break;
        }
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    progress.finish(done, seconds);
    save_result(o.output, engine->current(), pre, o.output_depth);
    if (!o.trace.empty()) trace.write(o.trace);
    if (!o.quiet)
        std::fprintf(stderr, "nst: wrote %s; peak memory %.0f MiB\n", o.output.c_str(),
                     double(engine->peak_memory_bytes()) / (1 << 20));
    if (p.weights.random) warn_random_weights(p.weights.source);
}

}  // namespace

void warn_random_weights(const std::string& source) {
    std::fprintf(stderr,
                 "nst: warning: using random VGG19 weights (%s), not the pretrained network; results are not "
                 "those of the paper (see weights/README.md)\n",
                 source.c_str());
}

Command add_run_command(CLI::App& app) {
    auto o = std::make_shared<RunOptions>();
    CLI::App* sub = app.add_subcommand("run", "style transfer: optimise an image to match content and style");
    o->problem.add_to(*sub);
    sub->add_option("--output", o->output, ".png, .jpg or .npy (raw optimised tensor)")->capture_default_str();
    sub->add_option("--output-depth", o->output_depth, "bits per PNG sample: 8 or 16")->capture_default_str();
    sub->add_option("--init", o->init, "random, content, style, or an image/.npy path")->capture_default_str();
    sub->add_option("--optimizer", o->optimizer, "lbfgs or adam")->capture_default_str();
    o->o_learning_rate = sub->add_option("--learning-rate", o->learning_rate, "step size (default 1 for lbfgs, 10 for adam)");
    sub->add_option("--lbfgs-history", o->lbfgs_history, "number of (s, y) pairs kept")->capture_default_str();
    sub->add_option("--num-iterations", o->num_iterations, "iterations (= objective evaluations)")->capture_default_str();
    sub->add_option("--seed", o->seed, "seed of the random init; same seed, inputs, backend = same output")
        ->capture_default_str();
    sub->add_option("--print-iter", o->print_iter, "progress line every N iterations (0 = never)")->capture_default_str();
    sub->add_option("--save-iter", o->save_iter, "save <output>_<iter> every N iterations (0 = never)")
        ->capture_default_str();
    sub->add_option("--trace", o->trace, "JSON Lines file: one object per iteration");
    sub->add_flag("--quiet", o->quiet, "no progress output");
    return [o] { run(*o); };
}

}  // namespace nst::cli
