// SPDX-License-Identifier: MIT
// `nst eval`: the objective and its gradient at one image, as JSON on stdout (spec §1).
#include <cstdio>

#include "cli/commands.h"
#include "cli/in_process.h"
#include "cli/problem_options.h"
#include "cli/trace.h"
#include "core/error.h"
#include "io/atomic_file.h"
#include "io/npy.h"

namespace nst::cli {

namespace {

struct EvalOptions {
    ProblemOptions problem;
    std::string image;
    std::string grad_out;
};

std::string terms_json(const LossSpec& spec, const LossTerms& t) {
    auto group = [](const std::vector<int>& layers, const std::vector<double>& values) {
        std::string s = "{";
        for (std::size_t i = 0; i < layers.size(); ++i)
            s += (i ? ", \"" : "\"") + vgg19_layers()[layers[i]].name + "\": " + json_number(values[i]);
        return s + "}";
    };
    return "{\"content\": " + group(spec.content_layers, t.content) + ", \"style\": " +
           group(spec.style_layers, t.style) + ", \"tv\": " + json_number(t.tv) + ", \"total\": " +
           json_number(t.total) + "}";
}

void eval(const EvalOptions& o) {
    if (!o.grad_out.empty()) {
        if (o.grad_out.size() < 4 || o.grad_out.compare(o.grad_out.size() - 4, 4, ".npy") != 0)
            throw_usage("--grad-out '" + o.grad_out + "': must end in .npy");
        check_writable(o.grad_out);
    }
    std::string backend_note;
    Problem p = resolve_problem(o.problem, backend_note);
    if (!backend_note.empty()) std::fprintf(stderr, "nst: %s\n", backend_note.c_str());
    if (p.weights.random) warn_random_weights(p.weights.source);
    const Shape shape = p.spec.content.shape();
    Tensor<float> x = load_network_image(o.image, p.pre, shape.h, shape.w, "--image", image_reading(p.preset));
    p.spec.init = x.clone();
    p.spec.lbfgs_history = 1;  // the optimiser is not used; keep its memory small
    const LossSpec loss = p.spec.loss;
    std::unique_ptr<Engine> engine = make_engine(p.backend, p.weights, std::move(p.spec), o.problem.gpu);
    RunHooks* hooks = active_run_hooks();
    const bool hand_over = hooks && hooks->on_evaluate;
    Tensor<float> grad;
    if (!o.grad_out.empty() || hand_over) grad = Tensor<float>(shape);
    const LossTerms terms = engine->evaluate(x.cview(), grad.view());
    if (!o.grad_out.empty()) save_npy(o.grad_out, grad.data(), {shape.n, shape.c, shape.h, shape.w});
    if (hand_over) {
        hooks->final_terms = terms;
        hooks->on_evaluate(loss, terms, grad);
        return;
    }
    std::printf("%s\n", terms_json(loss, terms).c_str());
}

}  // namespace

Command add_eval_command(CLI::App& app) {
    auto o = std::make_shared<EvalOptions>();
    CLI::App* sub = app.add_subcommand("eval", "print the objective's terms at one image as JSON; optionally its gradient");
    o->problem.add_to(*sub);
    sub->add_option("--image", o->image, "the point x: an image (resized to the content size) or a .npy")->required();
    sub->add_option("--grad-out", o->grad_out, "write d total / d x as float32 .npy (1, 3, H, W)");
    return [o] { eval(*o); };
}

}  // namespace nst::cli
