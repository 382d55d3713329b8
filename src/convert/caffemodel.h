// SPDX-License-Identifier: MIT
// Caffe .caffemodel files (binary NetParameter, schema subset in caffe_subset.proto): the
// current `layer` field (LayerParameter, type string) and the deprecated `layers` field
// (V1LayerParameter, type enum, possibly wrapping a V0LayerParameter). Each layer's blobs
// become tensors "<layer>.weight" (blob 0), "<layer>.bias" (blob 1, legacy (1, 1, 1, O) dims
// squeezed to (O)) and "<layer>.blob<k>" beyond. Blob data may be packed or unpacked float, or
// double_data.
#pragma once
#include <string>

#include "convert/checkpoint.h"

namespace nst::convert {

Checkpoint read_caffemodel(const std::string& path);

}  // namespace nst::convert
