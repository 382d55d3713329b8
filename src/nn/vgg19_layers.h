// SPDX-License-Identifier: MIT
// The VGG19 convolution stack of spec §2 as a table: 37 layers in forward order
// (conv1_1, relu1_1, conv1_2, relu1_2, pool1, conv2_1, ..., relu5_4, pool5). A layer's position in
// this table equals its index k in torchvision's `features.{k}`.
#pragma once
#include <array>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace nst {

enum class LayerKind { Conv, Relu, Pool };
enum class Pooling { Max, Avg };

struct LayerInfo {
    std::string name;   // "conv3_2", "relu3_2", "pool3"
    LayerKind kind;
    int block;          // 1..5
    int index;          // i within the block (0 for pools)
    int conv;           // 0..15: the conv this layer belongs to (conv and relu), -1 for pools
    int channels;       // output channels
};

constexpr int kNumLayers = 37;
constexpr int kNumConvs = 16;

const std::array<LayerInfo, kNumLayers>& vgg19_layers();

// (out, in) channels of conv k = 0..15, and its canonical name "conv{b}_{i}".
int conv_out_channels(int conv);
int conv_in_channels(int conv);
const std::string& conv_name(int conv);
// Position of conv k in the layer table (= torchvision features index).
int conv_layer_index(int conv);

// Layer index for a name of §2; throws a usage error (exit 2) naming the bad layer.
int layer_index(const std::string& name);
// Parses "relu4_2,relu5_1" into layer indices, in the given order, rejecting duplicates.
std::vector<int> parse_layer_list(const std::string& comma_list, const std::string& option_name);

// Spatial size of a layer's output for an input of h x w (pools round down, as PyTorch does).
void layer_output_size(int layer, int in_h, int in_w, int& out_h, int& out_w);

// Output shapes (1, C, h_k, w_k) of layers 0..deepest for an (h, w) input, as both backends lay
// out their buffers; an input error (exit 3) names the first layer whose output would be empty.
std::vector<Shape> layer_shapes(int deepest, int h, int w);

}  // namespace nst
