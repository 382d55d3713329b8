// SPDX-License-Identifier: MIT
// Keras HDF5 weight files (model.save_weights / model.save, Keras 1-3) read with the HDF5 C API.
// Layers are found the way Keras loads them: the `layer_names` attribute of the root (or of
// `model_weights/` in a full-model file) and each layer group's `weight_names` attribute
// (Keras 2 "block1_conv1/kernel:0", Keras 1 "block1_conv1_W_1:0"); files without those
// attributes (e.g. Keras 3 `layers/block1_conv1/vars/0`) are searched for groups named
// blockB_convI holding one 4-D and one 1-D dataset. Kernels are stored (3, 3, in, out) and are
// transposed to (out, in, 3, 3) with axes (3, 2, 0, 1), no flip; the tensors get canonical
// names (conv1_1.weight ...). Optimizer state (optimizer_weights/) is ignored.
#pragma once
#include <string>

#include "convert/checkpoint.h"

namespace nst::convert {

Checkpoint read_keras_h5(const std::string& path);  // needs libhdf5 (Debian: libhdf5-dev)

}  // namespace nst::convert
