// SPDX-License-Identifier: MIT
// AdaIN's fixed encoder and trained decoder as NetDescs, exactly as naoto0804/pytorch-AdaIN's
// net.py builds them (docs/research/feedforward.md §5.3), so that its vgg_normalised.pth and
// decoder.pth map key for key: a parameterised layer is named by its index in the port's
// nn.Sequential ("0", "2", "5", ... for the encoder; "1", "5", ..., "28" for the decoder), so its
// parameters are "<index>.weight" / "<index>.bias", the state_dict keys. Parameterless layers get
// labels ("pad1_1", "relu1_1", "pool1", "up1", ...), which never clash with the indices.
//
// Both take and give what the port does: the encoder reads RGB in [0, 1] (its 1x1 conv "0" maps
// that to caffe BGR x 255 minus the mean), the decoder outputs RGB in about [0, 1].
#pragma once
#include <array>

#include "nn/net_desc.h"

namespace nst {

// vgg[:31]: 1x1 conv 3->3, then the normalised VGG19 up to relu4_1 with reflection padding 1
// and 2x2 stride-2 ceil-mode max pooling. 3,505,740 parameters. arch "adain-encoder".
NetDesc adain_encoder_desc();

// Indices into adain_encoder_desc().layers of relu1_1, relu2_1, relu3_1 and relu4_1 (the last
// layer): the style loss's features.
std::array<int, 4> adain_encoder_relu_layers();

// The 29-module decoder: reflection pad 1 + 3x3 conv each, ReLU after every conv but the last,
// nearest x2 upsampling at modules 3, 16 and 23; 512 channels in, 3 out. 3,505,219 parameters.
// arch "adain-decoder".
NetDesc adain_decoder_desc();

}  // namespace nst
