// SPDX-License-Identifier: MIT
// Runs any NetDesc on the GPU: the twin of cpu::Network (nn/network.h). Convolutions (forward,
// backward-data, backward-filter) through cuDNN; instance norm, padding, upsampling, the residual
// add, ReLU, tanh and pooling through our kernels (kernels/). Every pointer in and out is device
// memory; parameters live in one device array in param_layout order.
#pragma once
#include <cstddef>
#include <memory>

#include "core/tensor.h"
#include "cuda/context.h"
#include "nn/net_desc.h"

namespace nst::cuda {

class Network {
public:
    // host_params: param_count(desc) floats (copied to the device).
    Network(Context& ctx, const NetDesc& desc, const float* host_params, std::size_t workspace_limit);
    ~Network();
    Network(const Network&) = delete;
    Network& operator=(const Network&) = delete;

    const NetDesc& desc() const;
    float* params();  // device, param_count(desc) floats

    // Allocates buffers and picks cuDNN algorithms for this input shape (cached). Input errors
    // (exit 3) as output_shapes().
    void prepare(Shape input, bool for_backward);

    ConstView<float> forward(ConstView<float> x, bool for_backward = true);  // device views
    // As cpu::Network::backward; grads is a device array (+=).
    void backward(ConstView<float> dy, TensorView<float> dx, float* grads);

private:
    struct Impl;
    std::unique_ptr<Impl> m;
};

}  // namespace nst::cuda
