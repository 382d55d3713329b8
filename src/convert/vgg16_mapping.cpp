// SPDX-License-Identifier: MIT
#include "convert/vgg16_mapping.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "core/error.h"
#include "nn/vgg19_layers.h"

namespace nst::convert {

namespace {


// The shortest prefix before `first` among the file's names ("" for most files).
bool find_prefix(const std::map<std::string, const SourceTensor*>& by_name, const std::string& first, std::string& out) {
    bool found = false;
    for (const auto& [name, t] : by_name) {
        if (name.size() < first.size() || name.compare(name.size() - first.size(), first.size(), first) != 0) continue;
        const std::string p = name.substr(0, name.size() - first.size());
        if (!p.empty() && p.back() != '.' && p.back() != '/') continue;
        if (!found || p.size() < out.size()) out = p;
        found = true;
    }
    return found;
}

}  // namespace

// The table is nn's VGG16 description (nn/vgg_desc.h): torchvision's features index of a conv is
// its position in that description.
const std::string& vgg16_conv_name(int conv) { return conv_name(conv, VggArch::Vgg16); }
int vgg16_out_channels(int conv) { return conv_out_channels(conv, VggArch::Vgg16); }
int vgg16_in_channels(int conv) { return conv_in_channels(conv, VggArch::Vgg16); }
int vgg16_feature_index(int conv) { return conv_layer_index(conv, VggArch::Vgg16); }

Vgg16Mapped map_vgg16(const Checkpoint& ck) {
    auto fail = [&](const std::string& what) { fail_file(ck.format, ck.path, what); };
    std::map<std::string, const SourceTensor*> by_name;
    for (const SourceTensor& t : ck.tensors) by_name.emplace(t.name, &t);

    Vgg16Mapped m;
    if (find_prefix(by_name, "conv1_1.weight", m.prefix) || find_prefix(by_name, "conv5_3.weight", m.prefix)) {
        m.naming = Naming::Canonical;
    } else if (find_prefix(by_name, "features.0.weight", m.prefix)) {
        m.naming = Naming::Torchvision;
    } else {
        fail("no VGG16 conv tensors (expected conv1_1.weight ... conv5_3.bias, or torchvision's features.0.weight ... "
             "features.28.bias): not a VGG16 checkpoint");
    }
    auto file_name = [&](int c, const char* what) {
        return m.prefix +
               (m.naming == Naming::Canonical ? vgg16_conv_name(c) : "features." + std::to_string(vgg16_feature_index(c))) +
               "." + what;
    };
    auto shown = [&](const SourceTensor& t, int c, const char* what) {
        const std::string canon = vgg16_conv_name(c) + "." + what;
        const std::string& own = t.origin.empty() ? t.name : t.origin;
        return own == canon ? own : printable(own) + " (" + canon + ")";
    };

    const SourceTensor* src[kVgg16Convs][2];
    for (int c = 0; c < kVgg16Convs; ++c) {
        const std::int64_t out = vgg16_out_channels(c), in = vgg16_in_channels(c);
        const std::vector<std::int64_t> want[2] = {{out, in, 3, 3}, {out}};
        const char* what[2] = {"weight", "bias"};
        for (int w = 0; w < 2; ++w) {
            auto it = by_name.find(file_name(c, what[w]));
            if (it == by_name.end())
                fail("VGG16 tensor " + file_name(c, what[w]) + " (" + vgg16_conv_name(c) + "." + what[w] + ") is missing");
            if (it->second->shape != want[w])
                fail("VGG16 tensor " + shown(*it->second, c, what[w]) + " has shape " + shape_string(it->second->shape) +
                     ", expected " + shape_string(want[w]));
            src[c][w] = it->second;
        }
    }
    m.weight.resize(kVgg16Convs);
    m.bias.resize(kVgg16Convs);
    for (int c = 0; c < kVgg16Convs; ++c)
        for (int w = 0; w < 2; ++w) {
            std::vector<float>& dst = w == 0 ? m.weight[std::size_t(c)] : m.bias[std::size_t(c)];
            dst.resize(shape_numel(src[c][w]->shape));
            src[c][w]->read(dst.data());
            for (std::size_t i = 0; i < dst.size(); ++i)
                if (!std::isfinite(dst[i]))
                    fail("VGG16 tensor " + shown(*src[c][w], c, w == 0 ? "weight" : "bias") +
                         " has a non-finite value at index " + std::to_string(i));
        }
    return m;
}

}  // namespace nst::convert
