// SPDX-License-Identifier: MIT
// One VGG19 convolution (3x3, stride 1, zero padding 1) on the GPU through cuDNN's legacy API:
// forward with the bias (and optionally the ReLU) added by our kernel, and the data gradient
// with the ReLU mask of the layer below as an optional epilogue. Weight gradients are never
// formed: the network's weights are constants in style transfer.
//
// Algorithms are chosen once per input size in prepare(), among the deterministic ones that fit
// the workspace limit, so that two runs are bit for bit the same. The cuDNN workspace and the
// bf16 staging buffers belong to the net (one of each, shared by all layers) and are lent to
// every call through ConvScratch.
#pragma once
#include <cstddef>
#include <memory>
#include <string>

#include <cuda_bf16.h>

#include "core/tensor.h"
#include "cuda/context.h"
#include "engine/engine.h"

namespace nst::cuda {

// Device memory a convolution borrows from its net for one call.
struct ConvScratch {
    void* workspace = nullptr;          // cuDNN workspace of workspace_bytes
    std::size_t workspace_bytes = 0;
    // Precision::Bf16 only: the operand cast to bf16 and cuDNN's bf16 result, elems16 values
    // each (at least the larger of the layer's input and output).
    __nv_bfloat16* in16 = nullptr;
    __nv_bfloat16* out16 = nullptr;
    std::size_t elems16 = 0;
};

class Conv3x3Cudnn {
public:
    // Copies the host weights to the device: float for Fp32 and Tf32, bf16 for Bf16. `name`
    // ("conv3_1") is for error messages. May synchronise the context's stream.
    Conv3x3Cudnn(Context& ctx, const std::string& name,
                 ConstView<float> weight,  // (O, I, 3, 3), host
                 ConstView<float> bias,    // (1, O, 1, 1), host
                 Precision precision, std::size_t workspace_limit);
    ~Conv3x3Cudnn();
    Conv3x3Cudnn(const Conv3x3Cudnn&) = delete;
    Conv3x3Cudnn& operator=(const Conv3x3Cudnn&) = delete;

    int in_channels() const;
    int out_channels() const;

    // Chooses the forward and backward-data algorithms for an (h, w) input (cached per size)
    // and returns the workspace bytes the larger of the two needs. Host-side only; never call
    // it during graph capture. Runtime error (exit 4) when no algorithm qualifies.
    std::size_t prepare(int h, int w);

    // y = conv(x) + b, then max(., 0) when relu. Assigns y. The size must be prepare()d.
    void forward(TensorView<float> y,     // (1, O, h, w), device
                 ConstView<float> x,      // (1, I, h, w), device
                 bool relu, const ConvScratch& scratch);

    // dx = conv^T(dy), then dx = mask > 0 ? dx : 0 when mask is given (the post-ReLU output of
    // the layer below, (1, I, h, w)). Assigns dx. The size must be prepare()d.
    void backward_data(TensorView<float> dx,  // (1, I, h, w), device
                       ConstView<float> dy,   // (1, O, h, w), device
                       const float* mask, const ConvScratch& scratch);

private:
    struct Impl;
    std::unique_ptr<Impl> m;
};

}  // namespace nst::cuda
