// SPDX-License-Identifier: MIT
// Which network a checkpoint holds, from its tensor names alone (no data is read), so that
// `nst weights convert` picks the right mapping: VGG19 (nst's loss network, vgg19_mapping.h),
// VGG16 (vgg16_mapping.h) or pytorch/examples' TransformerNet (transformer_mapping.h).
// Anything else is handed to the VGG19 mapping, whose messages say what the file is not.
#pragma once
#include <string>

#include "convert/checkpoint.h"

namespace nst::convert {

// TransformerNetJcjohnson: jcjohnson/fast-neural-style's .t7 models (Torch7 files only).
// VggNormalised: the same vgg_normalised.pth as AdainEncoder, kept to relu5_1 (vgg[:44]) for
// multi-level WCT (nn/wct_net.h); only asked for by --arch (auto gives AdainEncoder).
enum class NetKind { Vgg19, Vgg16, TransformerNet, TransformerNetJcjohnson, AdainEncoder, AdainDecoder, VggNormalised };

// "vgg19", "vgg16", "transformer-net", "transformer-net-jcjohnson", "adain-encoder",
// "adain-decoder", "vgg-normalised": the --arch values and nst.arch names.
const char* net_kind_name(NetKind kind);
// How messages name it: "VGG19", "VGG16", "TransformerNet (pytorch/examples)".
const char* net_kind_title(NetKind kind);

NetKind classify(const Checkpoint& ck);

// Parses --arch: "auto" gives false; otherwise sets out. Throws nst::Error(Usage).
bool parse_net_kind(const std::string& name, NetKind& out);

}  // namespace nst::convert
