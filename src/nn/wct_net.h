// SPDX-License-Identifier: MIT
// The networks of multi-level WCT (Li et al. 2017; research/feedforward.md §6): the normalised
// VGG19 encoder to relu1_1 .. relu5_1 and one decoder per level mirroring its prefix, in
// naoto0804/pytorch-AdaIN's layout (nn/adain_net.h: layers named by their nn.Sequential index,
// so that the port's vgg_normalised.pth maps key for key).
//
// A level L in 1..5 is the prefix of the encoder that ends at reluL_1. The encoder file may be an
// "adain-encoder" (vgg[:31], levels 1-4) or a "vgg-normalised" (vgg[:44], levels 1-5); both hold
// the same layers under the same names, so a level's parameters are the first values of the flat
// parameter vector (param_layout order is layer order).
//
// The decoder of level L walks the prefix backwards: every conv C_in -> C_out becomes reflection
// pad 1 + 3x3 conv C_out -> C_in with a ReLU after it, except the last (to RGB); every pool a
// nearest x2 upsampling. For L = 4 that is exactly adain_decoder_desc() (same layers and names).
// arch "wct-decoder" with model metadata nst.level = L.
#pragma once
#include <string>

#include "nn/net_desc.h"

namespace nst {

inline constexpr int kWctLevels = 5;

// vgg[:44]: the port's 1x1 input conv, then the normalised VGG19 up to relu5_1 (reflection
// padding, ceil-mode max pooling). 12,944,972 parameters. arch "vgg-normalised".
NetDesc vgg_normalised_desc();

// The deepest level an encoder description reaches (4 for adain-encoder, 5 for vgg-normalised);
// an input error naming `where` for any other architecture.
int encoder_levels(const NetDesc& encoder, const std::string& where);

// The prefix of `encoder` (adain-encoder or vgg-normalised) ending at reluL_1, and the channels
// there (64, 128, 256, 512, 512). NST_REQUIRE that the level exists.
NetDesc encoder_prefix(const NetDesc& encoder, int level);
int level_channels(int level);

// The mirrored decoder of level 1..5 (see above).
NetDesc wct_decoder_desc(int level);

}  // namespace nst
