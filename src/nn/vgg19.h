// SPDX-License-Identifier: MIT
// The VGG feature extractor on the CPU (VGG19 or VGG16, as the weights say): forward to the
// deepest tapped layer, and backward from gradients injected at the taps to the input image.
// Buffers are allocated on the first forward for a shape and taps, and reused while they fit.
// Layer indices are those of the weights' table (vgg_layers(weights.arch)).
#pragma once
#include <cstddef>
#include <functional>
#include <memory>
#include <vector>

#include "core/tensor.h"
#include "nn/conv2d.h"
#include "nn/vgg19_layers.h"
#include "nn/weights.h"

namespace nst::cpu {

template <typename T>
class VggNet {
public:
    VggNet(const VggWeights& weights, Pooling pooling, ConvAlgo algo = ConvAlgo::Auto);
    ~VggNet();
    VggNet(VggNet&&) noexcept;
    VggNet& operator=(VggNet&&) noexcept;

    // Layers whose outputs are read (losses, features). Forward stops at the deepest one.
    void set_taps(const std::vector<int>& layers);
    int deepest() const;
    Pooling pooling() const;
    VggArch arch() const;

    // x: (1, 3, H, W) in the network's input space. Tap outputs stay valid until the next forward.
    void forward(ConstView<T> x);
    ConstView<T> output(int layer) const;  // (1, C, h, w); `layer` must be a tap

    // Gradient w.r.t. a tap's output. zero_grads() clears them; losses accumulate (+=) into them.
    // The first call of either allocates a buffer per tap (zeros) that the TapGrad form of
    // backward does without; release() frees them.
    void zero_grads();
    TensorView<T> grad(int layer);  // (1, C, h, w); `layer` must be a tap

    // Backpropagates the tap gradients of the last forward to the input. Assigns dx (1, 3, H, W).
    void backward(TensorView<T> dx);

    // Backward with the tap gradients supplied on the way down, so that no tap needs a gradient
    // buffer of its own: when the pass reaches tap `layer` it calls add_tap_grad(layer, g), g
    // (1, C, h, w) holding the gradient w.r.t. that layer's output from the layers above (zeros
    // at the deepest tap), and the callback adds the losses' gradient at that layer into g
    // (output(layer) is still valid inside the callback). Assigns dx (1, 3, H, W).
    using TapGrad = std::function<void(int layer, TensorView<T> g)>;
    void backward(TensorView<T> dx, const TapGrad& add_tap_grad);

    // Frees every activation and gradient buffer (the weights stay); the next forward allocates
    // again. The objective calls it once the style targets exist, so that a style image larger
    // than the content does not set the size of the buffers for the whole run.
    void release();

    // Bytes of the buffers forward and backward (the TapGrad form) allocate for an (h, w) input
    // with these taps: what the memory planner (engine/memory_plan.h) counts per window. Excludes
    // the weights and the per-thread convolution scratch.
    static std::size_t buffer_bytes(const std::vector<int>& taps, int h, int w, VggArch arch = VggArch::Vgg19);

    // An upper bound of the convolution scratch (nn/conv2d_impl.h: conv_scratch) that forward
    // and backward take per thread for an (h, w) input with these taps; the planner adds
    // threads x this. `algo` as given to the constructor.
    static std::size_t scratch_bytes_per_thread(const std::vector<int>& taps, int h, int w,
                                                ConvAlgo algo = ConvAlgo::Auto, VggArch arch = VggArch::Vgg19);

private:
    struct Impl;
    std::unique_ptr<Impl> m;
};

// The name from before VGG16.
template <typename T>
using Vgg19Net = VggNet<T>;

}  // namespace nst::cpu
