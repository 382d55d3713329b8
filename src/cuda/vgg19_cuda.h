// SPDX-License-Identifier: MIT
// The VGG feature extractor on the GPU (VGG19 or VGG16, as the weights say), the twin of
// cpu::VggNet (nn/vgg19.h): forward to the deepest tap and data-gradient backward from gradients
// injected at the taps. Convolutions run
// through cuDNN (conv_cudnn.h); bias, ReLU and pooling through our kernels (kernels/).
//
// prepare() does everything that may allocate or synchronise (buffers, cuDNN algorithm search,
// workspace); forward and backward only queue work on the context's stream, so they can be
// captured into a CUDA graph. Every pointer in and out is device memory.
#pragma once
#include <functional>
#include <memory>
#include <vector>

#include "core/tensor.h"
#include "cuda/context.h"
#include "engine/engine.h"
#include "nn/vgg19_layers.h"
#include "nn/weights.h"

namespace nst::cuda {

class VggNet {
public:
    // Copies the (host) weights to the device, in bf16 too for Precision::Bf16. Layer indices
    // are those of the weights' table (vgg_layers(weights.arch)).
    VggNet(Context& ctx, const VggWeights& weights, Pooling pooling, Precision precision,
           std::size_t workspace_limit);
    ~VggNet();
    VggNet(const VggNet&) = delete;
    VggNet& operator=(const VggNet&) = delete;

    void set_taps(const std::vector<int>& layers);
    int deepest() const;
    VggArch arch() const;

    // Allocates buffers and selects cuDNN algorithms for an (h, w) input (cached per shape).
    // Throws an input error (exit 3) when the image is too small for the deepest tap, as the
    // CPU net does.
    void prepare(int h, int w);

    void forward(ConstView<float> x);               // (1, 3, H, W), device; prepare()d shape
    ConstView<float> output(int layer) const;       // (1, C, h, w), device; `layer` a tap

    // Gradient w.r.t. a tap's output. zero_grads() clears them; losses accumulate (+=) into them.
    // The first call of either allocates a buffer per tap (zeros, outside any graph capture)
    // that the TapGrad form of backward does without; prepare() keeps them sized from then on.
    void zero_grads();                              // clears every tap's gradient
    TensorView<float> grad(int layer);              // (1, C, h, w), device; losses add into it
    void backward(TensorView<float> dx);            // assigns dx (1, 3, H, W), device

    // Backward with the tap gradients supplied on the way down, so that no tap needs a gradient
    // buffer of its own (the twin of cpu::Vgg19Net's): when the pass reaches tap `layer` it
    // calls add_tap_grad(layer, g), g (1, C, h, w) device holding the gradient w.r.t. that
    // layer's output from the layers above (zeros at the deepest tap). The callback runs on the
    // host while the pass is enqueued, so it must enqueue on the context's stream the kernels
    // that add the losses' gradient into g (output(layer) is still valid); it may run inside a
    // CUDA-graph capture. Assigns dx (1, 3, H, W), device.
    using TapGrad = std::function<void(int layer, TensorView<float> g)>;
    void backward(TensorView<float> dx, const TapGrad& add_tap_grad);

    // Frees the activation, tap-gradient and work buffers (waits for queued work first); the
    // weights, the cuDNN workspace and the algorithm choices stay. The engine calls it once the
    // style targets exist, so that a style image larger than the content does not keep its
    // buffers through the run; the next prepare() allocates for the content's windows.
    void release();

    // Device bytes of the cuDNN workspace currently allocated (part of the peak).
    std::size_t workspace_bytes() const;

private:
    struct Impl;
    std::unique_ptr<Impl> m;
};

// The name from before VGG16.
using Vgg19Net = VggNet;

}  // namespace nst::cuda
