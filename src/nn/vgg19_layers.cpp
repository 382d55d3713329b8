// SPDX-License-Identifier: MIT
#include "nn/vgg19_layers.h"

#include <algorithm>

#include "core/error.h"

namespace nst {

namespace {

std::array<LayerInfo, kNumLayers> build_table() {
    std::array<LayerInfo, kNumLayers> t;
    const int convs_per_block[5] = {2, 2, 4, 4, 4};
    const int channels[5] = {64, 128, 256, 512, 512};
    int k = 0, conv = 0;
    for (int b = 1; b <= 5; ++b) {
        for (int i = 1; i <= convs_per_block[b - 1]; ++i, ++conv) {
            const std::string suffix = std::to_string(b) + "_" + std::to_string(i);
            t[k++] = {"conv" + suffix, LayerKind::Conv, b, i, conv, channels[b - 1]};
            t[k++] = {"relu" + suffix, LayerKind::Relu, b, i, conv, channels[b - 1]};
        }
        t[k++] = {"pool" + std::to_string(b), LayerKind::Pool, b, 0, -1, channels[b - 1]};
    }
    return t;
}

}  // namespace

const std::array<LayerInfo, kNumLayers>& vgg19_layers() {
    static const std::array<LayerInfo, kNumLayers> table = build_table();
    return table;
}

int conv_layer_index(int conv) {
    NST_REQUIRE(conv >= 0 && conv < kNumConvs, "conv index out of range");
    static const std::array<int, kNumConvs> idx = [] {
        std::array<int, kNumConvs> r{};
        for (int k = 0; k < kNumLayers; ++k)
            if (vgg19_layers()[k].kind == LayerKind::Conv) r[vgg19_layers()[k].conv] = k;
        return r;
    }();
    return idx[conv];
}

int conv_out_channels(int conv) { return vgg19_layers()[conv_layer_index(conv)].channels; }
int conv_in_channels(int conv) { return conv == 0 ? 3 : conv_out_channels(conv - 1); }
const std::string& conv_name(int conv) { return vgg19_layers()[conv_layer_index(conv)].name; }

int layer_index(const std::string& name) {
    const auto& t = vgg19_layers();
    for (int k = 0; k < kNumLayers; ++k)
        if (t[k].name == name) return k;
    throw_usage("unknown layer '" + name + "' (names are conv{b}_{i}, relu{b}_{i}, pool{b}; e.g. relu4_2)");
}

std::vector<int> parse_layer_list(const std::string& comma_list, const std::string& option_name) {
    std::vector<int> out;
    std::size_t start = 0;
    while (start <= comma_list.size()) {
        std::size_t end = comma_list.find(',', start);
        if (end == std::string::npos) end = comma_list.size();
        std::string name = comma_list.substr(start, end - start);
        if (name.empty()) throw_usage(option_name + ": empty layer name in '" + comma_list + "'");
        int k;
        try {
            k = layer_index(name);
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

void layer_output_size(int layer, int in_h, int in_w, int& out_h, int& out_w) {
    out_h = in_h;
    out_w = in_w;
    const auto& t = vgg19_layers();
    for (int k = 0; k <= layer; ++k)
        if (t[k].kind == LayerKind::Pool) {
            out_h /= 2;
            out_w /= 2;
        }
}

std::vector<Shape> layer_shapes(int deepest, int h, int w) {
    std::vector<Shape> shapes(std::size_t(deepest + 1));
    for (int k = 0; k <= deepest; ++k) {
        int oh = 0, ow = 0;
        layer_output_size(k, h, w, oh, ow);
        if (oh <= 0 || ow <= 0)
            throw_input("a " + std::to_string(h) + "x" + std::to_string(w) + " image is too small for VGG19 layer " +
                        vgg19_layers()[k].name + " (each pooling halves the size)");
        shapes[std::size_t(k)] = Shape{1, vgg19_layers()[k].channels, oh, ow};
    }
    return shapes;
}

}  // namespace nst
