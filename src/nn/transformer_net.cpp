// SPDX-License-Identifier: MIT
// The two TransformerNet layouts as NetDescs (docs/research/feedforward.md §2.1, §2.5, §3.1).
//
// PytorchExamples: layer names are the state_dict prefixes of pytorch/examples'
// transformer_net.py (conv1.conv2d, in1, ..., res1.conv1.conv2d, res1.in1, ..., deconv3.conv2d),
// so a .pth file maps key for key; the parameterless layers get labels (relu1, res1.relu,
// res1.add, deconv1.up, ...).
//
// JcjohnsonInstanceNorm: jcjohnson/fast-neural-style builds its model from the -arch string
// c9s1-16,d32,d64,R64,R64,R64,R64,R64,u32,u16,c9s1-3 (models.lua). Layers are named
// "<t>.<part>" with t the 0-based index of the arch token that made them:
//   "<t>.conv", "<t>.norm", "<t>.relu"             for c, d and u tokens (t = 0, 1, 2, 8, 9, 10;
//                                                 token 10, the last, has no norm and no ReLU)
//   "<t>.conv1", "<t>.norm1", "<t>.relu", "<t>.conv2", "<t>.norm2", "<t>.add"
//                                                 for the residual blocks R (t = 3..7)
// plus "pad" (the 40-px SpatialReflectionPadding train.lua inserts first) and "tanh" (Tanh then
// MulConstant(150)). A .t7 converter walks the Sequential in order and takes the parameterised
// modules (SpatialConvolution, SpatialFullConvolution, InstanceNormalization) one by one: they
// come in exactly param_layout order, and the token index tells which arch token each belongs to.
#include "nn/transformer_net.h"

#include <string>

namespace nst {

namespace {

LayerSpec conv(std::string name, int channels, int kernel, int stride, int pad, PadMode mode) {
    LayerSpec l;
    l.name = std::move(name);
    l.op = Op::Conv;
    l.channels = channels;
    l.kernel = kernel;
    l.stride = stride;
    l.pad = pad;
    l.pad_mode = mode;
    return l;
}

LayerSpec simple(std::string name, Op op) {
    LayerSpec l;
    l.name = std::move(name);
    l.op = op;
    return l;
}

int last(const NetDesc& d) { return int(d.layers.size()) - 1; }

NetDesc pytorch_examples(int width) {
    const int w1 = width, w2 = 2 * width, w3 = 4 * width;
    const PadMode R = PadMode::Reflect;
    NetDesc d;
    d.arch = "transformer-net";
    d.in_channels = 3;
    auto conv_in_relu = [&](const std::string& conv_name, int i, int channels, int kernel, int stride) {
        d.layers.push_back(conv(conv_name, channels, kernel, stride, kernel / 2, R));
        d.layers.push_back(simple("in" + std::to_string(i), Op::InstanceNorm));
        d.layers.push_back(simple("relu" + std::to_string(i), Op::Relu));
    };
    conv_in_relu("conv1.conv2d", 1, w1, 9, 1);
    conv_in_relu("conv2.conv2d", 2, w2, 3, 2);
    conv_in_relu("conv3.conv2d", 3, w3, 3, 2);
    for (int b = 1; b <= 5; ++b) {
        const std::string p = "res" + std::to_string(b) + ".";
        const int block_input = last(d);
        d.layers.push_back(conv(p + "conv1.conv2d", w3, 3, 1, 1, R));
        d.layers.push_back(simple(p + "in1", Op::InstanceNorm));
        d.layers.push_back(simple(p + "relu", Op::Relu));
        d.layers.push_back(conv(p + "conv2.conv2d", w3, 3, 1, 1, R));
        d.layers.push_back(simple(p + "in2", Op::InstanceNorm));
        LayerSpec add = simple(p + "add", Op::Add);
        add.from = block_input;
        d.layers.push_back(add);
    }
    // UpsampleConvLayer: nearest x2, then the reflection-padded conv.
    d.layers.push_back(simple("deconv1.up", Op::Upsample));
    conv_in_relu("deconv1.conv2d", 4, w2, 3, 1);
    d.layers.push_back(simple("deconv2.up", Op::Upsample));
    conv_in_relu("deconv2.conv2d", 5, w1, 3, 1);
    d.layers.push_back(conv("deconv3.conv2d", 3, 9, 1, 4, R));
    return d;
}

NetDesc jcjohnson(int width) {
    const int w1 = width, w2 = 2 * width, w3 = 4 * width;
    const PadMode Z = PadMode::Zero;
    NetDesc d;
    d.arch = "transformer-net-jcjohnson";
    d.in_channels = 3;
    LayerSpec pad = simple("pad", Op::Pad);
    pad.pad = 40;
    pad.pad_mode = PadMode::Reflect;
    d.layers.push_back(pad);
    auto norm_relu = [&](const std::string& t) {
        d.layers.push_back(simple(t + ".norm", Op::InstanceNorm));
        d.layers.push_back(simple(t + ".relu", Op::Relu));
    };
    // c9s1-16 (the c layers zero-pad under padding_type reflect-start, see §2.1), d32, d64.
    d.layers.push_back(conv("0.conv", w1, 9, 1, 4, Z));
    norm_relu("0");
    d.layers.push_back(conv("1.conv", w2, 3, 2, 1, Z));
    norm_relu("1");
    d.layers.push_back(conv("2.conv", w3, 3, 2, 1, Z));
    norm_relu("2");
    // R64 x 5: unpadded convs, the shortcut shaved by 2 px per side.
    for (int t = 3; t <= 7; ++t) {
        const std::string p = std::to_string(t) + ".";
        const int block_input = last(d);
        d.layers.push_back(conv(p + "conv1", w3, 3, 1, 0, Z));
        d.layers.push_back(simple(p + "norm1", Op::InstanceNorm));
        d.layers.push_back(simple(p + "relu", Op::Relu));
        d.layers.push_back(conv(p + "conv2", w3, 3, 1, 0, Z));
        d.layers.push_back(simple(p + "norm2", Op::InstanceNorm));
        LayerSpec add = simple(p + "add", Op::Add);
        add.from = block_input;
        d.layers.push_back(add);
    }
    // u32, u16: SpatialFullConvolution(prev, X, 3, 3, 2, 2, 1, 1, 1, 1).
    for (int t = 8; t <= 9; ++t) {
        LayerSpec up;
        up.name = std::to_string(t) + ".conv";
        up.op = Op::ConvTranspose;
        up.channels = t == 8 ? w2 : w1;
        up.kernel = 3;
        up.stride = 2;
        up.pad = 1;
        up.output_padding = 1;
        d.layers.push_back(up);
        norm_relu(std::to_string(t));
    }
    d.layers.push_back(conv("10.conv", 3, 9, 1, 4, Z));
    LayerSpec tanh = simple("tanh", Op::Tanh);
    tanh.scale = 150;
    d.layers.push_back(tanh);
    return d;
}

}  // namespace

NetDesc transformer_net_desc(TransformerLayout layout, int width) {
    NST_REQUIRE(width >= 0, "transformer_net_desc: negative width");
    NetDesc d = layout == TransformerLayout::PytorchExamples ? pytorch_examples(width == 0 ? 32 : width)
                                                             : jcjohnson(width == 0 ? 16 : width);
    validate(d);
    return d;
}

}  // namespace nst
