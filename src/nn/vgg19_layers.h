// SPDX-License-Identifier: MIT
// The VGG convolution stacks of spec §2 as tables derived from their descriptions (nn/vgg_desc.h):
// VGG19's 37 layers in forward order (conv1_1, relu1_1, conv1_2, relu1_2, pool1, conv2_1, ...,
// relu5_4, pool5), VGG16's 31 (to conv5_3, relu5_3, pool5). A layer's position in its table
// equals its index k in torchvision's `features.{k}`. Layer indices are per architecture: the
// functions below take the architecture, VGG19 when omitted (what every caller used before VGG16).
#pragma once
#include <cstddef>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "nn/vgg_desc.h"

namespace nst {

enum class LayerKind { Conv, Relu, Pool };

struct LayerInfo {
    std::string name;   // "conv3_2", "relu3_2", "pool3"
    LayerKind kind;
    int block;          // 1..5
    int index;          // i within the block (0 for pools)
    int conv;           // 0..num_convs-1: the conv this layer belongs to (conv and relu), -1 for pools
    int channels;       // output channels
};

// One architecture's table. Indexed and iterated like the std::array it replaces.
class VggLayers {
public:
    // Derives the table from a description made only of 3x3 stride-1 zero-pad-1 biased convs,
    // each followed by a ReLU, and 2x2 stride-2 floor-mode pools after a ReLU: the layers the
    // lean-memory executors (cpu::Vgg19Net, cuda::Vgg19Net) run. Anything else is a bug in the
    // description (NST_REQUIRE).
    VggLayers(VggArch arch, const NetDesc& desc);

    VggArch arch() const { return arch_; }
    int size() const { return int(layers_.size()); }
    int num_convs() const { return int(conv_layer_.size()); }
    const LayerInfo& operator[](std::size_t k) const { return layers_[k]; }
    std::vector<LayerInfo>::const_iterator begin() const { return layers_.begin(); }
    std::vector<LayerInfo>::const_iterator end() const { return layers_.end(); }
    // Position of conv c in the table (= torchvision features index).
    int conv_layer(int conv) const;

private:
    VggArch arch_;
    std::vector<LayerInfo> layers_;
    std::vector<int> conv_layer_;
};

// The tables, built once from vgg_desc(arch).
const VggLayers& vgg_layers(VggArch arch);
// VGG19's table (the default network).
const VggLayers& vgg19_layers();

// VGG19's layer and conv counts: the largest of every architecture, so they bound any layer or
// conv index.
constexpr int kNumLayers = 37;
constexpr int kNumConvs = 16;

// (out, in) channels of conv k, and its canonical name "conv{b}_{i}".
int conv_out_channels(int conv, VggArch arch = VggArch::Vgg19);
int conv_in_channels(int conv, VggArch arch = VggArch::Vgg19);
const std::string& conv_name(int conv, VggArch arch = VggArch::Vgg19);
// Position of conv k in the layer table (= torchvision features index).
int conv_layer_index(int conv, VggArch arch = VggArch::Vgg19);

// Layer index for a name of §2; throws a usage error (exit 2) naming the bad layer (and the
// network, when the name is one of the other architecture's, e.g. relu5_4 for VGG16).
int layer_index(const std::string& name, VggArch arch = VggArch::Vgg19);
// Parses "relu4_2,relu5_1" into layer indices, in the given order, rejecting duplicates.
std::vector<int> parse_layer_list(const std::string& comma_list, const std::string& option_name,
                                  VggArch arch = VggArch::Vgg19);

// Spatial size of a layer's output for an input of h x w (pools round down, as PyTorch does).
void layer_output_size(int layer, int in_h, int in_w, int& out_h, int& out_w, VggArch arch = VggArch::Vgg19);

// Output shapes (1, C, h_k, w_k) of layers 0..deepest for an (h, w) input, as both backends lay
// out their buffers; an input error (exit 3) names the first layer whose output would be empty.
std::vector<Shape> layer_shapes(int deepest, int h, int w, VggArch arch = VggArch::Vgg19);

}  // namespace nst
