// SPDX-License-Identifier: MIT
// The decoder-training machinery on the GPU, the twin of engine/frozen_encoder.h: the frozen
// encoder as cuda::Network segments that end at tap layers (no parameter gradients, only the
// input's), and the trained decoder with its device gradient and cuda::Adam.
//
// Backward differs from the CPU twin in one respect, for want of an add kernel: instead of
// taking the taps' gradients as arrays, it hands each tap's gradient buffer (zeroed at the last
// tap, the segment above's gradient at the others) to a callback that adds the loss's own, as
// cuda::VggNet's backward does for the perceptual loss.
#pragma once
#include <cstddef>
#include <functional>
#include <memory>
#include <vector>

#include "core/buffer.h"
#include "core/tensor.h"
#include "cuda/context.h"
#include "cuda/network_cuda.h"
#include "cuda/optim_cuda.h"
#include "engine/train_step.h"
#include "nn/net_desc.h"

namespace nst::cuda {

class FrozenEncoder {
public:
    // As nst::FrozenEncoder: host params (param_count(encoder)), ascending taps.
    FrozenEncoder(Context& ctx, const NetDesc& encoder, const float* host_params, std::vector<int> taps,
                  std::size_t workspace_limit);

    std::size_t taps() const { return m_taps.size(); }
    // x: device (N, in_channels, H, W). Always kept for backward: one plan per shape, so that
    // the style, content and output passes of a step reuse the same buffers.
    void forward(ConstView<float> x);
    ConstView<float> tap(std::size_t k) const { return m_out[k]; }  // device

    // add_at_tap(k, g) for k = K-1 .. 0, g the device gradient at tap k (tap(k)'s shape) to add
    // into; then assigns dx (device, the last forward's x shape).
    void backward(const std::function<void(std::size_t, TensorView<float>)>& add_at_tap, TensorView<float> dx);

private:
    Context& m_ctx;
    std::vector<int> m_taps;
    std::vector<std::unique_ptr<Network>> m_segments;
    std::vector<ConstView<float>> m_out;
    std::vector<Tensor<float>> m_grad;  // device, per tap
};

class TrainedDecoder {
public:
    TrainedDecoder(Context& ctx, const NetDesc& desc, const std::vector<float>& params, double learning_rate,
                   std::size_t workspace_limit);

    Network& net() { return m_net; }
    float* grads() { return static_cast<float*>(m_grads.data()); }  // device
    void zero_grads();
    // Adam refuses a non-finite total (cuda/optim_cuda.h): the step's total, uploaded before update.
    void set_total(double total);

    void update(double learning_rate);
    std::vector<float> params() const;
    std::vector<float> gradient() const;
    TrainAdamState adam_state() const;
    void restore(const std::vector<float>& params, const TrainAdamState& adam);
    std::size_t param_count() const { return m_n; }

private:
    Context& m_ctx;
    Network m_net;
    std::size_t m_n;
    Buffer m_grads, m_state, m_total;
    std::unique_ptr<Adam> m_adam;
};

}  // namespace nst::cuda
