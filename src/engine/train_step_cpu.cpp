// SPDX-License-Identifier: MIT
#include "engine/train_step_cpu.h"

#include <algorithm>

#include "nn/network.h"
#include "optim/adam.h"

namespace nst {

namespace {

class CpuTrainStep final : public TrainStep {
public:
    CpuTrainStep(const TrainConfig& c, cpu::VggNet<float>& loss_net)
        : m_config(c),
          m_loss(loss_net, c.loss),
          m_net(c.desc, init_params(c.desc, c.sample.seed).data()),
          m_adam(param_count(c.desc), cpu::AdamOptions{c.learning_rate}),
          m_grads(param_count(c.desc), 0.f),
          m_loss_arch(loss_net.arch()) {}

    void set_style(ConstView<float> style_rgb) { m_loss.set_style(style_rgb); }

    LossTerms evaluate(const TrainBatch& batch) override {
        const ConstView<float> x = batch.content;
        m_dy.ensure(x.shape);
        const ConstView<float> y = m_net.forward(x, true);
        NST_REQUIRE(y.shape == x.shape, "network output " + y.shape.str() + " differs from its input's shape");
        const LossTerms terms = m_loss.evaluate(y, x, m_dy.view());
        std::fill(m_grads.begin(), m_grads.end(), 0.f);
        m_net.backward(m_dy.cview(), TensorView<float>(), m_grads.data());
        return terms;
    }

    void update(double learning_rate) override {
        m_adam.set_learning_rate(learning_rate);
        m_adam.step(m_net.params(), m_grads.data());
    }

    std::vector<float> params() const override {
        return std::vector<float>(m_net.params(), m_net.params() + m_grads.size());
    }

    std::vector<float> gradient() const override { return m_grads; }

    TrainAdamState adam_state() const override {
        return TrainAdamState{m_adam.iterations(), m_adam.first_moment(), m_adam.second_moment()};
    }

    void restore(const std::vector<float>& params, const TrainAdamState& a) override {
        NST_REQUIRE(params.size() == m_grads.size() && a.m.size() == params.size() && a.v.size() == params.size(),
                    "train state of the wrong size");
        std::copy(params.begin(), params.end(), m_net.params());
        m_adam.set_state(a.step, a.m.data(), a.v.data());
    }

    std::size_t host_bytes(int threads) const override {
        const TrainConfig& c = m_config;
        const int s = c.sample.image_size;
        const Shape in{c.batch_size, c.desc.in_channels, s, s};
        const std::size_t n = m_grads.size();
        // Activations; parameters, gradients and two Adam moments; dy.
        std::size_t bytes = m_net.buffer_bytes(in, true) + 4 * n * sizeof(float) + in.numel() * sizeof(float);
        std::vector<int> taps = c.loss.content_layers;
        taps.insert(taps.end(), c.loss.style_layers.begin(), c.loss.style_layers.end());
        std::sort(taps.begin(), taps.end());
        taps.erase(std::unique(taps.begin(), taps.end()), taps.end());
        bytes += cpu::VggNet<float>::buffer_bytes(taps, s, s, m_loss_arch);
        bytes += std::size_t(std::max(threads, 1)) *
                 cpu::VggNet<float>::scratch_bytes_per_thread(taps, s, s, cpu::ConvAlgo::Auto, m_loss_arch);
        // Content targets, and the loss's per-sample input and its gradient: each at most one
        // 64-channel full-size map (relu1_2's), a bound rather than the exact layer sizes.
        bytes += (c.loss.content_layers.size() + 2) * std::size_t(64) * s * s * sizeof(float);
        return bytes;
    }

private:
    TrainConfig m_config;
    PerceptualLoss<float> m_loss;
    cpu::Network<float> m_net;
    cpu::Adam<float> m_adam;
    std::vector<float> m_grads;
    Tensor<float> m_dy;
    VggArch m_loss_arch;
};

}  // namespace

std::unique_ptr<TrainStep> make_cpu_train_step(const TrainConfig& config, cpu::VggNet<float>& loss_net,
                                               ConstView<float> style_rgb) {
    check_train_config(config);
    auto step = std::make_unique<CpuTrainStep>(config, loss_net);
    step->set_style(style_rgb);
    return step;
}

}  // namespace nst
