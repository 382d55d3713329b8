// SPDX-License-Identifier: MIT
#include "convert/vgg19_mapping.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "core/error.h"
#include "nn/vgg19_layers.h"

namespace nst::convert {

namespace {

std::string tensor_name(Naming naming, const std::string& prefix, int conv, const char* what) {
    if (naming == Naming::Canonical) return prefix + conv_name(conv) + "." + what;
    return prefix + "features." + std::to_string(conv_layer_index(conv)) + "." + what;
}

// How messages show a tensor: its place in the file, and the canonical name when that differs.
std::string shown(const SourceTensor& t, int conv, const char* what) {
    const std::string canon = conv_name(conv) + "." + what;
    const std::string& own = t.origin.empty() ? t.name : t.origin;
    return own == canon ? own : printable(own) + " (" + canon + ")";
}

// Candidates for the prefix before a first-layer name, e.g. "module." before "features.0.weight".
std::vector<std::string> prefixes(const std::map<std::string, const SourceTensor*>& by_name, const std::string& first) {
    std::vector<std::string> out;
    for (const auto& [name, t] : by_name) {
        if (name.size() < first.size() || name.compare(name.size() - first.size(), first.size(), first) != 0) continue;
        const std::string p = name.substr(0, name.size() - first.size());
        if (p.empty() || p.back() == '.' || p.back() == '/') out.push_back(p);
    }
    // The shortest prefix: the model itself rather than, say, an EMA copy nested inside it.
    std::sort(out.begin(), out.end(), [](const std::string& a, const std::string& b) {
        return a.size() != b.size() ? a.size() < b.size() : a < b;
    });
    return out;
}

const char* vgg_by_conv_count(std::size_t n) {
    switch (n) {
        case 8: return "VGG11";
        case 10: return "VGG13";
        case 13: return "VGG16";
        default: return nullptr;
    }
}

std::string list_names(const Checkpoint& ck, std::size_t max) {
    std::string s;
    for (std::size_t i = 0; i < ck.tensors.size() && i < max; ++i)
        s += (i ? ", " : "") + printable(ck.tensors[i].origin.empty() ? ck.tensors[i].name : ck.tensors[i].origin, 60) +
             " " + shape_string(ck.tensors[i].shape);
    if (ck.tensors.size() > max) s += ", ...";
    return s;
}

}  // namespace

Mapped map_vgg19(const Checkpoint& ck) {
    auto fail = [&](const std::string& what) { fail_file(ck.format, ck.path, what); };
    std::map<std::string, const SourceTensor*> by_name;
    for (const SourceTensor& t : ck.tensors) by_name.emplace(t.name, &t);
    if (ck.tensors.empty()) fail("holds no tensors");

    Mapped m;
    const std::vector<std::string> canon = prefixes(by_name, "conv1_1.weight");
    const std::vector<std::string> tv = prefixes(by_name, "features.0.weight");
    if (!canon.empty()) {
        m.naming = Naming::Canonical;
        m.prefix = canon.front();
    } else if (!tv.empty()) {
        m.naming = Naming::Torchvision;
        m.prefix = tv.front();
    } else {
        bool bn = false;
        for (const auto& t : ck.tensors) bn = bn || t.name.find("running_mean") != std::string::npos;
        fail(std::string("no VGG19 conv tensors (expected conv1_1.weight ... conv5_4.bias, or torchvision's "
                         "features.0.weight ... features.34.bias)") +
             (bn ? "; it has batch-norm statistics" : "") + ": not a VGG19 checkpoint. It holds " +
             std::to_string(ck.tensors.size()) + " tensors: " + list_names(ck, 5));
    }
    const std::string& p = m.prefix;

    // Architecture: which conv layers the file has, before looking at single tensors.
    if (m.naming == Naming::Torchvision) {
        std::vector<int> found;
        bool bn = false;
        for (int k = 0; k < 64; ++k) {
            auto it = by_name.find(p + "features." + std::to_string(k) + ".weight");
            if (it != by_name.end() && it->second->shape.size() == 4) found.push_back(k);
            bn = bn || by_name.count(p + "features." + std::to_string(k) + ".running_mean");
        }
        std::vector<int> expected;
        for (int c = 0; c < kNumConvs; ++c) expected.push_back(conv_layer_index(c));
        if (bn)
            fail("batch-normalised VGG (features.N.running_mean present, e.g. torchvision's vgg19_bn): not supported; "
                 "nst's VGG19 has no batch norm between its convolutions");
        if (found != expected) {
            std::string at;
            for (std::size_t i = 0; i < found.size(); ++i) at += (i ? ", " : "") + std::to_string(found[i]);
            const char* arch = vgg_by_conv_count(found.size());
            fail("not VGG19: " + std::to_string(found.size()) + " conv layers at features." + (at.empty() ? "-" : at) +
                 (arch ? std::string(" (the layout of ") + arch + ")" : std::string()) +
                 "; VGG19 has 16 at features.0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34");
        }
    } else {
        std::vector<std::string> missing;
        for (int c = 0; c < kNumConvs; ++c)
            if (!by_name.count(p + conv_name(c) + ".weight")) missing.push_back(conv_name(c));
        if (!missing.empty()) {
            std::string list;
            for (std::size_t i = 0; i < missing.size(); ++i) list += (i ? ", " : "") + missing[i];
            const char* arch = vgg_by_conv_count(std::size_t(kNumConvs) - missing.size());
            fail("not VGG19: no " + list + " (" + std::to_string(kNumConvs - int(missing.size())) + " of VGG19's 16 conv layers" +
                 (arch ? std::string("; the layout of ") + arch : std::string()) + ")");
        }
    }

    // Every tensor present with its exact shape before any data is read.
    const SourceTensor* src[kNumConvs][2];
    for (int c = 0; c < kNumConvs; ++c) {
        const int o = conv_out_channels(c), i = conv_in_channels(c);
        const std::pair<const char*, std::vector<std::int64_t>> params[2] = {{"weight", {o, i, 3, 3}}, {"bias", {o}}};
        for (int w = 0; w < 2; ++w) {
            const auto& [what, expect] = params[w];
            auto it = by_name.find(tensor_name(m.naming, p, c, what));
            if (it == by_name.end()) fail("missing tensor " + tensor_name(m.naming, p, c, what) + " (" + conv_name(c) + "." + what + ")");
            const SourceTensor& t = *it->second;
            if (t.shape != expect)
                fail("tensor " + shown(t, c, what) + " has shape " + shape_string(t.shape) + ", expected " +
                     shape_string(expect));
            src[c][w] = &t;
        }
        m.weights.conv[std::size_t(c)].weight = Tensor<float>(Shape{o, i, 3, 3});
        m.weights.conv[std::size_t(c)].bias = Tensor<float>(Shape{1, o, 1, 1});
    }
    for (int c = 0; c < kNumConvs; ++c)
        for (int w = 0; w < 2; ++w) {
            ConvParams& cp = m.weights.conv[std::size_t(c)];
            Tensor<float>& dst = w == 0 ? cp.weight : cp.bias;
            src[c][w]->read(dst.data());
            const char* what = w == 0 ? "weight" : "bias";
            for (std::size_t k = 0; k < dst.numel(); ++k)
                if (!std::isfinite(dst.data()[k]))
                    fail("tensor " + shown(*src[c][w], c, what) + " has a non-finite value at index " + std::to_string(k));
        }
    return m;
}

}  // namespace nst::convert
