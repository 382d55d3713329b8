// SPDX-License-Identifier: MIT
// From a checkpoint's named tensors to VGG19's 16 conv layers: find the naming (canonical
// conv1_1.weight, as in Gatys's vgg_conv.pth, Caffe and Keras after their readers, or
// torchvision's features.N.weight) under any common prefix ("module.", "state_dict.",
// "model."), recognise wrong architectures (VGG11/13/16, batch-normalised VGG, non-VGG
// networks) with a message that says what the file is, check every shape, read only the 32
// conv tensors and check that they are finite.
#pragma once
#include <string>

#include "convert/checkpoint.h"
#include "nn/weights.h"

namespace nst::convert {

enum class Naming { Canonical, Torchvision };

struct Mapped {
    Vgg19Weights weights;  // conv tensors only; metadata fields left at their defaults
    Naming naming = Naming::Canonical;
    std::string prefix;    // before conv1_1.weight / features.0.weight; "" for most files
};

// Throws nst::Error(Input) "<format> '<path>': <problem>" naming the tensor or the architecture.
Mapped map_vgg19(const Checkpoint& ck);

}  // namespace nst::convert
