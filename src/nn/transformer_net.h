// SPDX-License-Identifier: MIT
// Johnson et al.'s image transformation network as NetDescs (docs/research/feedforward.md §2-§3).
#pragma once
#include "nn/net_desc.h"

namespace nst {

enum class TransformerLayout {
    // pytorch/examples fast_neural_style: reflection-padded convs, IN (affine) + ReLU, 5 residual
    // blocks of 128, nearest x2 + conv upsampling, raw conv output; input and output RGB in
    // [0, 255]. Layer names are the state_dict prefixes (conv1.conv2d, in1, res1.conv1.conv2d, ...).
    PytorchExamples,
    // jcjohnson/fast-neural-style's instance-norm models (half width: c9s1-16,d32,d64,R64 x 5,
    // u32,u16,c9s1-3 with padding_type reflect-start): 40-px reflection pad at the input,
    // zero-padded c/d convs, unpadded residual convs with a 2-px centre-cropped shortcut,
    // transposed-conv upsampling, 150 tanh output; input and output in caffe space (BGR - mean).
    // Layer names: "pad", then "<t>.conv" / "<t>.norm" / "<t>.relu" for arch token t (0-based:
    // 0 c9s1-16, 1 d32, 2 d64, 8 u32, 9 u16, 10 c9s1-3), "<t>.conv1", "<t>.norm1", "<t>.relu",
    // "<t>.conv2", "<t>.norm2", "<t>.add" for the residual blocks t = 3..7, and "tanh"; the
    // parameterised modules of the .t7 Sequential come in param_layout order (transformer_net.cpp).
    JcjohnsonInstanceNorm,
};

// `width` scales the channel counts (32/64/128 for PytorchExamples; 16/32/64 for jcjohnson);
// 0 = the layout's published width.
NetDesc transformer_net_desc(TransformerLayout layout, int width = 0);

}  // namespace nst
