// SPDX-License-Identifier: MIT
#include "nn/vgg19_layers.h"

#include <algorithm>

#include "core/error.h"

namespace nst {

VggLayers::VggLayers(VggArch arch, const NetDesc& desc) : arch_(arch) {
    NST_REQUIRE(desc.in_channels == 3, "VGG description: input must have 3 channels");
    int block = 1, index = 0, channels = desc.in_channels;
    for (std::size_t k = 0; k < desc.layers.size(); ++k) {
        const LayerSpec& s = desc.layers[k];
        const std::string where = "VGG description layer " + s.name + ": ";
        LayerInfo li{s.name, LayerKind::Relu, block, index, -1, channels};
        switch (s.op) {
            case Op::Conv:
                NST_REQUIRE(s.kernel == 3 && s.stride == 1 && s.pad == 1 && s.pad_mode == PadMode::Zero && s.bias &&
                                s.channels > 0,
                            where + "convs must be 3x3, stride 1, zero pad 1, with bias");
                NST_REQUIRE(k + 1 < desc.layers.size() && desc.layers[k + 1].op == Op::Relu,
                            where + "every conv must be followed by a ReLU");
                li.kind = LayerKind::Conv;
                li.index = ++index;
                li.conv = int(conv_layer_.size());
                li.channels = channels = s.channels;
                conv_layer_.push_back(int(k));
                break;
            case Op::Relu:
                NST_REQUIRE(k > 0 && desc.layers[k - 1].op == Op::Conv, where + "a ReLU must follow a conv");
                li.conv = layers_.back().conv;
                break;
            case Op::MaxPool:
            case Op::AvgPool:
                NST_REQUIRE(s.kernel == 2 && s.stride == 2 && !s.ceil_mode, where + "pools must be 2x2, stride 2, floor mode");
                NST_REQUIRE(k > 0 && desc.layers[k - 1].op == Op::Relu, where + "a pool must follow a ReLU");
                li.kind = LayerKind::Pool;
                li.index = 0;
                ++block;
                index = 0;
                break;
            default:
                NST_REQUIRE(false, where + "only conv, ReLU and 2x2 pools are supported");
        }
        layers_.push_back(li);
    }
    NST_REQUIRE(size() <= kNumLayers && num_convs() <= kNumConvs, "VGG description larger than VGG19");
}

int VggLayers::conv_layer(int conv) const {
    NST_REQUIRE(conv >= 0 && conv < num_convs(), "conv index out of range");
    return conv_layer_[std::size_t(conv)];
}

const VggLayers& vgg_layers(VggArch arch) {
    static const VggLayers vgg19(VggArch::Vgg19, vgg_desc(VggArch::Vgg19));
    static const VggLayers vgg16(VggArch::Vgg16, vgg_desc(VggArch::Vgg16));
    return arch == VggArch::Vgg19 ? vgg19 : vgg16;
}

const VggLayers& vgg19_layers() { return vgg_layers(VggArch::Vgg19); }

int conv_layer_index(int conv, VggArch arch) { return vgg_layers(arch).conv_layer(conv); }

int conv_out_channels(int conv, VggArch arch) {
    return vgg_layers(arch)[std::size_t(conv_layer_index(conv, arch))].channels;
}
int conv_in_channels(int conv, VggArch arch) { return conv == 0 ? 3 : conv_out_channels(conv - 1, arch); }
const std::string& conv_name(int conv, VggArch arch) {
    return vgg_layers(arch)[std::size_t(conv_layer_index(conv, arch))].name;
}

int layer_index(const std::string& name, VggArch arch) {
    const VggLayers& t = vgg_layers(arch);
    for (int k = 0; k < t.size(); ++k)
        if (t[std::size_t(k)].name == name) return k;
    // A name of the other architecture (relu5_4 on VGG16) gets a message saying so.
    const VggArch other = arch == VggArch::Vgg19 ? VggArch::Vgg16 : VggArch::Vgg19;
    const VggLayers& o = vgg_layers(other);
    const std::string last = t[std::size_t(t.conv_layer(t.num_convs() - 1) + 1)].name;
    if (std::any_of(o.begin(), o.end(), [&](const LayerInfo& l) { return l.name == name; }))
        throw_usage("layer '" + name + "' is not in " + arch_title(arch) + " (the loaded weights' network; its last ReLU is " +
                    last + ")");
    throw_usage("unknown layer '" + name + "' (names are conv{b}_{i}, relu{b}_{i}, pool{b}; e.g. relu4_2)");
}

std::vector<int> parse_layer_list(const std::string& comma_list, const std::string& option_name, VggArch arch) {
    std::vector<int> out;
    std::size_t start = 0;
    while (start <= comma_list.size()) {
        std::size_t end = comma_list.find(',', start);
        if (end == std::string::npos) end = comma_list.size();
        std::string name = comma_list.substr(start, end - start);
        if (name.empty()) throw_usage(option_name + ": empty layer name in '" + comma_list + "'");
        int k;
        try {
            k = layer_index(name, arch);
        } catch (const Error& e) {
            throw_usage(option_name + ": " + e.what());
        }
        if (std::find(out.begin(), out.end(), k) != out.end())
            throw_usage(option_name + ": layer '" + name + "' given twice");
        out.push_back(k);
        start = end + 1;
    }
    return out;
}

void layer_output_size(int layer, int in_h, int in_w, int& out_h, int& out_w, VggArch arch) {
    out_h = in_h;
    out_w = in_w;
    const VggLayers& t = vgg_layers(arch);
    for (int k = 0; k <= layer; ++k)
        if (t[std::size_t(k)].kind == LayerKind::Pool) {
            out_h /= 2;
            out_w /= 2;
        }
}

std::vector<Shape> layer_shapes(int deepest, int h, int w, VggArch arch) {
    const VggLayers& t = vgg_layers(arch);
    std::vector<Shape> shapes(std::size_t(deepest + 1));
    for (int k = 0; k <= deepest; ++k) {
        int oh = 0, ow = 0;
        layer_output_size(k, h, w, oh, ow, arch);
        if (oh <= 0 || ow <= 0)
            throw_input("a " + std::to_string(h) + "x" + std::to_string(w) + " image is too small for " +
                        arch_title(arch) + " layer " + t[std::size_t(k)].name + " (each pooling halves the size)");
        shapes[std::size_t(k)] = Shape{1, t[std::size_t(k)].channels, oh, ow};
    }
    return shapes;
}

}  // namespace nst
