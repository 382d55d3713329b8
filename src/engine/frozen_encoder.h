// SPDX-License-Identifier: MIT
// The machinery of the decoder-training methods (`nst train --method adain`, and any method that
// trains a decoder behind a fixed encoder): the encoder run in segments that end at tap layers,
// so that the loss reads features in the middle and adds gradients there on the way down, and
// the trained decoder with its gradient and Adam state behind the TrainStep calls.
//
// The encoder is frozen: its parameters never get a gradient (cpu::Network::backward with no
// parameter array), only its input does, which is what reaches the decoder's output. Splitting
// it at the taps is exact: a sequential NetDesc cut after layer k is two NetDescs whose
// parameters are two consecutive ranges of the flat vector (nn/net_desc.h's layout).
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/tensor.h"
#include "engine/train_step.h"
#include "nn/net_desc.h"
#include "nn/net_model.h"
#include "nn/network.h"
#include "optim/adam.h"

namespace nst {

// `--encoder random[:SEED]` of the decoder-training methods: init_params(desc, seed) with every
// value times 2.5 in float (torch's default init has a variance of 1 / (3 fan_in); 2.5^2 / 3 is
// about He's 2 / fan_in, so that the features do not vanish by relu4_1), nst.io rgb01. Not a
// trained network: for tests and timing. tools/ref_adain_train.py builds its encoder the same way.
NetModel random_frozen_encoder(const NetDesc& desc, std::uint64_t seed);

// Layers [first, last] of a sequential description (no Add layers), arch "<arch>[first:last]".
NetDesc slice_desc(const NetDesc& desc, int first, int last);
// The offset of layer `first`'s first parameter in param_layout(desc) (param_count if none).
std::size_t param_offset(const NetDesc& desc, int first);

template <typename T>
class FrozenEncoder {
public:
    // params: param_count(encoder) floats. taps: ascending layer indices of `encoder`; the
    // encoder runs up to the last one (layers beyond it are never run).
    FrozenEncoder(const NetDesc& encoder, const float* params, std::vector<int> taps);

    const std::vector<int>& taps() const { return m_taps; }

    // x: (N, in_channels, H, W). for_backward keeps what backward() needs.
    void forward(ConstView<T> x, bool for_backward);
    // The output of taps()[k] of the last forward (N, C_k, h_k, w_k), valid until the next one.
    ConstView<T> tap(std::size_t k) const { return m_out[k]; }

    // Host bytes of a forward for backward of this input shape and backward: every segment's
    // activations and the gradients at the taps.
    std::size_t buffer_bytes(Shape input) const;

    // dtaps[k]: the loss's gradient at tap k (an empty view: none), the same shape as tap(k).
    // Walks down from the last tap, adding each tap's gradient where the walk reaches it, and
    // assigns dx (the input's gradient, shape of the last forward's x). dtaps are not changed.
    void backward(const std::vector<ConstView<T>>& dtaps, TensorView<T> dx);

private:
    std::vector<int> m_taps;
    std::vector<cpu::Network<T>> m_segments;  // segment k: layers (taps[k-1], taps[k]]
    std::vector<ConstView<T>> m_out;          // per tap
    std::vector<Tensor<T>> m_grad;            // per tap: the gradient reaching it from above
};

// The trained decoder: its network, the parameters' gradient and Adam, doing what every
// decoder step's params()/adam_state()/restore()/update() do.
template <typename T>
class TrainedDecoder {
public:
    // Starts from `params` (init_params(desc, seed) for a fresh run).
    TrainedDecoder(const NetDesc& desc, const std::vector<float>& params, double learning_rate);

    cpu::Network<T>& net() { return m_net; }
    // The gradient array backward() adds into; zero it before each step's backward.
    T* grads() { return m_grads.data(); }
    void zero_grads();

    void update(double learning_rate);
    std::vector<float> params() const;
    std::vector<float> gradient() const;
    TrainAdamState adam_state() const;
    void restore(const std::vector<float>& params, const TrainAdamState& adam);
    std::size_t param_count() const { return m_grads.size(); }

private:
    cpu::Network<T> m_net;
    cpu::Adam<T> m_adam;
    std::vector<T> m_grads;
};

}  // namespace nst
