// SPDX-License-Identifier: MIT
#include "nn/vgg_desc.h"

namespace nst {

const char* arch_name(VggArch arch) { return arch == VggArch::Vgg19 ? "vgg19" : "vgg16"; }
const char* arch_title(VggArch arch) { return arch == VggArch::Vgg19 ? "VGG19" : "VGG16"; }

bool parse_arch(const std::string& name, VggArch& arch) {
    if (name == "vgg19") {
        arch = VggArch::Vgg19;
        return true;
    }
    if (name == "vgg16") {
        arch = VggArch::Vgg16;
        return true;
    }
    return false;
}

NetDesc vgg_desc(VggArch arch, Pooling pooling) {
    // Convs per block: the only difference between the two configurations.
    const int vgg19[5] = {2, 2, 4, 4, 4}, vgg16[5] = {2, 2, 3, 3, 3};
    const int* convs_per_block = arch == VggArch::Vgg19 ? vgg19 : vgg16;
    const int channels[5] = {64, 128, 256, 512, 512};
    NetDesc d;
    d.arch = arch_name(arch);
    d.in_channels = 3;
    for (int b = 1; b <= 5; ++b) {
        for (int i = 1; i <= convs_per_block[b - 1]; ++i) {
            const std::string suffix = std::to_string(b) + "_" + std::to_string(i);
            LayerSpec conv;
            conv.name = "conv" + suffix;
            conv.op = Op::Conv;
            conv.channels = channels[b - 1];
            conv.kernel = 3;
            conv.stride = 1;
            conv.pad = 1;
            conv.pad_mode = PadMode::Zero;
            conv.bias = true;
            d.layers.push_back(conv);
            LayerSpec relu;
            relu.name = "relu" + suffix;
            relu.op = Op::Relu;
            d.layers.push_back(relu);
        }
        LayerSpec pool;
        pool.name = "pool" + std::to_string(b);
        pool.op = pooling == Pooling::Max ? Op::MaxPool : Op::AvgPool;
        pool.kernel = 2;
        pool.stride = 2;
        pool.ceil_mode = false;
        d.layers.push_back(pool);
    }
    return d;
}

}  // namespace nst
