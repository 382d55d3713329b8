// SPDX-License-Identifier: MIT
// From a jcjohnson/fast-neural-style .t7 checkpoint (Torch7, torch7.h) to an nst model in the
// JcjohnsonInstanceNorm layout (nn/transformer_net.h; docs/research/feedforward.md §2.1, §2.5).
//
// The checkpoint is a table {model = nn.Sequential, opt = {...}, ...} (or the Sequential
// itself). Walking the module tree in order (each container's `modules` list), the parameterised
// modules -- SpatialConvolution, SpatialFullConvolution, InstanceNormalization -- come in exactly
// param_layout order of the layout; each is checked against its layer (kind, kernel, stride,
// padding, output adjustment, shapes), so a model of another -arch fails with a message naming
// the module. The first leaf must be the 40-px SpatialReflectionPadding of padding_type
// reflect-start and the output 150 tanh. BatchNorm models (the eccv16 set) and models trained
// with -preprocessing resnet are refused. The width is the first convolution's output channels.
#pragma once
#include <string>

#include "convert/transformer_mapping.h"

namespace nst::convert {

// Throws nst::Error(Input) "Torch7 file '<path>': <problem>".
TransformerMapped map_jcjohnson(const std::string& path);

}  // namespace nst::convert
