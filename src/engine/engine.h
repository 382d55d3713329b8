// SPDX-License-Identifier: MIT
// Engine: one style-transfer problem resident on one backend. The CLI drives it one iteration
// at a time and sees only host tensors and loss terms, so the CPU and CUDA backends plug in
// behind the same interface (make_engine). One iteration = one objective evaluation followed by
// one optimiser step, as in torch.optim.LBFGS with max_iter = --num-iterations.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/tensor.h"
#include "engine/iterate_space.h"
#include "loss/objective.h"
#include "nn/vgg19_layers.h"
#include "nn/weights.h"
#include "optim/lbfgs.h"

namespace nst {

enum class Backend { Auto, Cpu, Cuda };
enum class OptimizerKind { Lbfgs, Adam };
// Arithmetic of the convolutions (CUDA only; losses, Gram accumulation and the optimiser are
// always fp32 with double sums). fp32 disables TF32 so that results match the CPU oracle.
enum class Precision { Fp32, Tf32, Bf16 };
// How the CUDA backend computes Gram matrices: our kernel (kernels/gram.h), or cuBLAS SSYRK or
// SGEMM (the baseline profilers compare against; guided Grams copy F o T first).
enum class GramImpl { Own, CublasSyrk, CublasGemm };

Backend parse_backend(const std::string& name);        // usage error for unknown names
OptimizerKind parse_optimizer(const std::string& name);
Precision parse_precision(const std::string& name);
GramImpl parse_gram_impl(const std::string& name);     // own, cublas-syrk, cublas-gemm
const char* backend_name(Backend b);
const char* precision_name(Precision p);
const char* gram_impl_name(GramImpl g);

// Settings that only the CUDA backend reads (the CPU engine rejects a non-fp32 precision).
struct CudaOptions {
    Precision precision = Precision::Fp32;
    GramImpl gram_impl = GramImpl::Own;
    bool graph = true;                 // capture one iteration as a CUDA graph and replay it
    int profile_first = 0;             // cudaProfilerStart before this iteration (0 = never) ...
    int profile_count = 0;             // ... and cudaProfilerStop after this many iterations
    std::size_t workspace_limit = std::size_t(128) << 20;  // cuDNN workspace per convolution, bytes
                                                           // (keeps 512² with 100 pairs under 1.5 GiB)
};

// One previous stylised frame's constraint on the frame being optimised (video, issue #14).
struct TemporalFrame {
    Tensor<float> warped;  // (1, 3, H, W) the previous result warped into this frame, network space
    Tensor<float> weight;  // (1, 1, H, W) its consistency weight in [0, 1] (long-term rule applied)
};

struct ProblemSpec {
    Tensor<float> content;                 // (1, 3, H, W) in network space
    std::vector<Tensor<float>> styles;     // each (1, 3, h_i, w_i) in network space
    std::vector<double> style_blend;       // one per style image (normalised by the objective)
    // Perceptual controls (cpu::Objective::set_styles / set_content_masks / set_edit_mask):
    std::vector<Tensor<float>> style_masks;    // empty or one per style: (1, 1, h_i, w_i) or empty
    std::vector<Tensor<float>> content_masks;  // empty or one per style: (1, 1, H, W)
    Tensor<float> edit_mask;                   // empty or (1, 1, H, W): gradient multiplier
    Tensor<float> init;                    // (1, 3, H, W) the starting point x0
    // The iterate's space and box (engine/iterate_space.h). In image space, content, styles and
    // init above are RGB images, mapped into the network's input by the engine.
    IterateSpace iterate;
    LossSpec loss;
    // Temporal targets, nearest previous frame first; empty = no temporal term (images).
    std::vector<TemporalFrame> temporal;
    Pooling pooling = Pooling::Max;
    // The caffe scale S the images were preprocessed with (--caffe-scale or the preset's); 0 =
    // the loss convention's preset default (temporal_caffe_scale).
    double caffe_scale = 0;
    OptimizerKind optimizer = OptimizerKind::Lbfgs;
    double learning_rate = 1;
    int lbfgs_history = 100;
    // Storage of the L-BFGS (s, y) pairs (--lbfgs-history-precision; optim/lbfgs.h): bf16 halves
    // the history's memory and changes the iterates, so it is only ever the user's choice.
    HistoryPrecision lbfgs_history_precision = HistoryPrecision::Fp32;
    // torch's L-BFGS tolerances (--tol-grad, --tol-change; cpu::LbfgsOptions): -1 disables them.
    double lbfgs_tol_grad = -1;
    double lbfgs_tol_change = -1;
    // Exact tiled evaluation (loss/tiling.h): strips owning this many image rows each; 0 = the
    // untiled evaluation. Chosen by the memory planner (engine/memory_plan.h) or --tile-rows.
    int tile_rows = 0;
    CudaOptions cuda;
};

// Previous frames one temporal loss takes at most: the CUDA kernel's limit (kernels/
// temporal_loss.h), kept by the CPU engine too so that both backends accept the same problems
// (the papers use up to 3).
constexpr int kMaxTemporalFrames = 8;

// Usage errors (exit 2) for temporal targets that do not fit the problem (also: any temporal
// target with an image-space iterate, whose warped frames would be in another space): more than
// kMaxTemporalFrames, a warped frame not (1, 3, H, W) at the content's size, a weight map not
// (1, 1, H, W). Both engines call it before building their objective.
void check_temporal(const ProblemSpec& spec);
// The style images and masks of spec as both engines' objectives take them (set_styles): the
// images as network input (image-space ones mapped into `mapped`, which must outlive the views),
// the masks as given (an empty one = the whole image).
void style_views(const ProblemSpec& spec, std::vector<Tensor<float>>& mapped, std::vector<ConstView<float>>& images,
                 std::vector<ConstView<float>>& masks);
// Views of spec.temporal as the objectives take them (valid while spec lives).
std::vector<TemporalTarget<float>> temporal_targets(const ProblemSpec& spec);
// The next frame of a clip (nst video), given to the engine of the previous one (Engine::next_frame).
struct FrameUpdate {
    Tensor<float> content;                // (1, 3, H, W) network space, the problem's size
    Tensor<float> init;                   // (1, 3, H, W) the starting point x0
    std::vector<TemporalFrame> temporal;  // as ProblemSpec::temporal
    // Empty: the style targets stay (the usual case). Otherwise the frame's style images, as many
    // as the problem has: a colour control that matches the styles to each frame's content.
    std::vector<Tensor<float>> styles;
};
// Checks an update against the problem (input errors for other sizes, usage errors as
// check_temporal) and moves it into spec; both engines call it first.
void apply_frame_update(ProblemSpec& spec, FrameUpdate& update);

// The caffe scale S the problem's images were preprocessed with (the preset's: spec §4), which
// the temporal weight's unit conversion needs (temporal_channel_scales).
double temporal_caffe_scale(const ProblemSpec& spec);

// The loss terms of one iteration, as the trace and the progress lines report them.
struct IterationRecord {
    int iter = 0;          // 1-based
    LossTerms terms;       // at the point evaluated in that iteration
    double seconds = 0;    // since the engine's first iteration began, at the end of this one
    bool stopped = false;  // L-BFGS met its stopping rule here (x was not stepped)
};

class Engine {
public:
    virtual ~Engine() = default;
    virtual std::string device_description() const = 0;

    // Runs `count` more iterations; each evaluates the objective at the current x and then takes
    // one optimiser step. Once L-BFGS has met torch's stopping rule (g.d > 1) iterations still
    // evaluate but no longer step. The CUDA engine only queues the work: loss values stay on the
    // device until take_records().
    virtual void advance(int count) = 0;
    // The records of the iterations run since the last call, oldest first. Waits for queued work. Throws a runtime error
    // (exit 4) naming the iteration if a loss was non-finite; x is then the last finite point
    // (the step after a non-finite evaluation is never taken).
    virtual std::vector<IterationRecord> take_records() = 0;
    // True when L-BFGS met torch's stopping rule; valid after take_records().
    virtual bool converged() const = 0;

    // One iteration and its terms (one host round trip: for tests and tools, not the run loop).
    LossTerms iterate() {
        advance(1);
        std::vector<IterationRecord> r = take_records();
        NST_REQUIRE(!r.empty(), "Engine::iterate: no record");
        return r.back().terms;
    }

    // The current x, copied to the host: (1, 3, H, W).
    virtual Tensor<float> current() const = 0;

    // The objective at an arbitrary x (1, 3, H, W) without changing the optimiser state;
    // assigns grad unless it is empty.
    virtual LossTerms evaluate(ConstView<float> x, TensorView<float> grad) = 0;

    // Video: the next frame of a clip on this engine. The network (its packed or uploaded
    // weights), loss, masks and, unless update.styles is given, the style targets stay; the
    // content target, temporal targets and x are replaced and the optimiser starts afresh, so the
    // frame runs exactly as on a new engine made with the updated spec, without rebuilding the
    // network and redoing the style passes for every frame.
    virtual void next_frame(FrameUpdate update) = 0;

    // Peak memory in bytes: the process's peak resident set on the CPU, the peak of nst's own
    // device allocations (tensors, L-BFGS history, cuDNN workspace) on CUDA.
    virtual std::size_t peak_memory_bytes() const = 0;
    // What peak_memory_bytes() measures, for the closing line of a run.
    virtual const char* peak_memory_kind() const = 0;
};

// Resolves `auto` (CUDA when usable, else CPU) and explains the choice through `note`.
// plan_only (`nst run --dry-run`): a CUDA build may plan for a CUDA device this machine does not
// have (a cluster's GPU), so `--backend cuda` is accepted without one; nothing runs.
Backend resolve_backend(Backend requested, int gpu, std::string& note, bool plan_only = false);

std::unique_ptr<Engine> make_cpu_engine(const Vgg19Weights& weights, ProblemSpec spec);
// Implemented by the CUDA library; the CPU-only build throws a runtime error (exit 4).
std::unique_ptr<Engine> make_cuda_engine(const Vgg19Weights& weights, ProblemSpec spec, int gpu);
// Number of usable CUDA devices (0 without CUDA).
int cuda_device_count();

// For the memory planner (CUDA build: src/cuda/memory_plan_cuda.cpp; CPU-only build: 0 / false).
// The predicted peak of nst's own device allocations (what the CUDA engine's peak_memory_bytes()
// reports) for a w-wide image of image_h rows evaluated in windows of window_h rows (== image_h:
// untiled), these style images, and L-BFGS with lbfgs_pairs pairs (0: Adam) stored in
// lbfgs_history_precision (2 bytes per history value with bf16). Counted from the
// shapes the backend allocates, the cuDNN workspace at cuda.workspace_limit; not yet checked
// against a GPU's measured peak.
std::size_t cuda_planned_bytes(const LossSpec& loss, int window_h, int w, int image_h,
                               const std::vector<Shape>& style_shapes, int lbfgs_pairs,
                               HistoryPrecision lbfgs_history_precision, const CudaOptions& cuda);
// Free and total memory of device `gpu`; false without CUDA or without that device.
bool cuda_device_memory(int gpu, std::size_t& free, std::size_t& total);

inline std::unique_ptr<Engine> make_engine(Backend backend, const Vgg19Weights& weights, ProblemSpec spec,
                                           int gpu) {
    return backend == Backend::Cuda ? make_cuda_engine(weights, std::move(spec), gpu)
                                    : make_cpu_engine(weights, std::move(spec));
}

}  // namespace nst
