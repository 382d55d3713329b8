// SPDX-License-Identifier: MIT
#include "nn/wct_net.h"

#include <string>
#include <vector>

#include "core/error.h"
#include "nn/sequential_builder.h"

namespace nst {

namespace {

// Convs per VGG19 block and their channels.
constexpr int kConvs[5] = {2, 2, 4, 4, 4};
constexpr int kChannels[5] = {64, 128, 256, 512, 512};

std::string relu_name(int block, int k) { return "relu" + std::to_string(block) + "_" + std::to_string(k); }

}  // namespace

NetDesc vgg_normalised_desc() {
    SequentialBuilder b;
    b.d.arch = "vgg-normalised";
    b.d.in_channels = 3;
    b.conv(3, false);  // 0: RGB [0, 1] -> caffe BGR x 255 - mean
    for (int block = 1; block <= 5; ++block) {
        const int convs = block == 5 ? 1 : kConvs[block - 1];  // vgg[:44] stops at relu5_1
        for (int k = 1; k <= convs; ++k) {
            b.conv(kChannels[block - 1], true);
            b.label(relu_name(block, k), Op::Relu);
        }
        if (block < 5) b.pool("pool" + std::to_string(block));
    }
    NST_REQUIRE(b.idx == 44, "vgg_normalised_desc: the port's vgg[:44] has 44 modules");
    validate(b.d);
    return b.d;
}

int level_channels(int level) {
    NST_REQUIRE(level >= 1 && level <= kWctLevels, "level_channels: level " + std::to_string(level));
    return kChannels[level - 1];
}

int encoder_levels(const NetDesc& encoder, const std::string& where) {
    if (encoder.arch == "adain-encoder") return 4;
    if (encoder.arch == "vgg-normalised") return 5;
    throw_input(where + ": an encoder must be an adain-encoder or vgg-normalised model, not '" + encoder.arch + "'");
}

NetDesc encoder_prefix(const NetDesc& encoder, int level) {
    NST_REQUIRE(level >= 1 && level <= kWctLevels, "encoder_prefix: level " + std::to_string(level));
    const std::string last = relu_name(level, 1);
    NetDesc d = encoder;
    for (std::size_t i = 0; i < encoder.layers.size(); ++i)
        if (encoder.layers[i].name == last) {
            d.layers.resize(i + 1);
            return d;
        }
    NST_REQUIRE(false, "encoder_prefix: " + encoder.arch + " has no " + last);
    return d;
}

NetDesc wct_decoder_desc(int level) {
    NST_REQUIRE(level >= 1 && level <= kWctLevels, "wct_decoder_desc: level " + std::to_string(level));
    // The prefix's convs (input channels) and pools in encoder order, without the 1x1 conv.
    struct Step {
        bool pool;
        int in_channels;
    };
    std::vector<Step> steps;
    int channels = 3;
    for (int block = 1; block <= level; ++block) {
        if (block > 1) steps.push_back({true, 0});
        const int convs = block == level ? 1 : kConvs[block - 1];
        for (int k = 1; k <= convs; ++k) {
            steps.push_back({false, channels});
            channels = kChannels[block - 1];
        }
    }
    SequentialBuilder b;
    b.d.arch = "wct-decoder";
    b.d.in_channels = channels;
    int relu = 0, up = 0;
    for (std::size_t i = steps.size(); i-- > 0;) {
        if (steps[i].pool) {
            b.label("up" + std::to_string(++up), Op::Upsample);
            continue;
        }
        b.conv(steps[i].in_channels, true);
        if (i > 0) b.label("relu" + std::to_string(++relu), Op::Relu);
    }
    validate(b.d);
    return b.d;
}

}  // namespace nst
