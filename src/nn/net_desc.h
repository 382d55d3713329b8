// SPDX-License-Identifier: MIT
// A network as data: a table of layers run in order, each reading the previous layer's output
// (the network input for layer 0). Every trainable or loadable model (TransformerNet in both
// layouts, later AdaIN's decoder) is a NetDesc; the executors (cpu::Network, cuda::Network) and
// the parameter layout are derived from it, never written per model.
//
// Parameters of layer L are named "<L.name>.weight" / "<L.name>.bias" (the pytorch state_dict
// keys for TransformerNet), stored back to back in one flat float vector in layer order, weight
// before bias, so that Adam, checkpoints and device copies see one array.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace nst {

enum class Op {
    Conv,           // weight (O, I, k, k), bias (O) when `bias`; stride, pad, pad_mode
    ConvTranspose,  // weight (I, O, k, k) (torch's layout), bias (O); stride, pad, output_padding
    Relu,
    Tanh,           // y = scale * tanh(x)
    MaxPool,        // kernel x kernel window, stride; floor or ceil mode as torch
    AvgPool,
    InstanceNorm,   // per (sample, channel) over H x W, biased variance, eps; weight/bias (C) when affine
    Upsample,       // nearest, x factor
    Pad,            // pad on every side, pad_mode (Reflect for jcjohnson's 40-px input pad)
    Add,            // y = x + centre_crop(output of layer `from`; -1 = network input) to x's size
};

enum class PadMode { Zero, Reflect };

struct LayerSpec {
    std::string name;        // parameter prefix ("conv1.conv2d", "res3.in2") or a label ("relu1")
    Op op = Op::Relu;
    int channels = 0;        // output channels of Conv / ConvTranspose (others keep their input's)
    int kernel = 1;          // Conv, ConvTranspose, pools
    int stride = 1;          // Conv, ConvTranspose, pools
    int pad = 0;             // Conv (applied to the input first, in pad_mode), ConvTranspose, Pad
    PadMode pad_mode = PadMode::Zero;
    int output_padding = 0;  // ConvTranspose
    bool bias = true;        // Conv, ConvTranspose
    bool ceil_mode = false;  // pools
    bool affine = true;      // InstanceNorm
    double eps = 1e-5;       // InstanceNorm
    int factor = 2;          // Upsample
    double scale = 1.0;      // Tanh
    int from = -1;           // Add: the layer whose output is added (-1: the network input)
};

struct NetDesc {
    std::string arch;        // "transformer-net", "transformer-net-jcjohnson", ...
    int in_channels = 3;
    std::vector<LayerSpec> layers;
};

// One parameter tensor in the flat vector.
struct ParamInfo {
    std::string name;        // "<layer>.weight" / "<layer>.bias"
    Shape shape;             // conv weight (O, I, k, k); vectors (1, C, 1, 1)
    std::size_t offset = 0;  // in floats
    int layer = 0;           // index in NetDesc::layers
};

// Parameter tensors in storage order, and their total element count.
std::vector<ParamInfo> param_layout(const NetDesc& desc);
std::size_t param_count(const NetDesc& desc);

// Output shape of every layer for an input of `input` (N, in_channels, H, W). Throws an input
// error (exit 3) naming the layer when the input is too small (an empty output, reflection
// padding wider than the image, an Add whose source is smaller than its input).
std::vector<Shape> output_shapes(const NetDesc& desc, Shape input);

// Checks a description for internal consistency (channels, kernel sizes, Add sources that come
// earlier); a failure is a bug in the description (NST_REQUIRE).
void validate(const NetDesc& desc);

}  // namespace nst
