// SPDX-License-Identifier: MIT
// Helpers of the CUDA suite: the process's CUDA context, host <-> device copies, and the
// double-precision oracle of the network's backward pass that follows given ReLU / max-pool
// decisions.
//
// Why decisions are followed: float rounding moves pre-activations within ~1e-6 of zero to the
// other side of the ReLU (and nearly tied max-pool windows to another maximum) in a few of the
// ~10^5 units of a small VGG19 pass. Each such flip reroutes the whole upstream gradient of that
// unit, a relative change of ~1e-3 in dx: a difference in a discrete decision, not an error of
// the arithmetic under test. The oracle therefore takes the masks from the CUDA forward (its ReLU
// outputs, read as taps) and does all arithmetic itself in double with the CPU primitives
// (conv3x3_backward_data Direct, relu_backward, pool2x2_backward) — the approach of
// tests/test_vgg19.cpp for the float CPU network.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "cuda/context.h"
#include "engine/engine.h"
#include "nn/vgg19_layers.h"
#include "nn/weights.h"

namespace nst::test::gpu {

// The suite's context on device 0, created on first use and kept for the whole process.
cuda::Context& context();

// Device copy of a host tensor (waits until the copy has landed, so that work queued on any
// stream afterwards sees it).
Tensor<float> upload(ConstView<float> host);
// Host copy of a device view (waits for all queued work first).
Tensor<float> download(ConstView<float> device);
Tensor<double> download_double(ConstView<float> device);
// Copies a host tensor into an existing device view of the same shape.
void upload_into(TensorView<float> device, ConstView<float> host);
// Plain values on the device (RunState, totals): raw copies, synchronised.
void copy_to_device(void* dst, const void* src, std::size_t bytes);
void copy_to_host(void* dst, const void* src, std::size_t bytes);

// Layer indices of the ReLU layers 0..deepest, and the sorted union of two lists.
std::vector<int> relu_layers_upto(int deepest);
std::vector<int> merge_layers(std::vector<int> a, const std::vector<int>& b);
std::vector<int> layers_by_name(const std::vector<std::string>& names);

// dx (1, 3, h, w) in double of sum_l <taps[l], output_l(x)>, walking the layers from the deepest
// tap down: the gradient of each tap is added at its layer, ReLU masks are relu_outputs[k] > 0,
// max-pool windows route to the first maximum (row-major) of relu_outputs[k - 1], convolutions
// are the double Direct backward-data with the float weights converted exactly.
// relu_outputs must hold every ReLU layer up to the deepest tap (host float, e.g. downloaded
// from the CUDA net, whose decisions are then followed).
Tensor<double> reference_backward(const Vgg19Weights& weights, Pooling pooling, int h, int w,
                                  const std::map<int, Tensor<float>>& relu_outputs,
                                  const std::map<int, Tensor<double>>& taps);

// Deterministic image-like test input: scale * uniform[0, 1) + offset per element.
Tensor<float> test_image(Shape shape, std::uint64_t stream, double scale, double offset);

// ||a||_inf of a host tensor.
double max_abs(ConstView<float> a);

// Worst relative L2 error over a set of measurements, with the name of the worst one.
struct Worst {
    double err = 0;
    std::string what;
    void add(double e, const std::string& w) {
        if (e >= err || what.empty()) {
            err = e;
            what = w;
        }
    }
};

}  // namespace nst::test::gpu
