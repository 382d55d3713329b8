// SPDX-License-Identifier: MIT
// The CPU backend's Engine: Vgg19Net<float> + Objective<float> + L-BFGS or Adam on host vectors.
#include <chrono>
#include <cmath>
#include <sys/resource.h>

#include "core/error.h"
#include "core/interrupt.h"
#include "engine/engine.h"
#include "optim/adam.h"
#include "optim/lbfgs.h"

namespace nst {

namespace {

// The CPU backend computes in fp32 only; the CUDA-only settings must be at their defaults.
ProblemSpec check_cpu(ProblemSpec spec) {
    check_temporal(spec);
    if (spec.cuda.precision != Precision::Fp32)
        throw_usage(std::string("--precision ") + precision_name(spec.cuda.precision) +
                    ": only the cuda backend has reduced-precision convolutions (the cpu backend is fp32)");
    return spec;
}

class CpuEngine final : public Engine {
public:
    CpuEngine(const Vgg19Weights& weights, ProblemSpec spec)
        : m_spec(check_cpu(std::move(spec))),
          m_net(weights, m_spec.pooling),
          m_objective(m_net, m_spec.loss),
          m_preprocess(weights.preprocess) {
        // Before the targets, so that they are made strip by strip too (engine/memory_plan.h).
        m_objective.set_tile_rows(m_spec.tile_rows);
        std::vector<ConstView<float>> content_masks;
        for (const auto& m : m_spec.content_masks) content_masks.push_back(m.cview());
        m_objective.set_content_masks(content_masks);
        m_objective.set_edit_mask(m_spec.edit_mask.cview());
        set_targets(true);
        start();
    }

    void next_frame(FrameUpdate update) override {
        const bool styles = !update.styles.empty();
        apply_frame_update(m_spec, update);
        set_targets(styles);
        start();
    }

    std::string device_description() const override { return "cpu"; }

    void advance(int count) override {
        // An interrupt ends the batch early; the caller sees fewer records and stops (cmd_run).
        for (int i = 0; i < count && !interrupt_signal(); ++i) {
            if (m_iter == 0) m_start = std::chrono::steady_clock::now();
            IterationRecord rec;
            // --clamp-iterate: the optimiser keeps the clamped x (torch's in-place clamp_).
            if (m_spec.iterate.clamp) clamp_to_box(m_spec.iterate.box, m_x.view());
            rec.terms = evaluate_at(m_x.cview(), m_g.view());
            rec.iter = ++m_iter;
            if (!std::isfinite(rec.terms.total))
                throw_runtime("non-finite loss at iteration " + std::to_string(m_iter) +
                              "; lower --learning-rate or the loss weights");
            if (!m_converged) {
                if (m_lbfgs)
                    rec.stopped = m_converged = !m_lbfgs->step(m_x.data(), m_g.data(), rec.terms.total);
                else
                    m_adam->step(m_x.data(), m_g.data());
            }
            rec.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - m_start).count();
            m_records.push_back(std::move(rec));
        }
    }

    std::vector<IterationRecord> take_records() override {
        std::vector<IterationRecord> out;
        out.swap(m_records);
        return out;
    }

    bool converged() const override { return m_converged; }

    Tensor<float> current() const override { return m_x.clone(); }

    LossTerms evaluate(ConstView<float> x, TensorView<float> grad) override { return evaluate_at(x, grad); }

    std::size_t peak_memory_bytes() const override {
        struct rusage usage {};
        getrusage(RUSAGE_SELF, &usage);
        return std::size_t(usage.ru_maxrss) * 1024;  // Linux reports KiB
    }
    const char* peak_memory_kind() const override { return "resident"; }

private:
    // The objective at iterate x (1, 3, H, W); grad (same shape) is assigned unless empty. In
    // image space the objective sees map(x) and its gradient goes back through the transpose.
    LossTerms evaluate_at(ConstView<float> x, TensorView<float> grad) {
        const IterateSpace& space = m_spec.iterate;
        if (!space.image) return m_objective.evaluate(x, grad);
        m_net_x.ensure(x.shape);
        apply_channel_map(space.map, m_net_x.view(), x);
        if (grad.empty()) return m_objective.evaluate(m_net_x.cview(), grad);
        m_net_g.ensure(x.shape);
        const LossTerms terms = m_objective.evaluate(m_net_x.cview(), m_net_g.view());
        apply_channel_map_transpose(space.map, grad, m_net_g.cview());
        return terms;
    }

    // The targets of m_spec: content, temporal and (styles) the style Grams, all given to the
    // objective as network input (image-space images mapped).
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
        // The targets exist: free buffers sized for a style image larger than the content (the
        // first evaluation allocates them again at the content's size).
        m_net.release();
    }

    // A fresh optimiser at x0 = m_spec.init: iteration 1, no history.
    void start() {
        m_x = m_spec.init.clone();
        m_g = Tensor<float>(m_x.shape());
        m_lbfgs.reset();
        m_adam.reset();
        if (m_spec.optimizer == OptimizerKind::Lbfgs)
            m_lbfgs = std::make_unique<cpu::Lbfgs<float>>(m_x.numel(),
                                                          cpu::LbfgsOptions{m_spec.learning_rate, m_spec.lbfgs_history,
                                                                            m_spec.lbfgs_history_precision,
                                                                            m_spec.lbfgs_tol_grad, m_spec.lbfgs_tol_change});
        else
            m_adam = std::make_unique<cpu::Adam<float>>(m_x.numel(), cpu::AdamOptions{m_spec.learning_rate});
        m_iter = 0;
        m_converged = false;
        m_records.clear();
    }

    ProblemSpec m_spec;
    cpu::Vgg19Net<float> m_net;
    cpu::Objective<float> m_objective;
    PreprocessKind m_preprocess;
    Tensor<float> m_x, m_g;
    Tensor<float> m_net_x, m_net_g;  // image space: map(x) and the objective's gradient there
    std::unique_ptr<cpu::Lbfgs<float>> m_lbfgs;
    std::unique_ptr<cpu::Adam<float>> m_adam;
    int m_iter = 0;
    bool m_converged = false;
    std::chrono::steady_clock::time_point m_start;
    std::vector<IterationRecord> m_records;
};

}  // namespace

std::unique_ptr<Engine> make_cpu_engine(const Vgg19Weights& weights, ProblemSpec spec) {
    return std::make_unique<CpuEngine>(weights, std::move(spec));
}

}  // namespace nst
