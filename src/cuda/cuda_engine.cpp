// SPDX-License-Identifier: MIT
// The CUDA backend's Engine: cuda::Vgg19Net + cuda::Objective + a device-resident optimiser,
// one iteration queued as
//     iteration_begin -> [clamp x] -> [x mapped into the network's input] -> objective (forward,
//     losses, backward, TV, temporal) -> [gradient mapped back] -> optimiser step -> record
// (the bracketed steps only with --clamp-iterate and --iterate-space image: engine/iterate_space.h)
// on one stream. The first iteration runs eagerly (cuDNN and our kernels warm up, nothing is
// allocated any more afterwards); the same sequence is then captured once into a CUDA graph and
// replayed for every later iteration. The graph reads all changing scalars (iteration number,
// L-BFGS pair count, status) from device memory, so one capture serves the whole run.
//
// Loss values stay on the device: each iteration's terms and a device timestamp go to a ring of
// kRingCapacity rows, which the host copies back only when asked for records (print and trace
// points) or when the ring would wrap.
#include <cmath>
#include <cstdio>

#include <cuda_profiler_api.h>

#include "core/device_memory.h"
#include "core/error.h"
#include "cuda/check.h"
#include "cuda/context.h"
#include "cuda/device_stats.h"
#include "cuda/nvtx.h"
#include "cuda/objective_cuda.h"
#include "cuda/optim_cuda.h"
#include "cuda/run_state.h"
#include "cuda/vgg19_cuda.h"
#include "engine/engine.h"
#include "kernels/box.h"
#include "kernels/channel_map.h"
#include "kernels/run_state.h"
#include "kernels/temporal_loss.h"

namespace nst {

namespace {

constexpr int kRingCapacity = 256;
static_assert(kMaxTemporalFrames <= kernels::kMaxTemporalTargets, "the engines' limit is the kernel's");

// Usage errors for what the objective would refuse as internal errors.
ProblemSpec checked(ProblemSpec spec) {
    check_temporal(spec);
    return spec;
}

class CudaEngine final : public Engine {
public:
    CudaEngine(const Vgg19Weights& weights, ProblemSpec spec, int gpu)
        : m_ctx(gpu),
          m_spec(checked(std::move(spec))),
          m_net(m_ctx, weights, m_spec.pooling, m_spec.cuda.precision, m_spec.cuda.workspace_limit),
          m_objective(m_ctx, m_net, m_spec.loss, m_spec.cuda.gram_impl, m_spec.cuda.precision),
          m_preprocess(weights.preprocess) {
        cuda::reset_device_peak();
        // Before the targets, so that they are computed strip by strip too.
        m_objective.set_tile_rows(m_spec.tile_rows);
        std::vector<ConstView<float>> content_masks;
        for (const auto& s : m_spec.content_masks) content_masks.push_back(s.cview());
        m_objective.set_content_masks(content_masks);
        m_objective.set_edit_mask(m_spec.edit_mask.cview());
        set_targets(true);

        const Shape shape = m_spec.init.shape();
        m_x = Tensor<float>(shape, Device::Cuda);
        m_g = Tensor<float>(shape, Device::Cuda);
        if (m_spec.iterate.image) {
            m_net_x = Tensor<float>(shape, Device::Cuda);
            m_net_g = Tensor<float>(shape, Device::Cuda);
        }
        m_state = Buffer(sizeof(cuda::RunState), Device::Cuda);
        m_ring = Buffer(sizeof(double) * kRingCapacity * std::size_t(m_objective.num_terms() + 1), Device::Cuda);
        start();
    }

    void next_frame(FrameUpdate update) override {
        m_ctx.synchronize();  // queued iterations read the targets and x replaced below
        const bool styles = !update.styles.empty();
        apply_frame_update(m_spec, update);
        set_targets(styles);
        start();
    }

    ~CudaEngine() override {
        // Queued iterations still use the members destroyed below; do not rely on cudaFree's
        // implicit synchronisation for that. Unchecked: a destructor must not throw.
        cudaStreamSynchronize(m_ctx.stream());
        if (m_graph) cudaGraphExecDestroy(m_graph);
    }

    std::string device_description() const override {
        return "cuda:" + std::to_string(m_ctx.device()) + " " + m_ctx.name() + ", " +
               precision_name(m_spec.cuda.precision) + (m_spec.cuda.graph ? ", CUDA graph" : ", no graph") +
               (m_spec.cuda.gram_impl != GramImpl::Own ? std::string(", Gram ") + gram_impl_name(m_spec.cuda.gram_impl)
                                                       : std::string());
    }

    void advance(int count) override {
        for (int i = 0; i < count; ++i) {
            const int iter = m_launched + 1;
            if (m_spec.cuda.profile_count > 0 && iter == m_spec.cuda.profile_first) NST_CUDA_CHECK(cudaProfilerStart());
            {
                char name[32];  // on the stack: nothing on the iteration path allocates
                std::snprintf(name, sizeof name, "iteration %d", iter);
                cuda::NvtxRange range(name);
                launch_iteration();
            }
            ++m_launched;
            if (m_spec.cuda.profile_count > 0 && iter == m_spec.cuda.profile_first + m_spec.cuda.profile_count - 1) {
                m_ctx.synchronize();
                NST_CUDA_CHECK(cudaProfilerStop());
            }
            // Drain before the ring wraps over rows the host has not read.
            if (m_launched - m_drained == kRingCapacity) drain();
        }
    }

    std::vector<IterationRecord> take_records() override {
        drain();
        std::vector<IterationRecord> out;
        out.swap(m_pending);
        return out;
    }

    bool converged() const override { return m_converged; }

    // (device_memory::copy waits for queued work itself.)
    Tensor<float> current() const override {
        Tensor<float> host(m_x.shape());
        device_memory::copy(host.data(), m_x.data(), m_x.numel() * sizeof(float), false, true);
        return host;
    }

    LossTerms evaluate(ConstView<float> x, TensorView<float> grad) override {
        // The buffers (and the captured graph) are laid out for the problem's shape.
        if (x.shape != m_x.shape())
            throw_input("the image to evaluate is " + x.shape.str() + ", the problem's is " + m_x.shape().str());
        if (!grad.empty()) NST_REQUIRE(grad.shape == x.shape, "CudaEngine::evaluate: gradient shape");
        if (m_eval_x.empty()) {
            m_eval_x = Tensor<float>(x.shape, Device::Cuda);
            m_eval_g = Tensor<float>(x.shape, Device::Cuda);
        }
        device_memory::copy(m_eval_x.data(), x.data, x.numel() * sizeof(float), true, false);
        evaluate_at(m_eval_x, grad.empty() ? nullptr : &m_eval_g);
        const LossTerms terms = m_objective.terms_to_host();
        if (!grad.empty()) device_memory::copy(grad.data, m_eval_g.data(), grad.numel() * sizeof(float), false, true);
        return terms;
    }

    std::size_t peak_memory_bytes() const override { return cuda::device_bytes_peak(); }
    const char* peak_memory_kind() const override { return "device"; }

private:
    // Queues the objective at iterate x (device, (1, 3, H, W)); the gradient goes to *grad unless
    // null. In image space the objective sees map(x) and its gradient comes back transposed.
    void evaluate_at(const Tensor<float>& x, Tensor<float>* grad) {
        const IterateSpace& space = m_spec.iterate;
        if (!space.image) {
            m_objective.evaluate(x.cview(), grad ? grad->view() : TensorView<float>{});
            return;
        }
        const cudaStream_t s = m_ctx.stream();
        const kernels::ChannelAffine map = kernels::to_affine(space.map);
        const std::size_t plane = x.shape().plane();
        kernels::channel_affine(m_net_x.data(), x.data(), 1, plane, map, s);
        m_objective.evaluate(m_net_x.cview(), grad ? m_net_g.view() : TensorView<float>{});
        if (grad) kernels::channel_affine_backward(grad->data(), m_net_g.data(), 1, plane, map, s);
    }

    // The targets of m_spec: content, temporal and (styles) the style Grams, given to the
    // objective as network input (image-space images mapped on the host, as the CPU engine
    // does); then the buffers of an evaluation at the problem's size.
    void set_targets(bool styles) {
        Tensor<float> mapped;
        m_objective.set_content(as_network_input(m_spec.iterate, m_spec.content, mapped));
        if (styles) {
            std::vector<Tensor<float>> mapped_styles;
            std::vector<ConstView<float>> images, masks;
            style_views(m_spec, mapped_styles, images, masks);
            m_objective.set_styles(images, m_spec.style_blend, masks);
        }
        m_objective.set_temporal(temporal_targets(m_spec), m_preprocess, temporal_caffe_scale(m_spec));
        m_net.release();  // the targets exist: the style passes' buffers are not needed again
        m_objective.prepare(m_spec.init.shape());
    }

    // A fresh run from x0 = m_spec.init: iteration 1 (eager, then a new capture: the graph's
    // kernels hold the previous targets' pointers), new optimiser state, an empty ring.
    void start() {
        if (m_graph) {
            NST_CUDA_CHECK(cudaGraphExecDestroy(m_graph));
            m_graph = nullptr;
        }
        device_memory::copy(m_x.data(), m_spec.init.data(), m_x.numel() * sizeof(float), true, false);
        kernels::run_state_reset(state(), m_ctx.stream());
        m_lbfgs.reset();
        m_adam.reset();
        const double* total = m_objective.terms_device() + (m_objective.num_terms() - 1);
        if (m_spec.optimizer == OptimizerKind::Lbfgs)
            m_lbfgs = std::make_unique<cuda::Lbfgs>(m_ctx, m_x.numel(),
                                                    cpu::LbfgsOptions{m_spec.learning_rate, m_spec.lbfgs_history,
                                                                      m_spec.lbfgs_history_precision,
                                                                      m_spec.lbfgs_tol_grad, m_spec.lbfgs_tol_change},
                                                    state(), total);
        else
            m_adam = std::make_unique<cuda::Adam>(m_ctx, m_x.numel(), cpu::AdamOptions{m_spec.learning_rate}, state(),
                                                  total);
        m_launched = m_drained = 0;
        m_converged = false;
        m_pending.clear();
        m_ctx.synchronize();
    }

    cuda::RunState* state() { return static_cast<cuda::RunState*>(m_state.data()); }
    double* ring() { return static_cast<double*>(m_ring.data()); }

    // One iteration's kernels, in order, on the context's stream (eager or being captured).
    void enqueue_iteration() {
        const cudaStream_t s = m_ctx.stream();
        kernels::iteration_begin(state(), s);
        if (m_spec.iterate.clamp) {
            // The optimiser keeps the clamped x (torch's in-place clamp_).
            kernels::clamp_to_box(m_x.data(), 1, m_x.shape().plane(), m_spec.iterate.box, s);
        }
        evaluate_at(m_x, &m_g);
        {
            cuda::NvtxRange range("optimiser step");
            if (m_lbfgs)
                m_lbfgs->step(m_x.data(), m_g.data());
            else
                m_adam->step(m_x.data(), m_g.data());
        }
        kernels::iteration_record(state(), m_objective.terms_device(), m_objective.num_terms(), ring(), kRingCapacity,
                                  s);
    }

    void launch_iteration() {
        // Iteration 1 always runs eagerly: it is the warm-up the capture relies on.
        if (!m_spec.cuda.graph || m_launched == 0 || m_graph_failed) {
            enqueue_iteration();
            return;
        }
        if (!m_graph) capture();
        if (m_graph)
            NST_CUDA_CHECK(cudaGraphLaunch(m_graph, m_ctx.stream()));
        else
            enqueue_iteration();
    }

    // Captures enqueue_iteration() into m_graph. A library call that cannot be captured makes
    // the capture fail; the run then goes on eagerly (same kernels, same results) and says so.
    void capture() {
        const cudaStream_t s = m_ctx.stream();
        cudaGraph_t graph = nullptr;
        std::string failure;
        NST_CUDA_CHECK(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal));
        try {
            enqueue_iteration();
        } catch (const Error& e) {
            failure = e.what();
        } catch (...) {
            // Anything else propagates, but never with the stream still capturing: every later
            // call on it (synchronize, cudaFree while unwinding) would fail.
            cudaGraph_t partial = nullptr;
            cudaStreamEndCapture(s, &partial);
            if (partial) cudaGraphDestroy(partial);
            cudaGetLastError();
            throw;
        }
        const cudaError_t end = cudaStreamEndCapture(s, &graph);
        if (failure.empty() && end != cudaSuccess) failure = cudaGetErrorString(end);
        if (failure.empty()) {
            const cudaError_t inst = cudaGraphInstantiate(&m_graph, graph, 0);
            if (inst != cudaSuccess) {
                failure = cudaGetErrorString(inst);
                m_graph = nullptr;
            }
        }
        if (graph) cudaGraphDestroy(graph);
        if (!failure.empty()) {
            cudaGetLastError();
            m_graph_failed = true;
            std::fprintf(stderr, "nst: note: CUDA graph capture failed (%s); iterations run without a graph\n",
                         failure.c_str());
        }
    }

    // Copies the records of iterations m_drained+1 .. m_launched from the ring (the copies wait
    // for the queued iterations).
    void drain() {
        if (m_launched == m_drained) return;
        const int nt = m_objective.num_terms();
        const std::size_t row = std::size_t(nt + 1);
        std::vector<double> rows(std::size_t(kRingCapacity) * row);
        device_memory::copy(rows.data(), m_ring.data(), rows.size() * sizeof(double), false, true);
        cuda::RunState st{};
        device_memory::copy(&st, m_state.data(), sizeof st, false, true);
        for (int iter = m_drained + 1; iter <= m_launched; ++iter) {
            const double* r = rows.data() + std::size_t((iter - 1) % kRingCapacity) * row;
            IterationRecord rec;
            rec.iter = iter;
            rec.terms = m_objective.unpack(r);
            rec.seconds = r[nt];
            rec.stopped = st.status == cuda::kStopped && st.status_iter == iter;
            m_drained = iter;
            if (!std::isfinite(rec.terms.total))
                throw_runtime("non-finite loss at iteration " + std::to_string(iter) +
                              "; lower --learning-rate or the loss weights");
            m_pending.push_back(std::move(rec));
        }
        if (st.status == cuda::kStopped) m_converged = true;
    }

    cuda::Context m_ctx;
    ProblemSpec m_spec;
    cuda::Vgg19Net m_net;
    cuda::Objective m_objective;
    PreprocessKind m_preprocess;
    Tensor<float> m_x, m_g;            // (1, 3, H, W) device: the variable and its gradient
    Tensor<float> m_eval_x, m_eval_g;  // (1, 3, H, W) device: evaluate()'s own point
    Tensor<float> m_net_x, m_net_g;    // (1, 3, H, W) device, image space only: map(x), its gradient
    Buffer m_state, m_ring;            // cuda::RunState; kRingCapacity rows of terms + seconds
    std::unique_ptr<cuda::Lbfgs> m_lbfgs;
    std::unique_ptr<cuda::Adam> m_adam;
    cudaGraphExec_t m_graph = nullptr;
    bool m_graph_failed = false;
    int m_launched = 0, m_drained = 0;
    bool m_converged = false;
    std::vector<IterationRecord> m_pending;
};

}  // namespace

std::unique_ptr<Engine> make_cuda_engine(const Vgg19Weights& weights, ProblemSpec spec, int gpu) {
    return std::make_unique<CudaEngine>(weights, std::move(spec), gpu);
}

}  // namespace nst
