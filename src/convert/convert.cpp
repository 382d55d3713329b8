// SPDX-License-Identifier: MIT
#include "convert/convert.h"

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "convert/detect.h"
#include "core/error.h"
#include "nn/safetensors.h"

namespace nst::convert {

namespace {

std::string lower(std::string s) {
    for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

std::string base_name(const std::string& path) { return std::filesystem::path(path).filename().string(); }

// Hashes in the file names of Caffe weights re-saved with torchvision's names.
// (jcjohnson's pytorch-vgg: vgg19-d01eb7cb and vgg16-00b39a1b; pystiche's vgg19-74e45263.)
constexpr const char* kCaffePorts[] = {"d01eb7cb", "74e45263", "00b39a1b"};

}  // namespace

std::string torchvision_names_rule() {
    std::string hashes;
    for (const char* h : kCaffePorts) hashes += std::string(hashes.empty() ? "" : ", ") + h;
    return "features.N names are torchvision's AND those of Caffe ports (jcjohnson's vgg19-d01eb7cb.pth, used by "
           "neural-style-pt); the tensors cannot tell them apart, so nst takes torchvision preprocessing unless the "
           "file name holds a known Caffe-port hash (" + hashes + "). Override: `nst weights convert IN OUT "
           "--preprocess caffe|torchvision`";
}

namespace {

}  // namespace

void check_options(const ConvertOptions& o) {
    Format from = Format::Safetensors;
    parse_format(o.from, from);
    if (!o.preprocess.empty() && o.preprocess != "caffe" && o.preprocess != "torchvision")
        throw_usage("--preprocess '" + o.preprocess + "': choose caffe or torchvision");
    if (!o.normalized.empty() && o.normalized != "true" && o.normalized != "false")
        throw_usage("--normalized '" + o.normalized + "': choose true or false");
}

VggMetadata decide_vgg_metadata(const Checkpoint& ck, Naming naming, const std::string& prefix, const ConvertOptions& o) {
    VggMetadata d;
    const std::string name = lower(base_name(ck.path));
    auto meta = [&](const char* key) -> const std::string* {
        auto it = ck.metadata.find(key);
        return it == ck.metadata.end() ? nullptr : &it->second;
    };

    if (!o.preprocess.empty()) {
        d.preprocess = o.preprocess == "caffe" ? PreprocessKind::Caffe : PreprocessKind::Torchvision;
        d.preprocess_reason = "--preprocess";
    } else if (const std::string* v = meta("nst.preprocess"); v && (*v == "caffe" || *v == "torchvision")) {
        d.preprocess = *v == "caffe" ? PreprocessKind::Caffe : PreprocessKind::Torchvision;
        d.preprocess_reason = "the input's nst.preprocess";
    } else if (ck.format == Format::Caffe) {
        d.preprocess = PreprocessKind::Caffe;
        d.preprocess_reason = "Caffe model";
    } else if (ck.format == Format::KerasH5) {
        d.preprocess = PreprocessKind::Caffe;
        d.preprocess_reason = "Keras's VGG19 weights are converted Caffe weights";
    } else if (naming == Naming::Canonical) {
        d.preprocess = PreprocessKind::Caffe;
        d.preprocess_reason = "conv1_1-style names: Gatys's vgg_conv.pth, a Caffe port";
    } else {
        d.preprocess = PreprocessKind::Torchvision;
        d.preprocess_reason = "torchvision names; pass --preprocess caffe for a Caffe port such as jcjohnson's "
                              "vgg19-d01eb7cb.pth";
        for (const char* h : kCaffePorts)
            if (name.find(h) != std::string::npos) {
                d.preprocess = PreprocessKind::Caffe;
                d.preprocess_reason = std::string("file name of a known Caffe port (") + h + ")";
            }
    }

    if (!o.normalized.empty()) {
        d.normalized = o.normalized == "true";
        d.normalized_reason = "--normalized";
    } else if (const std::string* v = meta("nst.normalized"); v && (*v == "true" || *v == "false")) {
        d.normalized = *v == "true";
        d.normalized_reason = "the input's nst.normalized";
    } else if (name.find("normalised") != std::string::npos || name.find("normalized") != std::string::npos) {
        d.normalized = true;
        d.normalized_reason = "the file name says normalised; pass --normalized false if it is not";
    } else {
        d.normalized = false;
        d.normalized_reason = "default";
    }

    if (!o.source.empty()) {
        d.source = o.source;
    } else if (const std::string* v = meta("nst.source"); v && !v->empty()) {
        d.source = *v;
    } else {
        const char* naming_text = ck.format == Format::KerasH5 ? "Keras"
                                  : ck.format == Format::Caffe ? "Caffe layer"
                                  : naming == Naming::Canonical ? "canonical" : "torchvision";
        d.source = base_name(ck.path) + " (" + format_name(ck.format) + ", " + naming_text + " names" +
                   (prefix.empty() ? std::string() : ", under '" + prefix + "'") + ")";
    }
    for (const auto& [k, v] : ck.metadata)
        if (k.rfind("nst.", 0) == 0 && k != "nst.preprocess" && k != "nst.normalized" && k != "nst.source")
            d.extra[k] = v;
    return d;
}

Converted convert_weights(const std::string& path, const ConvertOptions& o) {
    Format from = Format::Safetensors;
    const bool detect = !parse_format(o.from, from);
    check_options(o);
    return convert_vgg19(read_checkpoint(path, detect, from), o);
}

Converted convert_vgg19(const Checkpoint& ck, const ConvertOptions& o) {
    Mapped m = map_vgg19(ck);
    Converted c;
    c.format = ck.format;
    c.naming = m.naming;
    c.prefix = m.prefix;
    c.weights = std::move(m.weights);
    VggMetadata d = decide_vgg_metadata(ck, m.naming, m.prefix, o);
    Vgg19Weights& w = c.weights;
    w.preprocess = d.preprocess;
    w.normalized = d.normalized;
    w.source = d.source;
    c.preprocess_reason = d.preprocess_reason;
    c.normalized_reason = d.normalized_reason;
    c.extra_metadata = std::move(d.extra);
    w.path = ck.path;
    return c;
}

Vgg19Weights load_any_weights(const std::string& path) {
    std::error_code ec;
    const bool random = path == "random" || path.rfind("random:", 0) == 0;
    if ((random && !std::filesystem::exists(path, ec)) || detect_format(path) == Format::Safetensors)
        return load_weights(path);
    return convert_weights(path, ConvertOptions{}).weights;
}

std::map<std::string, std::string> weights_metadata(const Vgg19Weights& w, const std::map<std::string, std::string>& extra) {
    std::map<std::string, std::string> meta = extra;
    meta["nst.preprocess"] = preprocess_name(w.preprocess);
    meta["nst.normalized"] = w.normalized ? "true" : "false";
    if (!w.source.empty()) meta["nst.source"] = w.source;
    return meta;
}

void save_weights(const std::string& path, const Vgg19Weights& w, const std::map<std::string, std::string>& extra) {
    std::vector<SafetensorsView> views;
    for (int k = 0; k < kNumConvs; ++k) {
        const ConvParams& p = w.conv[std::size_t(k)];
        const Shape& s = p.weight.shape();
        views.push_back({conv_name(k) + ".weight", {s.n, s.c, s.h, s.w}, p.weight.data()});
        views.push_back({conv_name(k) + ".bias", {std::int64_t(p.bias.numel())}, p.bias.data()});
    }
    save_safetensors(path, views, weights_metadata(w, extra));
}

}  // namespace nst::convert
