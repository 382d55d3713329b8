// SPDX-License-Identifier: MIT
// From naoto0804/pytorch-AdaIN's checkpoints (torch.save'd nn.Sequential state_dicts) to nst
// models (nn/net_model.h) of nn/adain_net.h's networks:
//   vgg_normalised.pth: the full 53-module encoder; keys "<i>.weight" / "<i>.bias" for the conv
//     indices 0, 2, 5, ..., 29 (kept: vgg[:31], up to relu4_1) and 32, 35, 38, 42, 45, 48, 51
//     (conv4_2 .. conv5_4, which the port never runs: dropped and counted);
//   decoder.pth (and the port's own trained decoders): keys 1, 5, 8, ..., 28.
// Every kept tensor must be present, of the exact shape, finite; any other tensor is an error.
#pragma once
#include "convert/checkpoint.h"
#include "nn/net_model.h"

namespace nst::convert {

struct AdainMapped {
    NetModel model;   // desc, params; metadata empty
    int dropped = 0;  // encoder tensors of vgg[31:] (vgg[44:] when deep) left out
};

// `encoder` picks adain_encoder_desc or adain_decoder_desc; `deep` (with encoder) keeps the
// encoder to relu5_1 instead, vgg_normalised_desc (nn/wct_net.h, for WCT), dropping only conv5_2
// .. conv5_4 (45, 48, 51). Throws nst::Error(Input) "<format> '<path>': <problem>" naming the tensor.
AdainMapped map_adain(const Checkpoint& ck, bool encoder, bool deep = false);

}  // namespace nst::convert
