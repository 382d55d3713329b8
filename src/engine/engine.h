// SPDX-License-Identifier: MIT
// Engine: one style-transfer problem resident on one backend. The CLI drives it one iteration
// at a time and sees only host tensors and loss terms, so the CPU and CUDA backends plug in
// behind the same interface (make_engine). One iteration = one objective evaluation followed by
// one optimiser step, as in torch.optim.LBFGS with max_iter = --num-iterations.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "loss/objective.h"
#include "nn/vgg19_layers.h"
#include "nn/weights.h"

namespace nst {

enum class Backend { Auto, Cpu, Cuda };
enum class OptimizerKind { Lbfgs, Adam };

Backend parse_backend(const std::string& name);        // usage error for unknown names
OptimizerKind parse_optimizer(const std::string& name);
const char* backend_name(Backend b);

struct ProblemSpec {
    Tensor<float> content;                 // (1, 3, H, W) in network space
    std::vector<Tensor<float>> styles;     // each (1, 3, h_i, w_i) in network space
    std::vector<double> style_blend;       // one per style image (normalised by the objective)
    Tensor<float> init;                    // (1, 3, H, W) the starting point x0
    LossSpec loss;
    Pooling pooling = Pooling::Max;
    OptimizerKind optimizer = OptimizerKind::Lbfgs;
    double learning_rate = 1;
    int lbfgs_history = 100;
};

class Engine {
public:
    virtual ~Engine() = default;
    virtual std::string device_description() const = 0;

    // Evaluates the objective at the current x, then takes one optimiser step. Returns the terms
    // at the evaluated point. Throws a runtime error (exit 4) on a non-finite loss, before stepping.
    virtual LossTerms iterate() = 0;
    // True when L-BFGS met torch's stopping rule (g.d > 1); further iterate() calls do nothing.
    virtual bool converged() const = 0;

    // The current x, copied to the host: (1, 3, H, W).
    virtual Tensor<float> current() const = 0;

    // The objective at an arbitrary x (1, 3, H, W) without changing the optimiser state;
    // assigns grad unless it is empty.
    virtual LossTerms evaluate(ConstView<float> x, TensorView<float> grad) = 0;

    // Peak memory of the backend's own allocations in bytes (0 if not tracked).
    virtual std::size_t peak_memory_bytes() const = 0;
};

// Resolves `auto` (CUDA when usable, else CPU) and explains the choice through `note`.
Backend resolve_backend(Backend requested, int gpu, std::string& note);

std::unique_ptr<Engine> make_cpu_engine(const Vgg19Weights& weights, ProblemSpec spec);
// Implemented by the CUDA library; the CPU-only build throws a runtime error (exit 4).
std::unique_ptr<Engine> make_cuda_engine(const Vgg19Weights& weights, ProblemSpec spec, int gpu);
// Number of usable CUDA devices (0 without CUDA).
int cuda_device_count();

inline std::unique_ptr<Engine> make_engine(Backend backend, const Vgg19Weights& weights, ProblemSpec spec,
                                           int gpu) {
    return backend == Backend::Cuda ? make_cuda_engine(weights, std::move(spec), gpu)
                                    : make_cpu_engine(weights, std::move(spec));
}

}  // namespace nst
