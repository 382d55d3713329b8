// SPDX-License-Identifier: MIT
#include "cuda/frozen_encoder_cuda.h"

#include <algorithm>

#include "core/error.h"
#include "cuda/check.h"
#include "cuda/run_state.h"
#include "engine/frozen_encoder.h"

namespace nst::cuda {

FrozenEncoder::FrozenEncoder(Context& ctx, const NetDesc& encoder, const float* host_params, std::vector<int> taps,
                             std::size_t workspace_limit)
    : m_ctx(ctx), m_taps(std::move(taps)) {
    NST_REQUIRE(!m_taps.empty() && std::is_sorted(m_taps.begin(), m_taps.end()) &&
                    std::adjacent_find(m_taps.begin(), m_taps.end()) == m_taps.end() && m_taps.front() >= 0 &&
                    m_taps.back() < int(encoder.layers.size()),
                "cuda::FrozenEncoder: taps must be ascending layer indices");
    int first = 0;
    for (int t : m_taps) {
        m_segments.push_back(std::make_unique<Network>(ctx, slice_desc(encoder, first, t),
                                                       host_params + param_offset(encoder, first), workspace_limit));
        first = t + 1;
    }
    m_out.resize(m_taps.size());
    m_grad.resize(m_taps.size());
}

void FrozenEncoder::forward(ConstView<float> x) {
    ConstView<float> in = x;
    for (std::size_t k = 0; k < m_segments.size(); ++k) {
        m_out[k] = m_segments[k]->forward(in, true);
        in = m_out[k];
    }
}

void FrozenEncoder::backward(const std::function<void(std::size_t, TensorView<float>)>& add_at_tap,
                             TensorView<float> dx) {
    const std::size_t K = m_taps.size();
    const cudaStream_t stream = m_ctx.stream();
    for (std::size_t k = K; k-- > 0;) {
        const Shape s = m_out[k].shape;
        Tensor<float>& g = m_grad[k];
        if (g.shape() != s) g = Tensor<float>(s, Device::Cuda);
        if (k + 1 == K)
            NST_CUDA_CHECK(cudaMemsetAsync(g.data(), 0, s.numel() * sizeof(float), stream));
        else
            m_segments[k + 1]->backward(m_grad[k + 1].cview(), g.view(), nullptr);  // assigns
        add_at_tap(k, g.view());
    }
    m_segments[0]->backward(m_grad[0].cview(), dx, nullptr);
}

TrainedDecoder::TrainedDecoder(Context& ctx, const NetDesc& desc, const std::vector<float>& params,
                               double learning_rate, std::size_t workspace_limit)
    : m_ctx(ctx),
      m_net(ctx, desc, params.data(), workspace_limit),
      m_n(nst::param_count(desc)),
      m_grads(m_n * sizeof(float), Device::Cuda),
      m_state(sizeof(RunState), Device::Cuda),
      m_total(sizeof(double), Device::Cuda) {
    NST_REQUIRE(params.size() == m_n, "cuda::TrainedDecoder: parameter count");
    const cudaStream_t stream = ctx.stream();
    NST_CUDA_CHECK(cudaMemsetAsync(m_state.data(), 0, sizeof(RunState), stream));  // kRunning
    NST_CUDA_CHECK(cudaMemsetAsync(m_total.data(), 0, sizeof(double), stream));
    m_adam = std::make_unique<Adam>(ctx, m_n, cpu::AdamOptions{learning_rate}, static_cast<RunState*>(m_state.data()),
                                    static_cast<const double*>(m_total.data()));
    ctx.synchronize();
}

void TrainedDecoder::zero_grads() {
    NST_CUDA_CHECK(cudaMemsetAsync(m_grads.data(), 0, m_n * sizeof(float), m_ctx.stream()));
}

void TrainedDecoder::set_total(double total) {
    NST_CUDA_CHECK(cudaMemcpyAsync(m_total.data(), &total, sizeof(double), cudaMemcpyHostToDevice, m_ctx.stream()));
    m_ctx.synchronize();  // `total` is a stack value
}

void TrainedDecoder::update(double learning_rate) {
    m_adam->set_learning_rate(learning_rate);
    m_adam->step(m_net.params(), grads());
}

std::vector<float> TrainedDecoder::params() const {
    std::vector<float> out(m_n);
    NST_CUDA_CHECK(cudaMemcpyAsync(out.data(), const_cast<Network&>(m_net).params(), m_n * sizeof(float),
                                   cudaMemcpyDeviceToHost, m_ctx.stream()));
    m_ctx.synchronize();
    return out;
}

std::vector<float> TrainedDecoder::gradient() const {
    std::vector<float> out(m_n);
    NST_CUDA_CHECK(
        cudaMemcpyAsync(out.data(), m_grads.data(), m_n * sizeof(float), cudaMemcpyDeviceToHost, m_ctx.stream()));
    m_ctx.synchronize();
    return out;
}

TrainAdamState TrainedDecoder::adam_state() const {
    return TrainAdamState{m_adam->iterations(), m_adam->first_moment(), m_adam->second_moment()};
}

void TrainedDecoder::restore(const std::vector<float>& params, const TrainAdamState& a) {
    NST_REQUIRE(params.size() == m_n && a.m.size() == m_n && a.v.size() == m_n, "train state of the wrong size");
    NST_CUDA_CHECK(cudaMemcpyAsync(m_net.params(), params.data(), m_n * sizeof(float), cudaMemcpyHostToDevice,
                                   m_ctx.stream()));
    m_adam->set_state(a.step, a.m.data(), a.v.data());  // synchronises
}

}  // namespace nst::cuda
