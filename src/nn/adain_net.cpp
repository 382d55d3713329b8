// SPDX-License-Identifier: MIT
// The port's Sequentials (net.py) written out module by module: `idx` follows the Sequential's
// index so that every conv gets its state_dict name; a ReflectionPad2d(1) module followed by a
// Conv2d(padding 0) is one Conv layer with pad 1 in Reflect mode (same output), and the pad's own
// index is skipped.
#include "nn/adain_net.h"

#include <string>

#include "core/error.h"

namespace nst {

namespace {

struct Builder {
    NetDesc d;
    int idx = 0;  // the port's Sequential index of the next module

    void label(const std::string& name, Op op) {
        LayerSpec l;
        l.name = name;
        l.op = op;
        d.layers.push_back(l);
        ++idx;
    }
    // ReflectionPad2d(1) (module idx) + Conv2d 3x3 (module idx + 1) when `padded`, else a 1x1 conv.
    void conv(int channels, bool padded) {
        if (padded) ++idx;
        LayerSpec l;
        l.name = std::to_string(idx);
        l.op = Op::Conv;
        l.channels = channels;
        l.kernel = padded ? 3 : 1;
        l.pad = padded ? 1 : 0;
        l.pad_mode = PadMode::Reflect;
        d.layers.push_back(l);
        ++idx;
    }
    void pool(const std::string& name) {
        LayerSpec l;
        l.name = name;
        l.op = Op::MaxPool;
        l.kernel = 2;
        l.stride = 2;
        l.ceil_mode = true;
        d.layers.push_back(l);
        ++idx;
    }
};

}  // namespace

NetDesc adain_encoder_desc() {
    Builder b;
    b.d.arch = "adain-encoder";
    b.d.in_channels = 3;
    b.conv(3, false);  // 0: RGB [0, 1] -> caffe BGR x 255 - mean
    // (block, convs, channels) of VGG19 up to conv4_1.
    const int convs[4] = {2, 2, 4, 1}, channels[4] = {64, 128, 256, 512};
    for (int block = 1; block <= 4; ++block) {
        for (int k = 1; k <= convs[block - 1]; ++k) {
            b.conv(channels[block - 1], true);
            b.label("relu" + std::to_string(block) + "_" + std::to_string(k), Op::Relu);
        }
        if (block < 4) b.pool("pool" + std::to_string(block));
    }
    NST_REQUIRE(b.idx == 31, "adain_encoder_desc: the port's vgg[:31] has 31 modules");
    validate(b.d);
    return b.d;
}

std::array<int, 4> adain_encoder_relu_layers() {
    const NetDesc d = adain_encoder_desc();
    std::array<int, 4> out{};
    const char* names[4] = {"relu1_1", "relu2_1", "relu3_1", "relu4_1"};
    for (int i = 0; i < 4; ++i)
        for (std::size_t l = 0; l < d.layers.size(); ++l)
            if (d.layers[l].name == names[i]) out[std::size_t(i)] = int(l);
    return out;
}

NetDesc adain_decoder_desc() {
    Builder b;
    b.d.arch = "adain-decoder";
    b.d.in_channels = 512;
    int relu = 0, up = 0;
    auto conv_relu = [&](int channels) {
        b.conv(channels, true);
        b.label("relu" + std::to_string(++relu), Op::Relu);
    };
    auto upsample = [&] { b.label("up" + std::to_string(++up), Op::Upsample); };
    conv_relu(256);  // 0-2
    upsample();      // 3
    for (int k = 0; k < 3; ++k) conv_relu(256);  // 4-12
    conv_relu(128);  // 13-15
    upsample();      // 16
    conv_relu(128);  // 17-19
    conv_relu(64);   // 20-22
    upsample();      // 23
    conv_relu(64);   // 24-26
    b.conv(3, true); // 27-28
    NST_REQUIRE(b.idx == 29, "adain_decoder_desc: the port's decoder has 29 modules");
    validate(b.d);
    return b.d;
}

}  // namespace nst
