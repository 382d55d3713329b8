// SPDX-License-Identifier: MIT
#include "convert/vgg16_mapping.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <map>

#include "core/error.h"

namespace nst::convert {

namespace {

struct Conv {
    const char* name;
    int out, in, feature;
};
// Configuration D: features index advances by 2 per conv (conv + ReLU) and 1 per pool.
constexpr std::array<Conv, kVgg16Convs> kConvs = {{
    {"conv1_1", 64, 3, 0},     {"conv1_2", 64, 64, 2},
    {"conv2_1", 128, 64, 5},   {"conv2_2", 128, 128, 7},
    {"conv3_1", 256, 128, 10}, {"conv3_2", 256, 256, 12}, {"conv3_3", 256, 256, 14},
    {"conv4_1", 512, 256, 17}, {"conv4_2", 512, 512, 19}, {"conv4_3", 512, 512, 21},
    {"conv5_1", 512, 512, 24}, {"conv5_2", 512, 512, 26}, {"conv5_3", 512, 512, 28},
}};

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

const std::string& vgg16_conv_name(int conv) {
    static const std::array<std::string, kVgg16Convs> names = [] {
        std::array<std::string, kVgg16Convs> n;
        for (int k = 0; k < kVgg16Convs; ++k) n[std::size_t(k)] = kConvs[std::size_t(k)].name;
        return n;
    }();
    return names.at(std::size_t(conv));
}
int vgg16_out_channels(int conv) { return kConvs.at(std::size_t(conv)).out; }
int vgg16_in_channels(int conv) { return kConvs.at(std::size_t(conv)).in; }
int vgg16_feature_index(int conv) { return kConvs.at(std::size_t(conv)).feature; }

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
        const Conv& k = kConvs[std::size_t(c)];
        return m.prefix + (m.naming == Naming::Canonical ? std::string(k.name) : "features." + std::to_string(k.feature)) +
               "." + what;
    };
    auto shown = [&](const SourceTensor& t, int c, const char* what) {
        const std::string canon = std::string(kConvs[std::size_t(c)].name) + "." + what;
        const std::string& own = t.origin.empty() ? t.name : t.origin;
        return own == canon ? own : printable(own) + " (" + canon + ")";
    };

    const SourceTensor* src[kVgg16Convs][2];
    for (int c = 0; c < kVgg16Convs; ++c) {
        const Conv& k = kConvs[std::size_t(c)];
        const std::vector<std::int64_t> want[2] = {{k.out, k.in, 3, 3}, {k.out}};
        const char* what[2] = {"weight", "bias"};
        for (int w = 0; w < 2; ++w) {
            auto it = by_name.find(file_name(c, what[w]));
            if (it == by_name.end())
                fail("VGG16 tensor " + file_name(c, what[w]) + " (" + k.name + "." + what[w] + ") is missing");
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
