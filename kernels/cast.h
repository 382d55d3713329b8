// SPDX-License-Identifier: MIT
// float <-> bf16 conversions for the bf16 convolution path (Precision::Bf16): cuDNN reads and
// writes bf16 activations, and these kernels bring them back to float with the layer's
// epilogue fused in (bias + optional ReLU after a forward, the ReLU mask after a backward),
// so that the float tensors the rest of the engine sees are written once.
// float -> bf16 rounds to nearest even. All pointers are device memory; launchers follow
// kernels/launch.h.
#pragma once
#include <cstddef>

#include <cuda_bf16.h>
#include <cuda_runtime.h>

namespace nst::kernels {

void float_to_bf16(__nv_bfloat16* y, const float* x, std::size_t n, cudaStream_t stream);
void bf16_to_float(float* y, const __nv_bfloat16* x, std::size_t n, cudaStream_t stream);

// y = float(x) + bias[c], then max(., 0) when relu.
void bf16_to_float_bias_act(float* y,                 // (1, C, H, W)
                            const __nv_bfloat16* x,   // (1, C, H, W)
                            const float* bias,        // (C)
                            int channels, std::size_t plane, bool relu, cudaStream_t stream);

// y = mask > 0 ? float(x) : 0: a conv's data gradient with the ReLU below applied.
void bf16_to_float_masked(float* y, const __nv_bfloat16* x, const float* mask, std::size_t n,
                          cudaStream_t stream);

}  // namespace nst::kernels
