// SPDX-License-Identifier: MIT
// A batched convolution of any square kernel, stride and zero padding on the GPU through cuDNN's
// legacy API, with the three passes training needs: forward, backward to the data and backward
// to the filter (the twin of nn/convolution.h's passes; reflection padding and the bias are the
// network's, kernels/resample.h and kernels/conv_bias.h). The same object serves a transposed
// convolution, whose forward is this convolution's backward-data (cuda/network_cuda.cpp).
//
// The weights are not owned: every call takes a device pointer into the network's flat
// parameter array, so that an optimiser's update is seen by the next call. Algorithms are chosen
// per input shape in prepare(), in fp32 without tensor ops (CUDNN_FMA_MATH), among the
// deterministic ones whose workspace fits the limit, from cuDNN's heuristics (conv_cudnn.cpp says
// why not cudnnFind). The workspace belongs to the network and is lent to each call.
#pragma once
#include <cstddef>
#include <memory>
#include <string>

#include "core/tensor.h"
#include "cuda/context.h"

namespace nst::cuda {

struct ConvGeometryCudnn {
    int out_channels = 0, in_channels = 0;  // filter (out, in, kernel, kernel)
    int kernel = 1, stride = 1, pad = 0;    // zero padding
};

class ConvCudnn {
public:
    // `name` is for error messages. workspace_limit bounds each chosen algorithm's workspace.
    ConvCudnn(Context& ctx, const std::string& name, const ConvGeometryCudnn& g, std::size_t workspace_limit);
    ~ConvCudnn();
    ConvCudnn(const ConvCudnn&) = delete;
    ConvCudnn& operator=(const ConvCudnn&) = delete;

    // The output shape for an input (N, in_channels, h, w) (floor division, as torch).
    Shape output_shape(Shape x) const;

    // Chooses the forward, backward-data and backward-filter algorithms for input shape x
    // (cached) and returns the workspace bytes the largest of them needs. Host-side only.
    // Runtime error (exit 4) when no deterministic algorithm fits the limit.
    std::size_t prepare(Shape x);

    // y = conv(x, w). Assigns y. x's shape must be prepare()d.
    void forward(TensorView<float> y,   // (N, out, ho, wo), device
                 ConstView<float> x,    // (N, in, h, w), device
                 const float* w,        // (out, in, k, k), device
                 void* workspace, std::size_t workspace_bytes);

    // dx = conv^T(dy). Assigns dx. dx's shape must be prepare()d.
    void backward_data(TensorView<float> dx,  // (N, in, h, w), device
                       ConstView<float> dy,   // (N, out, ho, wo), device
                       const float* w,        // (out, in, k, k), device
                       void* workspace, std::size_t workspace_bytes);

    // dw += d(sum(dy * conv(x, w)))/dw. x's shape must be prepare()d.
    void backward_filter(float* dw,              // (out, in, k, k), device
                         ConstView<float> dy,    // (N, out, ho, wo), device
                         ConstView<float> x,     // (N, in, h, w), device
                         void* workspace, std::size_t workspace_bytes);

private:
    struct Impl;
    std::unique_ptr<Impl> m;
};

}  // namespace nst::cuda
