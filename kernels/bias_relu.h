// SPDX-License-Identifier: MIT
// Elementwise kernels around the convolutions: bias (+ ReLU) after a cuDNN forward, the ReLU
// and its backward, the ReLU mask applied as the epilogue of a conv backward, and gradient
// accumulation. Semantics are those of the CPU twins (nn/relu.cpp, the conv epilogue in
// nn/conv2d_direct.cpp): ReLU is `v > 0 ? v : 0` and the backward keeps dy where the ReLU
// *output* y is > 0, written as selects so that NaN and -0 behave exactly as on the CPU.
//
// All pointers are device memory; launchers follow kernels/launch.h (stream last, no sync,
// no allocation, launch errors checked).
#pragma once
#include <cstddef>

#include <cuda_runtime.h>

namespace nst::kernels {

// y = x + bias[c], then max(., 0) when relu. y may alias x (in place after the conv).
void bias_act(float* y,            // (1, C, H, W)
              const float* x,      // (1, C, H, W)
              const float* bias,   // (C)
              int channels, std::size_t plane, bool relu, cudaStream_t stream);

// y = x > 0 ? x : 0 over n elements. y may alias x.
void relu_forward(float* y, const float* x, std::size_t n, cudaStream_t stream);

// dx = y > 0 ? dy : 0 (y is the ReLU output). dx may alias dy.
void relu_backward(float* dx, const float* dy, const float* y, std::size_t n, cudaStream_t stream);

// g = y > 0 ? g : 0 in place: the ReLU of the layer below applied to a conv's data gradient.
void relu_mask(float* g, const float* y, std::size_t n, cudaStream_t stream);

// acc += v over n elements (tap gradients joining the backward stream).
void add_into(float* acc, const float* v, std::size_t n, cudaStream_t stream);

}  // namespace nst::kernels
