// SPDX-License-Identifier: MIT
// `nst weights convert | info | normalize`: getting from a published VGG19 checkpoint to the
// network of the paper (src/convert/, weights/README.md), and from published VGG16 and
// TransformerNet checkpoints to nst's VGG16 weights and feed-forward models.
#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "convert/convert.h"
#include "convert/convert_nets.h"
#include "convert/detect.h"
#include "convert/normalize.h"
#include "core/error.h"
#include "nn/net_model.h"
#include "nn/safetensors.h"

namespace nst::cli {

namespace {

struct ConvertArgs {
    std::string in, out;
    convert::ConvertOptions opt;
};

struct InfoArgs {
    std::string file;
    std::string from = "auto";
    bool json = false;
};

struct NormalizeArgs {
    std::string in, out;
    std::string images;
    std::string pooling = "avg";
    int image_size = 256;
    std::string size_rule = "max";
};

// How the source file named the layers (Keras and Caffe readers hand over canonical names).
std::string naming_name(convert::Format f, convert::Naming n) {
    if (f == convert::Format::KerasH5) return "Keras (blockN_convM)";
    if (f == convert::Format::Caffe) return "Caffe layer (conv1_1)";
    return n == convert::Naming::Canonical ? "canonical (conv1_1)" : "torchvision (features.N)";
}

std::string io_description(const std::string& io) {
    if (io == "rgb255") return "rgb255: RGB in [0, 255] in and out (pytorch/examples)";
    if (io == "rgb01") return "rgb01: RGB in [0, 1] (pytorch-AdaIN's encoder input and decoder output)";
    if (io == "caffe-bgr") return "caffe-bgr: BGR minus (103.939, 116.779, 123.68) in and out (jcjohnson)";
    return io.empty() ? "(none)" : io;
}

std::string preprocess_description(PreprocessKind k) {
    return k == PreprocessKind::Caffe
               ? "caffe: BGR, 0-255 (x255; x256 in the jcjohnson preset), minus (103.939, 116.779, 123.68)"
               : "torchvision: RGB, 0-1, minus (0.485, 0.456, 0.406), divided by (0.229, 0.224, 0.225)";
}

void print_vgg19_conversion(const ConvertArgs& a, const convert::Converted& c) {
    std::printf("converted '%s' (%s, %s names%s) -> '%s'\n", a.in.c_str(), convert::format_name(c.format),
                naming_name(c.format, c.naming).c_str(), c.prefix.empty() ? "" : (", under '" + c.prefix + "'").c_str(), a.out.c_str());
    std::printf("  preprocess  %s (%s)\n", preprocess_name(c.weights.preprocess), c.preprocess_reason.c_str());
    std::printf("  normalized  %s (%s)\n", c.weights.normalized ? "true" : "false", c.normalized_reason.c_str());
    std::printf("  source      %s\n", c.weights.source.c_str());
    std::printf("  checksum    %s\n", weights_checksum(c.weights).c_str());
}

void save_converted_model(const ConvertArgs& a, const convert::ConvertedModel& c) {
    const NetModel& m = c.mapped.model;
    save_model(a.out, m);
    const bool adain = m.desc.arch.rfind("adain-", 0) == 0 || m.desc.arch == "vgg-normalised";
    const char* what = c.format == convert::Format::Safetensors ? "an nst model, copied"
                       : adain                                  ? "naoto0804/pytorch-AdaIN"
                       : c.format == convert::Format::Torch7   ? "jcjohnson/fast-neural-style instance-norm model"
                                                               : "pytorch/examples TransformerNet";
    std::printf("converted '%s' (%s, %s%s) -> '%s'\n", a.in.c_str(), convert::format_name(c.format), what,
                c.mapped.prefix.empty() ? "" : (", under '" + c.mapped.prefix + "'").c_str(), a.out.c_str());
    std::printf("  arch        %s, width %d, %zu parameters in %zu tensors\n", m.desc.arch.c_str(), c.mapped.width,
                m.params.size(), param_layout(m.desc).size());
    std::printf("  io          %s\n", io_description(m.metadata.at("nst.io")).c_str());
    if (c.mapped.dropped && m.desc.arch == "vgg-normalised")
        std::printf("  dropped     %d tensor(s) of vgg[44:] (conv5_2 .. conv5_4: WCT encodes up to relu5_1)\n",
                    c.mapped.dropped);
    else if (c.mapped.dropped && adain)
        std::printf("  dropped     %d tensor(s) of vgg[31:] (conv4_2 .. conv5_4: AdaIN encodes up to relu4_1)\n",
                    c.mapped.dropped);
    else if (c.mapped.dropped)
        std::printf("  dropped     %d legacy InstanceNorm running_mean/running_var key(s) (unused: instance "
                    "statistics are always used)\n", c.mapped.dropped);
    std::printf("  source      %s\n", m.metadata.at("nst.source").c_str());
}

void convert_cmd(const ConvertArgs& a) {
    // Every option is checked (exit 2) before the file is read (exit 3).
    convert::Format from = convert::Format::Safetensors;
    const bool detect = !convert::parse_format(a.opt.from, from);
    convert::check_options(a.opt);
    convert::NetKind forced = convert::NetKind::Vgg19;
    convert::parse_net_kind(a.opt.arch, forced);
    const convert::Format format = detect ? convert::detect_format(a.in) : from;
    if (format == convert::Format::Torch7) return save_converted_model(a, convert::convert_jcjohnson(a.in, a.opt));
    const convert::Checkpoint ck = convert::read_checkpoint(a.in, false, format);
    if (auto kind = ck.metadata.find("nst.kind"); kind != ck.metadata.end() && kind->second == "model") {
        // Already an nst model: checked by the model loader and copied (with --source applied).
        convert::ConvertedModel c;
        c.format = format;
        c.mapped.model = load_model(a.in);
        c.mapped.width = model_width(c.mapped.model.desc);
        if (!a.opt.source.empty()) c.mapped.model.metadata["nst.source"] = a.opt.source;
        c.mapped.model.metadata.emplace("nst.io", "");
        c.mapped.model.metadata.emplace("nst.source", "");
        return save_converted_model(a, c);
    }
    const convert::NetKind kind = convert::resolve_kind(ck, a.opt);
    switch (kind) {
        case convert::NetKind::Vgg19: {
            const convert::Converted c = convert::convert_vgg19(ck, a.opt);
            convert::save_weights(a.out, c.weights, c.extra_metadata);
            print_vgg19_conversion(a, c);
            return;
        }
        case convert::NetKind::Vgg16: {
            const convert::ConvertedVgg16 c = convert::convert_vgg16(ck, a.opt);
            convert::save_vgg16(a.out, c);
            std::printf("converted '%s' (%s, VGG16, %s names%s) -> '%s'\n", a.in.c_str(), convert::format_name(c.format),
                        naming_name(c.format, c.mapped.naming).c_str(),
                        c.mapped.prefix.empty() ? "" : (", under '" + c.mapped.prefix + "'").c_str(), a.out.c_str());
            std::printf("  arch        vgg16 (13 conv layers, conv1_1 .. conv5_3)\n");
            std::printf("  preprocess  %s (%s)\n", preprocess_name(c.meta.preprocess), c.meta.preprocess_reason.c_str());
            std::printf("  normalized  %s (%s)\n", c.meta.normalized ? "true" : "false", c.meta.normalized_reason.c_str());
            std::printf("  source      %s\n", c.meta.source.c_str());
            return;
        }
        case convert::NetKind::TransformerNet: return save_converted_model(a, convert::convert_transformer(ck, a.opt));
        case convert::NetKind::AdainEncoder:
        case convert::NetKind::AdainDecoder:
        case convert::NetKind::VggNormalised: return save_converted_model(a, convert::convert_adain(ck, kind, a.opt));
        case convert::NetKind::TransformerNetJcjohnson: break;  // resolve_kind refuses it for non-Torch7 files
    }
}

// Per-layer statistics shown by info: they make a wrong or scaled file obvious at a glance.
struct LayerStats {
    double mean_abs_w = 0, max_abs_w = 0, mean_b = 0;
};
LayerStats stats(const ConvParams& p) {
    LayerStats s;
    for (std::size_t k = 0; k < p.weight.numel(); ++k) {
        const double v = std::fabs(double(p.weight.data()[k]));
        s.mean_abs_w += v;
        s.max_abs_w = std::max(s.max_abs_w, v);
    }
    s.mean_abs_w /= double(p.weight.numel());
    for (std::size_t k = 0; k < p.bias.numel(); ++k) s.mean_b += double(p.bias.data()[k]);
    s.mean_b /= double(p.bias.numel());
    return s;
}

// Long metadata values (nst.normalization_scales) are summarised in the text output.
std::string short_value(const std::string& v) {
    if (v.size() <= 100) return v;
    return v.substr(0, 60) + "... (" + std::to_string(v.size()) + " characters)";
}

// What info shows for the files that are not VGG19 weights (models, VGG16 weights): headline
// fields, then every tensor with its shape and value statistics.
struct NetInfo {
    std::vector<std::pair<std::string, std::string>> fields;  // label, value (text and JSON)
    std::map<std::string, std::string> meta;
    std::vector<std::string> names;
    std::vector<std::vector<std::int64_t>> shapes;
    std::vector<std::vector<float>> values;
    std::size_t parameters() const {
        std::size_t n = 0;
        for (const auto& v : values) n += v.size();
        return n;
    }
};

NetInfo model_info(const NetModel& m) {
    NetInfo n;
    auto get = [&](const char* k) {
        auto it = m.metadata.find(k);
        return it == m.metadata.end() ? std::string() : it->second;
    };
    n.meta = m.metadata;
    n.fields = {{"kind", "model (feed-forward network: `nst stylize --model`)"},
                {"arch", m.desc.arch},
                {"width", std::to_string(model_width(m.desc))},
                {"io", io_description(get("nst.io"))},
                {"source", get("nst.source").empty() ? "(none)" : get("nst.source")}};
    for (const ParamInfo& p : param_layout(m.desc)) {
        n.names.push_back(p.name);
        n.shapes.push_back(param_file_shape(m.desc, p));
        n.values.emplace_back(m.params.begin() + std::ptrdiff_t(p.offset),
                              m.params.begin() + std::ptrdiff_t(p.offset + p.shape.numel()));
    }
    return n;
}

NetInfo vgg16_info(const convert::ConvertedVgg16& c) {
    NetInfo n;
    n.meta = convert::vgg16_metadata(c);
    n.fields = {{"kind", "VGG16 weights (loss network)"},
                {"arch", "vgg16"},
                {"preprocess", preprocess_description(c.meta.preprocess) + " (" + c.meta.preprocess_reason + ")"},
                {"normalized", c.meta.normalized ? "true" : "false"},
                {"source", c.meta.source}};
    for (int k = 0; k < convert::kVgg16Convs; ++k) {
        const std::int64_t o = convert::vgg16_out_channels(k), i = convert::vgg16_in_channels(k);
        n.names.push_back(convert::vgg16_conv_name(k) + ".weight");
        n.shapes.push_back({o, i, 3, 3});
        n.values.push_back(c.mapped.weight[std::size_t(k)]);
        n.names.push_back(convert::vgg16_conv_name(k) + ".bias");
        n.shapes.push_back({o});
        n.values.push_back(c.mapped.bias[std::size_t(k)]);
    }
    return n;
}

void print_net_info(const InfoArgs& a, convert::Format format, bool native, const NetInfo& n) {
    std::error_code ec;
    const auto bytes = std::filesystem::file_size(a.file, ec);
    auto stat = [](const std::vector<float>& v, double& mean_abs, double& max_abs) {
        mean_abs = max_abs = 0;
        for (float x : v) {
            mean_abs += std::fabs(double(x));
            max_abs = std::max(max_abs, std::fabs(double(x)));
        }
        if (!v.empty()) mean_abs /= double(v.size());
    };
    if (a.json) {
        nlohmann::ordered_json j;
        j["file"] = a.file;
        j["bytes"] = ec ? 0 : bytes;
        j["format"] = convert::format_name(format);
        j["native"] = native;
        for (const auto& [k, v] : n.fields) j[k] = v;
        j["parameters"] = n.parameters();
        j["tensors"] = n.names.size();
        nlohmann::ordered_json list = nlohmann::ordered_json::array();
        for (std::size_t t = 0; t < n.names.size(); ++t) {
            double mean_abs, max_abs;
            stat(n.values[t], mean_abs, max_abs);
            list.push_back({{"name", n.names[t]}, {"shape", n.shapes[t]}, {"mean_abs", mean_abs}, {"max_abs", max_abs}});
        }
        j["parameter_tensors"] = std::move(list);
        j["metadata"] = n.meta;
        std::printf("%s\n", j.dump(2).c_str());
        return;
    }
    std::printf("file        %s (%s bytes)\n", a.file.c_str(), ec ? "?" : std::to_string(bytes).c_str());
    std::printf("format      %s%s\n", convert::format_name(format),
                native ? "" : " (not native: convert it with `nst weights convert` to use it)");
    for (const auto& [k, v] : n.fields) std::printf("%-11s %s\n", k.c_str(), v.c_str());
    std::printf("parameters  %zu in %zu tensors\n", n.parameters(), n.names.size());
    std::printf("  %-28s %-20s %-12s %s\n", "tensor", "shape", "mean|v|", "max|v|");
    for (std::size_t t = 0; t < n.names.size(); ++t) {
        double mean_abs, max_abs;
        stat(n.values[t], mean_abs, max_abs);
        std::printf("  %-28s %-20s %-12.5g %.5g\n", n.names[t].c_str(), convert::shape_string(n.shapes[t]).c_str(),
                    mean_abs, max_abs);
    }
    std::printf("metadata%s\n", native ? "" : " (as converted)");
    for (const auto& [k, v] : n.meta) std::printf("  %s = %s\n", k.c_str(), short_value(v).c_str());
}

void info_cmd(const InfoArgs& a) {
    convert::Format from = convert::Format::Safetensors;
    const bool detect = !convert::parse_format(a.from, from);
    const convert::Format format = detect ? convert::detect_format(a.file) : from;
    const bool native = format == convert::Format::Safetensors;

    // Models and VGG16 weights, native or as they would be converted.
    if (native) {
        const std::map<std::string, std::string> m = SafetensorsReader(a.file, "weights file").metadata();
        auto kind = m.find("nst.kind");
        auto arch = m.find("nst.arch");
        if (kind != m.end() && kind->second == "model") return print_net_info(a, format, true, model_info(load_model(a.file)));
        if (arch != m.end() && arch->second == "vgg16")
            return print_net_info(a, format, true,
                                  vgg16_info(convert::convert_vgg16(convert::read_checkpoint(a.file, false, format), {})));
    } else if (format == convert::Format::Torch7) {
        return print_net_info(a, format, false, model_info(convert::convert_jcjohnson(a.file, {}).mapped.model));
    } else {
        const convert::Checkpoint ck = convert::read_checkpoint(a.file, false, format);
        const convert::NetKind k = convert::classify(ck);
        if (k == convert::NetKind::TransformerNet)
            return print_net_info(a, format, false, model_info(convert::convert_transformer(ck, {}).mapped.model));
        if (k == convert::NetKind::AdainEncoder || k == convert::NetKind::AdainDecoder)
            return print_net_info(a, format, false, model_info(convert::convert_adain(ck, k, {}).mapped.model));
        if (k == convert::NetKind::Vgg16) return print_net_info(a, format, false, vgg16_info(convert::convert_vgg16(ck, {})));
    }

    Vgg19Weights w;
    std::map<std::string, std::string> meta;
    std::string naming, why;
    if (native) {
        // What `--weights FILE` uses, by spec §3's rules.
        w = load_weights(a.file);
        SafetensorsReader r(a.file, "weights");
        meta = r.metadata();
        naming = r.find("conv1_1.weight") ? "canonical (conv1_1)" : "torchvision (features.N)";
        why = meta.count("nst.preprocess") ? "nst.preprocess metadata"
                                           : "no nst.preprocess metadata: the default for " + naming + " names (spec §3)";
    } else {
        convert::ConvertOptions o;
        o.from = a.from;
        convert::Converted c = convert::convert_weights(a.file, o);
        w = std::move(c.weights);
        meta = convert::weights_metadata(w, c.extra_metadata);
        naming = naming_name(c.format, c.naming);
        why = c.preprocess_reason + "; as `nst weights convert` would write it";
    }
    // A features.N file cannot say whose weights it holds: say the rule and the override (issue #16).
    const bool ambiguous_names = naming.find("features") != std::string::npos || naming.find("torchvision") != std::string::npos;
    const std::string rule = ambiguous_names ? convert::torchvision_names_rule() : "";
    std::error_code ec;
    const auto bytes = std::filesystem::file_size(a.file, ec);
    std::size_t params = 0;
    for (const ConvParams& p : w.conv) params += p.weight.numel() + p.bias.numel();
    const std::string checksum = weights_checksum(w);

    if (a.json) {
        nlohmann::ordered_json j;
        j["file"] = a.file;
        j["bytes"] = ec ? 0 : bytes;
        j["format"] = convert::format_name(format);
        j["native"] = native;
        j["naming"] = naming;
        j["preprocess"] = preprocess_name(w.preprocess);
        j["preprocess_reason"] = why;
        if (!rule.empty()) j["preprocess_rule"] = rule;
        j["normalized"] = w.normalized;
        j["source"] = w.source;
        j["checksum"] = checksum;
        j["parameters"] = params;
        nlohmann::ordered_json layers = nlohmann::ordered_json::array();
        for (int k = 0; k < w.num_convs(); ++k) {
            const ConvParams& p = w.conv[std::size_t(k)];
            const LayerStats s = stats(p);
            const Shape& ws = p.weight.shape();
            layers.push_back({{"name", conv_name(k, w.arch)},
                              {"weight", {ws.n, ws.c, ws.h, ws.w}},
                              {"bias", {p.bias.numel()}},
                              {"mean_abs_weight", s.mean_abs_w},
                              {"max_abs_weight", s.max_abs_w},
                              {"mean_bias", s.mean_b}});
        }
        j["layers"] = std::move(layers);
        j["metadata"] = meta;
        std::printf("%s\n", j.dump(2).c_str());
        return;
    }
    std::printf("file        %s (%s bytes)\n", a.file.c_str(), ec ? "?" : std::to_string(bytes).c_str());
    std::printf("format      %s, %s names%s\n", convert::format_name(format), naming.c_str(),
                native ? "" : " (not native: convert it with `nst weights convert` to use it)");
    std::printf("source      %s\n", w.source.empty() ? "(none)" : w.source.c_str());
    std::printf("preprocess  %s\n            (%s)\n", preprocess_description(w.preprocess).c_str(), why.c_str());
    if (!rule.empty()) std::printf("            rule: %s\n", rule.c_str());
    std::printf("normalized  %s\n", w.normalized ? "true (Gatys's normalisation: mean activation 1 per filter)" : "false");
    std::printf("checksum    %s (FNV-1a 64 of the float32 conv weights and biases)\n", checksum.c_str());
    std::printf("parameters  %zu in %d conv layers\n", params, w.num_convs());
    std::printf("  layer    weight               bias    mean|w|      max|w|       mean b\n");
    for (int k = 0; k < w.num_convs(); ++k) {
        const ConvParams& p = w.conv[std::size_t(k)];
        const LayerStats s = stats(p);
        const std::string bias = "(" + std::to_string(p.bias.numel()) + ")";
        std::printf("  %-8s %-20s %-7s %-12.5g %-12.5g %.5g\n", conv_name(k, w.arch).c_str(), p.weight.shape().str().c_str(),
                    bias.c_str(), s.mean_abs_w, s.max_abs_w, s.mean_b);
    }
    std::printf("metadata%s\n", native ? "" : " (as converted)");
    for (const auto& [k, v] : meta) std::printf("  %s = %s\n", k.c_str(), short_value(v).c_str());
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v[v.size() / 2];
}

void normalize_cmd(const NormalizeArgs& a) {
    convert::NormalizeOptions o;
    if (a.pooling != "max" && a.pooling != "avg") throw_usage("--pooling: choose max or avg");
    o.pooling = a.pooling == "max" ? Pooling::Max : Pooling::Avg;
    if (a.image_size < 0 || a.image_size > 16384) throw_usage("--image-size: must be in 0..16384 (0 = native size)");
    o.image_size = a.image_size;
    o.size_rule = parse_size_rule(a.size_rule);
    o.images_dir = a.images;

    const Vgg19Weights in = convert::load_any_weights(a.in);
    if (in.random) warn_random_weights(in.source);
    if (in.normalized)
        std::fprintf(stderr, "nst: note: '%s' is already normalised; the new scales are relative to it\n", a.in.c_str());
    const convert::Normalized n = convert::normalize_weights(in, o);

    std::map<std::string, std::string> extra = {{"nst.normalization_scales", convert::scales_json(n)},
                                                {"nst.normalization", convert::settings_json(n, o)}};
    if (!in.source.empty()) extra["nst.normalized_from"] = in.source;
    convert::save_weights(a.out, n.weights, extra);

    std::printf("normalised '%s' on %zu image(s) from '%s' (%s pooling, image size %d by %s) -> '%s'\n", a.in.c_str(),
                n.images.size(), a.images.c_str(), a.pooling.c_str(), a.image_size, a.size_rule.c_str(), a.out.c_str());
    std::printf("activations of the new network = original x scale, per filter (metadata nst.normalization_scales)\n");
    std::printf("  layer    filters dead  mean activation: min / median / max        scale: min / median / max\n");
    int dead = 0;
    for (int c = 0; c < kNumConvs; ++c) {
        const auto& mu = n.mean[std::size_t(c)];
        const auto& sc = n.scale[std::size_t(c)];
        dead += n.dead[std::size_t(c)];
        std::printf("  %-8s %-7zu %-5d %-10.4g %-10.4g %-10.4g             %-10.4g %-10.4g %-10.4g\n", conv_name(c).c_str(),
                    mu.size(), n.dead[std::size_t(c)], *std::min_element(mu.begin(), mu.end()), median(mu),
                    *std::max_element(mu.begin(), mu.end()), *std::min_element(sc.begin(), sc.end()), median(sc),
                    *std::max_element(sc.begin(), sc.end()));
    }
    if (dead)
        std::printf("%d dead filter(s) (mean activation 0 on these images) were left unscaled (scale 1)\n", dead);
}

}  // namespace

Command add_weights_command(CLI::App& app) {
    CLI::App* sub = app.add_subcommand("weights", "convert, inspect and normalise VGG weight files and feed-forward models");
    sub->require_subcommand(1);

    auto c = std::make_shared<ConvertArgs>();
    CLI::App* conv = sub->add_subcommand("convert", "convert a VGG19 / VGG16 checkpoint (.pth, .caffemodel, .h5, "
                                                    ".safetensors) or a pytorch/examples TransformerNet (.pth, .model) "
                                                    "to nst's safetensors format; jcjohnson's .t7 models too");
    conv->add_option("IN", c->in, "checkpoint to read")->required();
    conv->add_option("OUT", c->out, "safetensors file to write (atomically)")->required();
    conv->add_option("--from", c->opt.from, "auto, pth, caffemodel, h5, safetensors or t7")->capture_default_str();
    conv->add_option("--preprocess", c->opt.preprocess,
                     "caffe or torchvision (default: by the rules in weights/README.md)");
    conv->add_option("--normalized", c->opt.normalized, "true or false (default: by the rules in weights/README.md)");
    conv->add_option("--source", c->opt.source, "text for nst.source (default: file name, format and naming)");
    conv->add_option("--arch", c->opt.arch,
                     "auto, vgg19, vgg16, transformer-net, transformer-net-jcjohnson, adain-encoder, adain-decoder or "
                     "vgg-normalised (vgg_normalised.pth to relu5_1, for WCT): "
                     "the network the file must hold (auto: from its tensor names)")
        ->capture_default_str();

    auto i = std::make_shared<InfoArgs>();
    CLI::App* info = sub->add_subcommand("info", "layers, shapes, metadata, checksum and preprocessing of a weights or model file");
    info->add_option("FILE", i->file, "safetensors file, or any checkpoint `convert` reads")->required();
    info->add_option("--from", i->from, "auto, pth, caffemodel, h5, safetensors or t7")->capture_default_str();
    info->add_flag("--json", i->json, "print one JSON object");

    auto n = std::make_shared<NormalizeArgs>();
    CLI::App* norm = sub->add_subcommand("normalize", "Gatys's normalisation: mean activation 1 per filter over images");
    norm->alias("normalise");
    norm->add_option("IN", n->in, "weights to normalise (safetensors, or any checkpoint `convert` reads)")->required();
    norm->add_option("OUT", n->out, "safetensors file to write (atomically)")->required();
    norm->add_option("--images", n->images, "directory of PNG/JPEG images to average over")->required();
    norm->add_option("--pooling", n->pooling, "max or avg: the network the means are measured in")->capture_default_str();
    norm->add_option("--image-size", n->image_size, "resize each image by --size-rule first (0 = native size)")
        ->capture_default_str();
    norm->add_option("--size-rule", n->size_rule, "max, short or area")->capture_default_str();

    return [sub, conv, info, norm, c, i, n] {
        if (conv->parsed()) convert_cmd(*c);
        else if (info->parsed()) info_cmd(*i);
        else if (norm->parsed()) normalize_cmd(*n);
        else throw_usage("weights: choose convert, info or normalize");
        (void)sub;
    };
}

}  // namespace nst::cli
