// SPDX-License-Identifier: MIT
// `nst weights convert | info | normalize`: getting from a published VGG19 checkpoint to the
// network of the paper (src/convert/, weights/README.md).
#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "convert/convert.h"
#include "convert/detect.h"
#include "convert/normalize.h"
#include "core/error.h"
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

std::string preprocess_description(PreprocessKind k) {
    return k == PreprocessKind::Caffe
               ? "caffe: BGR, 0-255 (x255; x256 in the jcjohnson preset), minus (103.939, 116.779, 123.68)"
               : "torchvision: RGB, 0-1, minus (0.485, 0.456, 0.406), divided by (0.229, 0.224, 0.225)";
}

void convert_cmd(const ConvertArgs& a) {
    const convert::Converted c = convert::convert_weights(a.in, a.opt);
    convert::save_weights(a.out, c.weights, c.extra_metadata);
    std::printf("converted '%s' (%s, %s names%s) -> '%s'\n", a.in.c_str(), convert::format_name(c.format),
                naming_name(c.format, c.naming).c_str(), c.prefix.empty() ? "" : (", under '" + c.prefix + "'").c_str(), a.out.c_str());
    std::printf("  preprocess  %s (%s)\n", preprocess_name(c.weights.preprocess), c.preprocess_reason.c_str());
    std::printf("  normalized  %s (%s)\n", c.weights.normalized ? "true" : "false", c.normalized_reason.c_str());
    std::printf("  source      %s\n", c.weights.source.c_str());
    std::printf("  checksum    %s\n", weights_checksum(c.weights).c_str());
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

void info_cmd(const InfoArgs& a) {
    convert::Format from = convert::Format::Safetensors;
    const bool detect = !convert::parse_format(a.from, from);
    const convert::Format format = detect ? convert::detect_format(a.file) : from;
    const bool native = format == convert::Format::Safetensors;

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
    CLI::App* sub = app.add_subcommand("weights", "convert, inspect and normalise VGG19 weight files");
    sub->require_subcommand(1);

    auto c = std::make_shared<ConvertArgs>();
    CLI::App* conv = sub->add_subcommand("convert", "convert a VGG19 checkpoint (.pth, .caffemodel, .h5, .safetensors) "
                                                    "to nst's safetensors format");
    conv->add_option("IN", c->in, "checkpoint to read")->required();
    conv->add_option("OUT", c->out, "safetensors file to write (atomically)")->required();
    conv->add_option("--from", c->opt.from, "auto, pth, caffemodel, h5 or safetensors")->capture_default_str();
    conv->add_option("--preprocess", c->opt.preprocess,
                     "caffe or torchvision (default: by the rules in weights/README.md)");
    conv->add_option("--normalized", c->opt.normalized, "true or false (default: by the rules in weights/README.md)");
    conv->add_option("--source", c->opt.source, "text for nst.source (default: file name, format and naming)");

    auto i = std::make_shared<InfoArgs>();
    CLI::App* info = sub->add_subcommand("info", "layers, shapes, metadata, checksum and preprocessing of a weights file");
    info->add_option("FILE", i->file, "safetensors file, or any checkpoint `convert` reads")->required();
    info->add_option("--from", i->from, "auto, pth, caffemodel, h5 or safetensors")->capture_default_str();
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
