// SPDX-License-Identifier: MIT
#include "convert/net_kind.h"

#include <cstdint>
#include <map>
#include <set>
#include <vector>

#include "core/error.h"

namespace nst::convert {

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// torchvision's features index of every conv of VGG16 (configuration D).
const std::vector<int> kVgg16Features = {0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28};

}  // namespace

const char* net_kind_name(NetKind kind) {
    switch (kind) {
        case NetKind::Vgg19: return "vgg19";
        case NetKind::Vgg16: return "vgg16";
        case NetKind::TransformerNet: return "transformer-net";
        case NetKind::TransformerNetJcjohnson: return "transformer-net-jcjohnson";
        case NetKind::AdainEncoder: return "adain-encoder";
        case NetKind::AdainDecoder: return "adain-decoder";
        case NetKind::VggNormalised: return "vgg-normalised";
    }
    return "?";
}

const char* net_kind_title(NetKind kind) {
    switch (kind) {
        case NetKind::Vgg19: return "VGG19";
        case NetKind::Vgg16: return "VGG16";
        case NetKind::TransformerNet: return "TransformerNet (pytorch/examples)";
        case NetKind::TransformerNetJcjohnson: return "TransformerNet (jcjohnson instance-norm)";
        case NetKind::AdainEncoder: return "AdaIN encoder (pytorch-AdaIN vgg_normalised)";
        case NetKind::AdainDecoder: return "AdaIN decoder (pytorch-AdaIN)";
        case NetKind::VggNormalised: return "normalised VGG19 to relu5_1 (pytorch-AdaIN vgg_normalised, for WCT)";
    }
    return "?";
}

NetKind classify(const Checkpoint& ck) {
    std::set<std::string> names;
    for (const SourceTensor& t : ck.tensors) names.insert(t.name);
    // pytorch-AdaIN's Sequentials: bare indices, told apart by their first and last convs' shapes
    // (the preprocessing 1x1 conv; the decoder's 512 -> 256 and 64 -> 3 convs).
    std::map<std::string, std::vector<std::int64_t>> shape;
    for (const SourceTensor& t : ck.tensors) shape[t.name] = t.shape;
    if (shape["0.weight"] == std::vector<std::int64_t>{3, 3, 1, 1}) return NetKind::AdainEncoder;
    if (shape["1.weight"] == std::vector<std::int64_t>{256, 512, 3, 3} &&
        shape["28.weight"] == std::vector<std::int64_t>{3, 64, 3, 3})
        return NetKind::AdainDecoder;
    // TransformerNet: its residual blocks and upsampling convs have names no VGG file has.
    for (const std::string& n : names)
        if (ends_with(n, "res1.conv1.conv2d.weight") || ends_with(n, "deconv1.conv2d.weight") ||
            ends_with(n, "deconv3.conv2d.weight") || (ends_with(n, "conv1.conv2d.weight") && names.count(
                                                          n.substr(0, n.size() - 19) + "in1.weight")))
            return NetKind::TransformerNet;
    // Canonical names: VGG16 has conv5_3 and no fourth conv in blocks 3-5.
    for (const std::string& n : names)
        if (ends_with(n, "conv5_3.weight") || ends_with(n, "conv4_3.weight")) {
            const std::string p = n.substr(0, n.size() - 14);
            if (!names.count(p + "conv3_4.weight") && !names.count(p + "conv4_4.weight") &&
                !names.count(p + "conv5_4.weight"))
                return NetKind::Vgg16;
            break;
        }
    // torchvision names: the 4-D features.K.weight tensors sit where VGG16's convs do.
    for (const std::string& n : names)
        if (ends_with(n, "features.0.weight")) {
            const std::string p = n.substr(0, n.size() - 17);
            std::vector<int> found;
            for (const SourceTensor& t : ck.tensors)
                for (int k = 0; k < 64; ++k)
                    if (t.name == p + "features." + std::to_string(k) + ".weight" && t.shape.size() == 4)
                        found.push_back(k);
            std::set<int> f(found.begin(), found.end());
            if (std::vector<int>(f.begin(), f.end()) == kVgg16Features) return NetKind::Vgg16;
            break;
        }
    return NetKind::Vgg19;
}

bool parse_net_kind(const std::string& name, NetKind& out) {
    if (name == "auto") return false;
    for (NetKind k : {NetKind::Vgg19, NetKind::Vgg16, NetKind::TransformerNet, NetKind::TransformerNetJcjohnson,
                      NetKind::AdainEncoder, NetKind::AdainDecoder, NetKind::VggNormalised})
        if (name == net_kind_name(k)) {
            out = k;
            return true;
        }
    throw_usage("--arch '" + name + "': choose auto, vgg19, vgg16, transformer-net, transformer-net-jcjohnson, adain-encoder, "
                "adain-decoder or vgg-normalised");
}

}  // namespace nst::convert
