// SPDX-License-Identifier: MIT
// From a checkpoint's named tensors to VGG16's 13 conv layers (configuration D: conv1_1 ..
// conv5_3), the loss network of Johnson et al. and pytorch/examples' fast_neural_style: the
// canonical names of Caffe's VGG_ILSVRC_16_layers.caffemodel (and of canonical-named ports), or
// torchvision's features.N (vgg16-397923af.pth, features 0, 2, 5, ..., 28), under any common
// prefix. Every shape is checked before any data is read; values must be finite.
//
// nst's VGG16 weight files (what `nst weights convert` writes, what the weight loader reads):
// canonical names conv1_1.weight (64, 3, 3, 3), conv1_1.bias (64), ..., conv5_3.bias (512), F32,
// with metadata nst.arch = "vgg16" plus nst.preprocess / nst.normalized / nst.source by the
// VGG19 conversion rules (convert.h). VGG19 files have no nst.arch, or nst.arch = "vgg19".
#pragma once
#include <string>
#include <vector>

#include "convert/checkpoint.h"
#include "convert/vgg19_mapping.h"

namespace nst::convert {

constexpr int kVgg16Convs = 13;

// Conv k = 0..12 of VGG16: canonical name, (out, in) channels, torchvision features index.
const std::string& vgg16_conv_name(int conv);
int vgg16_out_channels(int conv);
int vgg16_in_channels(int conv);
int vgg16_feature_index(int conv);

struct Vgg16Mapped {
    // Per conv: weight (O, I, 3, 3) and bias (O) values, C order.
    std::vector<std::vector<float>> weight, bias;
    Naming naming = Naming::Canonical;
    std::string prefix;
};

// Throws nst::Error(Input) "<format> '<path>': <problem>" naming the tensor (and VGG16).
Vgg16Mapped map_vgg16(const Checkpoint& ck);

}  // namespace nst::convert
