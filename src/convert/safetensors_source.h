// SPDX-License-Identifier: MIT
// safetensors files as converter input (timm/Hugging Face vgg19.tv_in1k, or nst's own files):
// every tensor by its name, the header metadata kept (nst.* keys are carried over).
#pragma once
#include <string>

#include "convert/checkpoint.h"

namespace nst::convert {

Checkpoint read_safetensors_checkpoint(const std::string& path);

}  // namespace nst::convert
