// SPDX-License-Identifier: MIT
// `nst weights convert` for the networks beyond VGG19: VGG16 (torchvision, Caffe) to nst's VGG16
// weight files (vgg16_mapping.h gives their format), pytorch/examples TransformerNet checkpoints
// to nst models (net_model.h, transformer_mapping.h). Which one a file is comes from its names
// (net_kind.h) or from --arch; a file of another network than --arch names fails with exit 3.
#pragma once
#include <map>
#include <string>

#include "convert/convert.h"
#include "convert/net_kind.h"
#include "convert/transformer_mapping.h"
#include "convert/vgg16_mapping.h"

namespace nst::convert {

// The network to convert `ck` as: classify(ck), checked against options.arch when that is not
// "auto". Throws nst::Error(Input) naming the file when the file holds another network.
NetKind resolve_kind(const Checkpoint& ck, const ConvertOptions& options);

struct ConvertedVgg16 {
    Vgg16Mapped mapped;
    VggMetadata meta;  // by the VGG19 rules
    Format format = Format::Safetensors;
};

ConvertedVgg16 convert_vgg16(const Checkpoint& ck, const ConvertOptions& options);

// nst.arch = vgg16, nst.preprocess, nst.normalized, nst.source and the input's other nst.* keys.
std::map<std::string, std::string> vgg16_metadata(const ConvertedVgg16& c);

// Canonical names, F32, vgg16_metadata; atomic.
void save_vgg16(const std::string& path, const ConvertedVgg16& c);

struct ConvertedModel {
    TransformerMapped mapped;  // also AdaIN's (prefix empty; dropped: vgg[31:] tensors)
     // mapped.model.metadata: nst.io, nst.source (save_model adds kind, arch, width)
    Format format = Format::Safetensors;
};

// Throws nst::Error(Usage) for --preprocess / --normalized, which do not apply to a model.
ConvertedModel convert_transformer(const Checkpoint& ck, const ConvertOptions& options);

// pytorch-AdaIN's encoder (vgg_normalised.pth, cut to vgg[:31]; mapped.dropped counts the rest)
// or decoder (adain_mapping.h): nst.io rgb01. Throws nst::Error(Usage) for --preprocess /
// --normalized, nst::Error(Input) naming the tensor for a missing or misshapen one.
ConvertedModel convert_adain(const Checkpoint& ck, NetKind kind, const ConvertOptions& options);

// A jcjohnson/fast-neural-style .t7 model (jcjohnson_mapping.h): nst.io caffe-bgr. Throws
// nst::Error(Input) when options.arch names another network.
ConvertedModel convert_jcjohnson(const std::string& path, const ConvertOptions& options);

}  // namespace nst::convert
