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

// The file's name for parameter `what` ("weight" / "bias") of conv k.
std::string tensor_name(Naming naming, int k, const char* what) {
    if (naming == Naming::Canonical) return conv_name(k) + "." + what;
    return "features." + std::to_string(conv_layer_index(k)) + "." + what;
}

// How messages name a tensor: torchvision names get the canonical one beside them, since
// "features.21" means nothing to most readers.
std::string display_name(Naming naming, int k, const char* what) {
    const std::string n = tensor_name(naming, k, what);
    return naming == Naming::Canonical ? n : n + " (" + conv_name(k) + "." + what + ")";
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
        throw_usage("--weights '" + spec + "': the seed after 'random:' must be a decimal integer in [0, 2^64)");
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

Vgg19Weights random_weights(std::uint64_t seed) {
    Vgg19Weights w;
    for (int k = 0; k < kNumConvs; ++k) {
        const int o = conv_out_channels(k), i = conv_in_channels(k);
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
    w.source = "random:" + std::to_string(seed);
    return w;
}

Vgg19Weights load_safetensors_weights(const std::string& path) {
    std::error_code ec;
    if (std::filesystem::status(path, ec).type() == std::filesystem::file_type::not_found)
        throw_input("weights file '" + path +
                    "' not found: fetch the pretrained VGG19 (see weights/README.md) or pass --weights random");
    SafetensorsReader reader(path, "weights");
    const std::string where = reader.where() + ": ";

    // Naming: canonical when any canonical conv tensor is present, else torchvision. A file
    // holding both sets loads the canonical one; the other names are then just extra tensors.
    Naming naming = Naming::Torchvision;
    bool any_torchvision = false;
    for (int k = 0; k < kNumConvs; ++k)
        for (const char* what : {"weight", "bias"}) {
            if (reader.find(tensor_name(Naming::Canonical, k, what))) naming = Naming::Canonical;
            if (reader.find(tensor_name(Naming::Torchvision, k, what))) any_torchvision = true;
        }
    if (naming == Naming::Torchvision && !any_torchvision)
        throw_input(where + "no VGG19 conv tensors (expected conv1_1.weight ... conv5_4.bias, or torchvision's "
                            "features.0.weight ... features.34.bias)");

    // Everything the header can tell is checked before any data is read, so a wrong file fails
    // at once rather than after reading 80 MB.
    struct Job {
        const SafetensorsEntry* entry;
        float* dst;
        std::string name;  // as messages show it
    };
    Vgg19Weights w;
    std::vector<Job> jobs;
    for (int k = 0; k < kNumConvs; ++k) {
        const int o = conv_out_channels(k), i = conv_in_channels(k);
        const std::pair<const char*, std::vector<std::int64_t>> params[] = {{"weight", {o, i, 3, 3}}, {"bias", {o}}};
        for (const auto& [what, expected] : params) {
            const std::string shown = display_name(naming, k, what);
            const SafetensorsEntry* e = reader.find(tensor_name(naming, k, what));
            if (!e) throw_input(where + "missing tensor " + shown);
            if (!dtype_converts_to_float(e->dtype))
                throw_input(where + "tensor " + shown + " has dtype " + dtype_name(e->dtype) +
                            ", expected F32 (F16, BF16 and F64 are converted)");
            if (e->shape != expected)
                throw_input(where + "tensor " + shown + " has shape " + e->shape_str() + ", expected " +
                            shape_str(expected));
        }
        w.conv[k].weight = Tensor<float>(Shape{o, i, 3, 3});
        w.conv[k].bias = Tensor<float>(Shape{1, o, 1, 1});
        jobs.push_back({reader.find(tensor_name(naming, k, "weight")), w.conv[k].weight.data(),
                        display_name(naming, k, "weight")});
        jobs.push_back({reader.find(tensor_name(naming, k, "bias")), w.conv[k].bias.data(),
                        display_name(naming, k, "bias")});
    }

    const auto& meta = reader.metadata();
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

Vgg19Weights load_weights(const std::string& spec) {
    if (spec.empty()) throw_usage("--weights is empty: pass a safetensors path or random[:SEED]");
    if (spec == "random") return random_weights(0);
    static const std::string kPrefix = "random:";
    if (spec.compare(0, kPrefix.size(), kPrefix) == 0) return random_weights(parse_seed(spec, spec.substr(kPrefix.size())));
    return load_safetensors_weights(spec);
}

void save_weights_safetensors(const std::string& path, const Vgg19Weights& weights) {
    std::vector<SafetensorsView> views;
    for (int k = 0; k < kNumConvs; ++k) {
        const ConvParams& p = weights.conv[k];
        NST_REQUIRE(p.weight.device() == Device::Host && p.bias.device() == Device::Host,
                    "save_weights_safetensors needs host tensors");
        const Shape& s = p.weight.shape();
        views.push_back({conv_name(k) + ".weight", {s.n, s.c, s.h, s.w}, p.weight.data()});
        views.push_back({conv_name(k) + ".bias", {std::int64_t(p.bias.numel())}, p.bias.data()});
    }
    std::map<std::string, std::string> meta = {
        {"nst.preprocess", preprocess_name(weights.preprocess)},
        {"nst.normalized", weights.normalized ? "true" : "false"},
    };
    if (!weights.source.empty()) meta["nst.source"] = weights.source;
    save_safetensors(path, views, meta);
}

std::string weights_checksum(const Vgg19Weights& weights) {
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
    for (int k = 0; k < kNumConvs; ++k) {
        feed(weights.conv[k].weight);
        feed(weights.conv[k].bias);
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, "fnv1a64:%016" PRIx64, h);
    return buf;
}

}  // namespace nst
