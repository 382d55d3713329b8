// SPDX-License-Identifier: MIT
// The port's Sequentials (net.py) written out module by module (nn/sequential_builder.h).
#include "nn/adain_net.h"

#include <string>

#include "core/error.h"
#include "nn/sequential_builder.h"

namespace nst {

using Builder = SequentialBuilder;

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
