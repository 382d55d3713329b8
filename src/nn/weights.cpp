// SPDX-License-Identifier: MIT
#include "nn/weights.h"

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <vector>

#include "core/error.h"
#include "core/rng.h"
#include "nn/safetensors.h"

namespace nst {

namespace {

enum class Naming { Canonical, Torchvision };

// The file's name for parameter `what` ("weight" / "bias") of conv k of `arch`.
std::string tensor_name(Naming naming, VggArch arch, int k, const char* what) {
    if (naming == Naming::Canonical) return conv_name(k, arch) + "." + what;
    return "features." + std::to_string(conv_layer_index(k, arch)) + "." + what;
}

// How messages name a tensor: torchvision names get the canonical one beside them, since
// "features.21" means nothing to most readers.
std::string display_name(Naming naming, VggArch arch, int k, const char* what) {
    const std::string n = tensor_name(naming, arch, k, what);
    return naming == Naming::Canonical ? n : n + " (" + conv_name(k, arch) + "." + what + ")";
}

// Whether the file holds the weight or bias of a conv that `arch` has and `other` does not
// (compared by the file's names: VGG19's conv3_4 / features.16, VGG16's features.17).
bool has_own_tensor(const SafetensorsReader& r, Naming naming, VggArch arch, VggArch other) {
    for (int k = 0; k < vgg_layers(arch).num_convs(); ++k)
        for (const char* what : {"weight", "bias"}) {
            const std::string n = tensor_name(naming, arch, k, what);
            bool shared = false;
            for (int j = 0; j < vgg_layers(other).num_convs() && !shared; ++j)
                shared = tensor_name(naming, other, j, what) == n;
            if (!shared && r.find(n)) return true;
        }
    return false;
}

// The architecture of a file without nst.arch metadata (weights.h: load_safetensors_weights).
VggArch infer_arch(const SafetensorsReader& r, Naming naming) {
    if (has_own_tensor(r, naming, VggArch::Vgg19, VggArch::Vgg16)) return VggArch::Vgg19;
    // Canonical VGG16 names are a subset of VGG19's: the absence of conv3_4, conv4_4 and
    // conv5_4 with VGG16's last conv present says VGG16 (a damaged VGG19 file with neither stays
    // VGG19, and its errors name VGG19's tensors). A torchvision file must show one of VGG16's
    // own indices.
    const bool vgg16 = naming == Naming::Canonical ? r.find("conv5_3.weight") || r.find("conv5_3.bias")
                                                   : has_own_tensor(r, naming, VggArch::Vgg16, VggArch::Vgg19);
    return vgg16 ? VggArch::Vgg16 : VggArch::Vgg19;
}

std::string shape_str(const std::vector<std::int64_t>& s) {
    std::string out = "(";
    for (std::size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
    return out + ")";
}

// "random:SEED": a plain decimal uint64 (no sign, no spaces, no hex), so that a seed in a run
// record always reads back as the same number.
std::uint64_t parse_seed(const std::string& spec, const std::string& digits) {
    auto bad = [&]() {
        throw_usage("--weights '" + spec + "': the seed after '" + spec.substr(0, spec.find(':') + 1) +
                    "' must be a decimal integer in [0, 2^64)");
    };
    if (digits.empty()) bad();
    std::uint64_t v = 0;
    for (char c : digits) {
        if (c < '0' || c > '9') bad();
        if (__builtin_mul_overflow(v, 10u, &v) || __builtin_add_overflow(v, std::uint64_t(c - '0'), &v)) bad();
    }
    return v;
}

PreprocessKind parse_preprocess(const SafetensorsReader& r, const std::string& v) {
    if (v == "caffe") return PreprocessKind::Caffe;
    if (v == "torchvision") return PreprocessKind::Torchvision;
    throw_input(r.where() + ": metadata nst.preprocess is '" + v + "', expected caffe or torchvision");
}

bool parse_bool(const SafetensorsReader& r, const std::string& key, const std::string& v) {
    if (v == "true") return true;
    if (v == "false") return false;
    throw_input(r.where() + ": metadata " + key + " is '" + v + "', expected true or false");
}

}  // namespace

const char* preprocess_name(PreprocessKind kind) {
    return kind == PreprocessKind::Caffe ? "caffe" : "torchvision";
}

VggWeights random_weights(std::uint64_t seed, VggArch arch) {
    VggWeights w;
    w.arch = arch;
    w.conv = std::vector<ConvParams>(std::size_t(vgg_layers(arch).num_convs()));
    for (int k = 0; k < w.num_convs(); ++k) {
        const int o = conv_out_channels(k, arch), i = conv_in_channels(k, arch);
        ConvParams& p = w.conv[k];
        p.weight = Tensor<float>(Shape{o, i, 3, 3});
        p.bias = filled(Shape{1, o, 1, 1}, 0.f);
        // The exact formula is shared with tools/ (Python): std in double, product in double,
        // one rounding to float at the end. Element j depends only on (seed, k, j), so the
        // parallel loop gives the same bits as a serial one.
        const double stddev = std::sqrt(2.0 / double(o * 9));
        float* dst = p.weight.data();
        const std::int64_t n = std::int64_t(p.weight.numel());
#pragma omp parallel for schedule(static)
        for (std::int64_t j = 0; j < n; ++j)
            dst[j] = static_cast<float>(stddev * rng::normal(seed, rng::kStreamWeights + std::uint64_t(k),
                                                             std::uint64_t(j)));
    }
    w.preprocess = PreprocessKind::Caffe;
    w.normalized = false;
    w.random = true;
    w.seed = seed;
    w.source = std::string(arch == VggArch::Vgg19 ? "random:" : "random16:") + std::to_string(seed);
    return w;
}

VggWeights load_safetensors_weights(const std::string& path) {
    std::error_code ec;
    if (std::filesystem::status(path, ec).type() == std::filesystem::file_type::not_found)
        throw_input("weights file '" + path +
                    "' not found: fetch the pretrained VGG19 (see weights/README.md) or pass --weights random");
    SafetensorsReader reader(path, "weights");
    const std::string where = reader.where() + ": ";

    // Naming: canonical when any canonical conv tensor is present, else torchvision. A file
    // holding both sets loads the canonical one; the other names are then just extra tensors.
    // VGG19's names include all of VGG16's canonical ones; over both architectures' torchvision
    // indices for the search.
    Naming naming = Naming::Torchvision;
    bool any_torchvision = false;
    for (VggArch a : {VggArch::Vgg19, VggArch::Vgg16})
        for (int k = 0; k < vgg_layers(a).num_convs(); ++k)
            for (const char* what : {"weight", "bias"}) {
                if (reader.find(tensor_name(Naming::Canonical, a, k, what))) naming = Naming::Canonical;
                if (reader.find(tensor_name(Naming::Torchvision, a, k, what))) any_torchvision = true;
            }
    if (naming == Naming::Torchvision && !any_torchvision)
        throw_input(where + "no VGG19 conv tensors (expected conv1_1.weight ... conv5_4.bias, or torchvision's "
                            "features.0.weight ... features.34.bias; VGG16: ... conv5_3, features.28)");

    const auto& meta = reader.metadata();
    VggArch arch = infer_arch(reader, naming);
    if (auto it = meta.find("nst.arch"); it != meta.end() && !parse_arch(it->second, arch))
        throw_input(where + "metadata nst.arch is '" + it->second + "', expected vgg19 or vgg16");

    // Everything the header can tell is checked before any data is read, so a wrong file fails
    // at once rather than after reading 80 MB.
    struct Job {
        const SafetensorsEntry* entry;
        float* dst;
        std::string name;  // as messages show it
    };
    VggWeights w;
    w.arch = arch;
    w.conv = std::vector<ConvParams>(std::size_t(vgg_layers(arch).num_convs()));
    // Says which network a missing tensor belongs to when that is not the default.
    const std::string of_arch = arch == VggArch::Vgg19 ? "" : std::string(" (of ") + arch_title(arch) + ")";
    std::vector<Job> jobs;
    for (int k = 0; k < w.num_convs(); ++k) {
        const int o = conv_out_channels(k, arch), i = conv_in_channels(k, arch);
        const std::pair<const char*, std::vector<std::int64_t>> params[] = {{"weight", {o, i, 3, 3}}, {"bias", {o}}};
        for (const auto& [what, expected] : params) {
            const std::string shown = display_name(naming, arch, k, what);
            const SafetensorsEntry* e = reader.find(tensor_name(naming, arch, k, what));
            if (!e) throw_input(where + "missing tensor " + shown + of_arch);
            if (!dtype_converts_to_float(e->dtype))
                throw_input(where + "tensor " + shown + " has dtype " + dtype_name(e->dtype) +
                            ", expected F32 (F16, BF16 and F64 are converted)");
            if (e->shape != expected)
                throw_input(where + "tensor " + shown + " has shape " + e->shape_str() + ", expected " +
                            shape_str(expected));
        }
        w.conv[k].weight = Tensor<float>(Shape{o, i, 3, 3});
        w.conv[k].bias = Tensor<float>(Shape{1, o, 1, 1});
        jobs.push_back({reader.find(tensor_name(naming, arch, k, "weight")), w.conv[k].weight.data(),
                        display_name(naming, arch, k, "weight")});
        jobs.push_back({reader.find(tensor_name(naming, arch, k, "bias")), w.conv[k].bias.data(),
                        display_name(naming, arch, k, "bias")});
    }

    w.preprocess = naming == Naming::Canonical ? PreprocessKind::Caffe : PreprocessKind::Torchvision;
    if (auto it = meta.find("nst.preprocess"); it != meta.end()) w.preprocess = parse_preprocess(reader, it->second);
    if (auto it = meta.find("nst.normalized"); it != meta.end())
        w.normalized = parse_bool(reader, "nst.normalized", it->second);
    if (auto it = meta.find("nst.source"); it != meta.end()) w.source = it->second;

    // Read in data order: one forward pass over the file, seeking over everything else.
    std::sort(jobs.begin(), jobs.end(), [](const Job& a, const Job& b) { return a.entry->begin < b.entry->begin; });
    for (const Job& j : jobs) {
        reader.read(*j.entry, j.dst);
        const std::size_t n = j.entry->numel();
        for (std::size_t idx = 0; idx < n; ++idx)
            if (!std::isfinite(j.dst[idx]))
                throw_input(where + "tensor " + j.name + " has a non-finite value at index " + std::to_string(idx) +
                            " (" + (std::isnan(j.dst[idx]) ? "nan" : j.dst[idx] > 0 ? "inf" : "-inf") + ")");
    }
    w.random = false;
    w.seed = 0;
    w.path = path;
    return w;
}

VggWeights load_weights(const std::string& spec) {
    if (spec.empty()) throw_usage("--weights is empty: pass a safetensors path, random[:SEED] or random16[:SEED]");
    if (spec == "random") return random_weights(0, VggArch::Vgg19);
    if (spec == "random16") return random_weights(0, VggArch::Vgg16);
    for (const auto& [prefix, arch] : {std::pair<std::string, VggArch>{"random:", VggArch::Vgg19},
                                       std::pair<std::string, VggArch>{"random16:", VggArch::Vgg16}})
        if (spec.compare(0, prefix.size(), prefix) == 0)
            return random_weights(parse_seed(spec, spec.substr(prefix.size())), arch);
    return load_safetensors_weights(spec);
}

void save_weights_safetensors(const std::string& path, const VggWeights& weights) {
    NST_REQUIRE(weights.num_convs() == vgg_layers(weights.arch).num_convs(), "save_weights_safetensors: conv count");
    std::vector<SafetensorsView> views;
    for (int k = 0; k < weights.num_convs(); ++k) {
        const ConvParams& p = weights.conv[k];
        NST_REQUIRE(p.weight.device() == Device::Host && p.bias.device() == Device::Host,
                    "save_weights_safetensors needs host tensors");
        const Shape& s = p.weight.shape();
        views.push_back({conv_name(k, weights.arch) + ".weight", {s.n, s.c, s.h, s.w}, p.weight.data()});
        views.push_back({conv_name(k, weights.arch) + ".bias", {std::int64_t(p.bias.numel())}, p.bias.data()});
    }
    std::map<std::string, std::string> meta = {
        {"nst.arch", arch_name(weights.arch)},
        {"nst.preprocess", preprocess_name(weights.preprocess)},
        {"nst.normalized", weights.normalized ? "true" : "false"},
    };
    if (!weights.source.empty()) meta["nst.source"] = weights.source;
    save_safetensors(path, views, meta);
}

std::string weights_checksum(const VggWeights& weights) {
    std::uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a 64 offset basis
    auto feed = [&h](const Tensor<float>& t) {
        NST_REQUIRE(t.device() == Device::Host, "weights_checksum needs host tensors");
        // float memory is the little-endian float32 encoding on the hosts we build for (see the
        // static_assert in safetensors.cpp), so hashing it directly matches a Python re-hash.
        const unsigned char* p = reinterpret_cast<const unsigned char*>(t.data());
        const std::size_t n = t.numel() * sizeof(float);
        for (std::size_t i = 0; i < n; ++i) {
            h ^= p[i];
            h *= 0x100000001b3ull;  // FNV-1a 64 prime
        }
    };
    for (int k = 0; k < weights.num_convs(); ++k) {
        feed(weights.conv[k].weight);
        feed(weights.conv[k].bias);
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, "fnv1a64:%016" PRIx64, h);
    return buf;
}

void check_vgg_weights(const VggWeights& weights) {
    const VggArch arch = weights.arch;
    const int nc = vgg_layers(arch).num_convs();
    const std::string what = std::string(arch_title(arch)) + " weights: ";
    if (weights.num_convs() != nc)
        throw_input(what + std::to_string(weights.num_convs()) + " convs, expected " + std::to_string(nc));
    for (int c = 0; c < nc; ++c) {
        const ConvParams& p = weights.conv[std::size_t(c)];
        const Shape ws{conv_out_channels(c, arch), conv_in_channels(c, arch), 3, 3};
        if (p.weight.shape() != ws)
            throw_input(what + conv_name(c, arch) + ".weight has shape " + p.weight.shape().str() + ", expected " +
                        ws.str());
        if (p.bias.numel() != std::size_t(ws.n))
            throw_input(what + conv_name(c, arch) + ".bias has " + std::to_string(p.bias.numel()) +
                        " values, expected " + std::to_string(ws.n));
    }
}

}  // namespace nst
