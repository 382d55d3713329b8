// SPDX-License-Identifier: MIT
// Runs any NetDesc (nn/net_desc.h) on the CPU: forward on a batch, backward to the input and to
// every parameter. The twin of cuda::Network (cuda/network_cuda.h).
//
// Activations needed by backward are kept from the last forward(x, /*for_backward=*/true);
// forward(x, false) keeps only what the next layer needs (inference, lower memory).
#pragma once
#include <cstddef>
#include <memory>
#include <vector>

#include "core/tensor.h"
#include "nn/net_desc.h"

namespace nst::cpu {

template <typename T>
class Network {
public:
    // params: param_count(desc) values in param_layout(desc) order (converted to T).
    Network(const NetDesc& desc, const float* params);
    ~Network();
    Network(Network&&) noexcept;
    Network& operator=(Network&&) noexcept;

    const NetDesc& desc() const;

    // The parameters as T, in layout order (param_count values); writable, e.g. by an optimiser.
    T* params();
    const T* params() const;

    // x: (N, in_channels, H, W). Returns the output (N, C, h, w), valid until the next forward.
    ConstView<T> forward(ConstView<T> x, bool for_backward = true);

    // dy: (N, C, h, w), the gradient w.r.t. the last forward's output (which must have been run
    // with for_backward). Assigns dx (N, in_channels, H, W) unless dx is empty; adds (+=) the
    // parameter gradients into grads (param_count values, layout order) unless grads is null.
    void backward(ConstView<T> dy, TensorView<T> dx, T* grads);

    // Bytes of activation buffers a forward (and backward) of this input shape allocates.
    std::size_t buffer_bytes(Shape input, bool for_backward) const;

private:
    struct Impl;
    std::unique_ptr<Impl> m;
};

}  // namespace nst::cpu
