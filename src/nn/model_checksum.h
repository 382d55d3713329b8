// SPDX-License-Identifier: MIT
// A checksum of a model's parameters, so that a file can name the exact network it was made
// with: an AdaIN decoder trained by `nst train --method adain` records its frozen encoder's
// under kAdainEncoderChecksumKey, and `nst stylize` can compare it with the encoder it is given.
//
// The value is "fnv1a64:<16 hex digits>": FNV-1a 64 over the little-endian float32 bytes of the
// parameters in param_layout order (nn/net_desc.h), the scheme of weights_checksum (nn/weights.h),
// so a Python re-hash of the safetensors tensors in layout order gives the same string.
#pragma once
#include <string>
#include <vector>

namespace nst {

inline constexpr const char* kAdainEncoderChecksumKey = "nst.adain.encoder_checksum";

std::string params_checksum(const std::vector<float>& params);

}  // namespace nst
