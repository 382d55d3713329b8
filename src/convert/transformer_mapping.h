// SPDX-License-Identifier: MIT
// From a pytorch/examples fast_neural_style checkpoint (a TransformerNet state_dict saved by
// torch.save: the released candy/mosaic/udnie/rain_princess .pth files, and the .model files
// neural_style.py train writes) to an nst model (nn/net_model.h) in the PytorchExamples layout.
//
// The state_dict keys are the layout's parameter names (conv1.conv2d.weight, in1.weight, ...,
// res5.in2.bias, deconv3.conv2d.bias: 62 tensors at width 32), possibly under a prefix
// ("module." from DataParallel). The width is read from conv1.conv2d.weight. Files saved before
// PyTorch 0.4 also hold the InstanceNorm running statistics (in1.running_mean, res3.in2.running_var,
// ...: 30 keys at full width) that inference never uses; pytorch/examples deletes them with the
// regex in\d+\.running_(mean|var)$ before loading, and so do we (they are counted, with any
// in\d+.num_batches_tracked). Every other tensor must be a parameter, of the exact shape, finite.
#pragma once
#include <string>

#include "convert/checkpoint.h"
#include "nn/net_model.h"

namespace nst::convert {

struct TransformerMapped {
    NetModel model;        // desc, params; metadata empty
    std::string prefix;    // before conv1.conv2d.weight; "" for most files
    int width = 0;         // channels of conv1
    int dropped = 0;       // legacy running statistics (and num_batches_tracked) left out
};

// Throws nst::Error(Input) "<format> '<path>': <problem>" naming the tensor.
TransformerMapped map_transformer(const Checkpoint& ck);

}  // namespace nst::convert
