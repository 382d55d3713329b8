// SPDX-License-Identifier: MIT
// VGG19 and VGG16 feature stacks (Simonyan & Zisserman's configurations E and D, to pool5) as
// network descriptions: conv{b}_{i} (3x3, stride 1, zero pad 1, bias), relu{b}_{i}, pool{b}
// (2x2, stride 2, floor mode). The layer table of nn/vgg19_layers.h is derived from these.
#pragma once
#include <string>

#include "nn/net_desc.h"

namespace nst {

enum class VggArch { Vgg19, Vgg16 };
enum class Pooling { Max, Avg };

// "vgg19" / "vgg16": the nst.arch metadata values and how messages name the network.
const char* arch_name(VggArch arch);
// Display form, "VGG19" / "VGG16".
const char* arch_title(VggArch arch);
// Parses "vgg19" / "vgg16"; false for anything else.
bool parse_arch(const std::string& name, VggArch& arch);

// The description to pool5 (NetDesc::arch is arch_name(arch)). Layer k of it is torchvision's
// `features.{k}` of vgg19 / vgg16.
NetDesc vgg_desc(VggArch arch, Pooling pooling = Pooling::Max);

}  // namespace nst
