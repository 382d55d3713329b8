// SPDX-License-Identifier: MIT
#include "nn/net_model.h"

#include <set>

#include "core/error.h"
#include "nn/adain_net.h"
#include "nn/safetensors.h"
#include "nn/transformer_net.h"
#include "nn/wct_net.h"

namespace nst {

namespace {

struct ArchName {
    const char* name;
    TransformerLayout layout;
};
constexpr ArchName kArchs[] = {
    {"transformer-net", TransformerLayout::PytorchExamples},
    {"transformer-net-jcjohnson", TransformerLayout::JcjohnsonInstanceNorm},
};

std::string shape_text(const std::vector<std::int64_t>& s) {
    std::string t = "(";
    for (std::size_t i = 0; i < s.size(); ++i) t += (i ? ", " : "") + std::to_string(s[i]);
    return t + ")";
}

}  // namespace

std::vector<std::int64_t> param_file_shape(const NetDesc& desc, const ParamInfo& p) {
    const Op op = desc.layers[std::size_t(p.layer)].op;
    const bool kernel = (op == Op::Conv || op == Op::ConvTranspose) && p.name.size() > 7 &&
                        p.name.compare(p.name.size() - 7, 7, ".weight") == 0;
    if (kernel) return {p.shape.n, p.shape.c, p.shape.h, p.shape.w};
    return {std::int64_t(p.shape.numel())};
}

int model_width(const NetDesc& desc) {
    for (const LayerSpec& l : desc.layers)
        if (l.op == Op::Conv || l.op == Op::ConvTranspose) return l.channels;
    return 0;
}

NetDesc desc_from_metadata(const std::map<std::string, std::string>& metadata, const std::string& where) {
    auto it = metadata.find("nst.arch");
    std::string known;
    for (const ArchName& a : kArchs) known += (known.empty() ? "" : ", ") + std::string(a.name);
    known += ", adain-encoder, adain-decoder, vgg-normalised, wct-decoder";
    if (it == metadata.end() || it->second.empty())
        throw_input(where + ": no nst.arch metadata: the architecture is unknown (nst knows " + known + ")");
    int width = 0;
    if (auto w = metadata.find("nst.width"); w != metadata.end() && !w->second.empty()) {
        std::size_t used = 0;
        long v = -1;
        try {
            v = std::stol(w->second, &used);
        } catch (const std::exception&) {
            used = 0;
        }
        if (used != w->second.size() || v <= 0 || v > 4096)
            throw_input(where + ": nst.width '" + w->second + "' is not a positive channel count");
        width = int(v);
    }
    for (const ArchName& a : kArchs)
        if (it->second == a.name) return transformer_net_desc(a.layout, width);
    // AdaIN's networks have one published size; nst.width is not a parameter of theirs.
    if (it->second == "adain-encoder") return adain_encoder_desc();
    if (it->second == "adain-decoder") return adain_decoder_desc();
    if (it->second == "vgg-normalised") return vgg_normalised_desc();
    // WCT's decoders differ by level only (nn/wct_net.h).
    if (it->second == "wct-decoder") {
        auto l = metadata.find("nst.level");
        const std::string text = l == metadata.end() ? "" : l->second;
        if (text.size() != 1 || text[0] < '1' || text[0] - '0' > kWctLevels)
            throw_input(where + ": a wct-decoder needs nst.level metadata 1 to " + std::to_string(kWctLevels) +
                        (text.empty() ? std::string(", it has none") : ", not '" + text + "'"));
        return wct_decoder_desc(text[0] - '0');
    }
    throw_input(where + ": unknown architecture nst.arch='" + it->second + "' (nst knows " + known + ")");
}

NetModel load_model(const std::string& path) {
    SafetensorsReader r(path, "model file");
    const std::string where = r.where();
    const auto& meta = r.metadata();
    auto kind = meta.find("nst.kind");
    if (kind == meta.end() || kind->second != "model") {
        // VGG weight files are the likeliest mistake: say so rather than list missing tensors.
        const bool vgg = r.find("conv1_1.weight") || r.find("features.0.weight") || meta.count("nst.preprocess");
        if (vgg)
            throw_input(where + ": holds VGG weights (for --weights), not a feed-forward model; models are written "
                                "by `nst train` or `nst weights convert` of a TransformerNet checkpoint");
        if (kind != meta.end())
            throw_input(where + ": nst.kind is '" + kind->second + "', not 'model'");
        throw_input(where + ": not an nst model (no nst.kind=model metadata); convert checkpoints with "
                            "`nst weights convert`");
    }
    NetModel m;
    m.desc = desc_from_metadata(meta, where);
    m.metadata = meta;
    const std::vector<ParamInfo> layout = param_layout(m.desc);
    m.params.assign(param_count(m.desc), 0.f);
    std::set<std::string> expected;
    for (const ParamInfo& p : layout) {
        expected.insert(p.name);
        const SafetensorsEntry* e = r.find(p.name);
        const std::vector<std::int64_t> want = param_file_shape(m.desc, p);
        if (!e) throw_input(where + ": missing tensor " + p.name + " " + shape_text(want) + " of " + m.desc.arch);
        if (e->shape != want)
            throw_input(where + ": tensor " + p.name + " has shape " + e->shape_str() + ", " + m.desc.arch +
                        " expects " + shape_text(want));
    }
    for (const SafetensorsEntry& e : r.entries())
        if (!expected.count(e.name))
            throw_input(where + ": unexpected tensor " + e.name + " " + e.shape_str() + " (not a parameter of " +
                        m.desc.arch + ")");
    for (const ParamInfo& p : layout) r.read(*r.find(p.name), m.params.data() + p.offset);
    return m;
}

void save_model(const std::string& path, const NetModel& model) {
    NST_REQUIRE(model.params.size() == param_count(model.desc), "save_model: parameter count does not match the description");
    std::map<std::string, std::string> meta = model.metadata;
    meta["nst.kind"] = "model";
    meta["nst.arch"] = model.desc.arch;
    meta["nst.width"] = std::to_string(model_width(model.desc));
    if (model.desc.arch == "wct-decoder") {
        // The level is what rebuilds the description: one upsampling per pool of the prefix.
        int ups = 0;
        for (const LayerSpec& l : model.desc.layers) ups += l.op == Op::Upsample;
        meta["nst.level"] = std::to_string(ups + 1);
    }
    std::vector<SafetensorsView> views;
    for (const ParamInfo& p : param_layout(model.desc))
        views.push_back({p.name, param_file_shape(model.desc, p), model.params.data() + p.offset});
    save_safetensors(path, views, meta);
}

}  // namespace nst
