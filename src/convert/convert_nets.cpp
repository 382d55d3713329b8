// SPDX-License-Identifier: MIT
#include "convert/convert_nets.h"

#include <filesystem>

#include "convert/adain_mapping.h"
#include "convert/jcjohnson_mapping.h"
#include "core/error.h"
#include "nn/safetensors.h"

namespace nst::convert {

namespace {

std::string base_name(const std::string& path) { return std::filesystem::path(path).filename().string(); }

bool has_name_ending(const Checkpoint& ck, const std::string& suffix) {
    for (const SourceTensor& t : ck.tensors)
        if (t.name.size() >= suffix.size() && t.name.compare(t.name.size() - suffix.size(), suffix.size(), suffix) == 0)
            return true;
    return false;
}

// "a VGG19", "an AdaIN encoder".
std::string with_article(const char* title) { return std::string(title[0] == 'A' ? "an " : "a ") + title; }

}  // namespace

NetKind resolve_kind(const Checkpoint& ck, const ConvertOptions& options) {
    const NetKind found = classify(ck);
    NetKind wanted = found;
    if (!parse_net_kind(options.arch, wanted) || wanted == found) return found;
    // vgg_normalised.pth is both: the AdaIN encoder (vgg[:31]) or, asked for, WCT's to relu5_1.
    if (found == NetKind::AdainEncoder && wanted == NetKind::VggNormalised) return wanted;
    if (wanted == NetKind::TransformerNetJcjohnson)
        fail_file(ck.format, ck.path, std::string("holds a ") + net_kind_title(found) + "; jcjohnson's models are "
                                      "Torch7 (.t7) files");
    // The names prove another network only when they are that network's; otherwise the wanted
    // mapping runs and says which of its tensors are missing.
    const bool proven = found == NetKind::TransformerNet || found == NetKind::AdainEncoder ||
                        found == NetKind::AdainDecoder ||
                        has_name_ending(ck, "conv1_1.weight") || has_name_ending(ck, "features.0.weight");
    if (proven)
        fail_file(ck.format, ck.path, "holds " + with_article(net_kind_title(found)) + ", not " +
                                          with_article(net_kind_title(wanted)) + " (--arch " + net_kind_name(wanted) + ")");
    return wanted;
}

ConvertedVgg16 convert_vgg16(const Checkpoint& ck, const ConvertOptions& options) {
    ConvertedVgg16 c;
    c.format = ck.format;
    c.mapped = map_vgg16(ck);
    c.meta = decide_vgg_metadata(ck, c.mapped.naming, c.mapped.prefix, options);
    // The VGG19 rules' texts, told for VGG16.
    std::string& why = c.meta.preprocess_reason;
    if (auto at = why.find("Keras's VGG19"); at != std::string::npos) why.replace(at, 13, "Keras's VGG16");
    if (auto at = why.find("vgg19-d01eb7cb.pth"); at != std::string::npos) why.replace(at, 18, "vgg16-00b39a1b.pth");
    if (auto at = why.find("Gatys's vgg_conv.pth, a Caffe port"); at != std::string::npos)
        why.replace(at, 34, "a Caffe port");
    return c;
}

std::map<std::string, std::string> vgg16_metadata(const ConvertedVgg16& c) {
    std::map<std::string, std::string> meta = c.meta.extra;
    meta["nst.arch"] = "vgg16";
    meta["nst.preprocess"] = preprocess_name(c.meta.preprocess);
    meta["nst.normalized"] = c.meta.normalized ? "true" : "false";
    if (!c.meta.source.empty()) meta["nst.source"] = c.meta.source;
    return meta;
}

void save_vgg16(const std::string& path, const ConvertedVgg16& c) {
    std::vector<SafetensorsView> views;
    for (int k = 0; k < kVgg16Convs; ++k) {
        const std::int64_t o = vgg16_out_channels(k), i = vgg16_in_channels(k);
        views.push_back({vgg16_conv_name(k) + ".weight", {o, i, 3, 3}, c.mapped.weight[std::size_t(k)].data()});
        views.push_back({vgg16_conv_name(k) + ".bias", {o}, c.mapped.bias[std::size_t(k)].data()});
    }
    save_safetensors(path, views, vgg16_metadata(c));
}

ConvertedModel convert_jcjohnson(const std::string& path, const ConvertOptions& options) {
    if (!options.preprocess.empty() || !options.normalized.empty())
        throw_usage("--preprocess and --normalized describe VGG weights, not a feed-forward model");
    NetKind wanted = NetKind::TransformerNetJcjohnson;
    if (parse_net_kind(options.arch, wanted) && wanted != NetKind::TransformerNetJcjohnson)
        fail_file(Format::Torch7, path, std::string("nst reads Torch7 files only as jcjohnson/fast-neural-style models, "
                                                    "not as a ") + net_kind_title(wanted) + " (--arch " +
                                            net_kind_name(wanted) + ")");
    ConvertedModel c;
    c.format = Format::Torch7;
    c.mapped = map_jcjohnson(path);
    auto& meta = c.mapped.model.metadata;
    meta["nst.io"] = "caffe-bgr";
    meta["nst.source"] = !options.source.empty()
                             ? options.source
                             : base_name(path) + " (Torch7 file, jcjohnson/fast-neural-style instance-norm model)";
    return c;
}

ConvertedModel convert_transformer(const Checkpoint& ck, const ConvertOptions& options) {
    if (!options.preprocess.empty() || !options.normalized.empty())
        throw_usage("--preprocess and --normalized describe VGG weights; a TransformerNet model takes RGB in [0, 255]");
    ConvertedModel c;
    c.format = ck.format;
    c.mapped = map_transformer(ck);
    auto& meta = c.mapped.model.metadata;
    for (const auto& [k, v] : ck.metadata)
        if (k.rfind("nst.", 0) == 0) meta[k] = v;
    meta["nst.io"] = "rgb255";
    if (!options.source.empty()) {
        meta["nst.source"] = options.source;
    } else if (!meta.count("nst.source") || meta["nst.source"].empty()) {
        std::string s = base_name(ck.path) + " (" + format_name(ck.format) + ", pytorch/examples fast_neural_style "
                        "TransformerNet" + (c.mapped.prefix.empty() ? "" : ", under '" + c.mapped.prefix + "'");
        if (c.mapped.dropped)
            s += ", " + std::to_string(c.mapped.dropped) + " legacy InstanceNorm running-statistics keys dropped";
        meta["nst.source"] = s + ")";
    }
    return c;
}

ConvertedModel convert_adain(const Checkpoint& ck, NetKind kind, const ConvertOptions& options) {
    NST_REQUIRE(kind == NetKind::AdainEncoder || kind == NetKind::AdainDecoder || kind == NetKind::VggNormalised,
                "convert_adain: not an AdaIN kind");
    if (!options.preprocess.empty() || !options.normalized.empty())
        throw_usage("--preprocess and --normalized describe VGG weights; AdaIN's networks take and give RGB in [0, 1]");
    const bool deep = kind == NetKind::VggNormalised;
    const bool encoder = kind == NetKind::AdainEncoder || deep;
    AdainMapped a = map_adain(ck, encoder, deep);
    ConvertedModel c;
    c.format = ck.format;
    c.mapped.model = std::move(a.model);
    c.mapped.width = model_width(c.mapped.model.desc);
    c.mapped.dropped = a.dropped;
    auto& meta = c.mapped.model.metadata;
    meta["nst.io"] = "rgb01";
    if (!options.source.empty()) {
        meta["nst.source"] = options.source;
    } else {
        std::string s = base_name(ck.path) + " (" + format_name(ck.format) + ", naoto0804/pytorch-AdaIN " +
                        (encoder ? "vgg_normalised encoder" : "decoder");
        if (a.dropped)
            s += std::string(deep ? ", vgg[:44] up to relu5_1; " : ", vgg[:31] up to relu4_1; ") +
                 std::to_string(a.dropped) + (deep ? " tensors of vgg[44:] dropped" : " tensors of vgg[31:] dropped");
        meta["nst.source"] = s + ")";
    }
    return c;
}

}  // namespace nst::convert
