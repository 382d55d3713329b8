// SPDX-License-Identifier: MIT
#include "engine/train_checkpoint.h"

#include <cstdlib>

#include "core/error.h"
#include "nn/safetensors.h"

namespace nst {

namespace {

std::vector<std::int64_t> dims(const Shape& s, bool vector) {
    if (vector) return {std::int64_t(s.c)};
    return {s.n, s.c, s.h, s.w};
}

// Parameter tensors are stored with the shapes a model file gives them: (C) for vectors.
bool is_vector(const ParamInfo& p) { return p.shape.n == 1 && p.shape.h == 1 && p.shape.w == 1; }

long long parse_count(const std::map<std::string, std::string>& md, const std::string& key, const std::string& where) {
    const auto it = md.find(key);
    if (it == md.end()) throw_input(where + ": no " + key + " metadata");
    char* end = nullptr;
    const long long v = std::strtoll(it->second.c_str(), &end, 10);
    if (it->second.empty() || *end != 0 || v < 0) throw_input(where + ": bad " + key + " '" + it->second + "'");
    return v;
}

}  // namespace

void save_train_checkpoint(const std::string& path, const TrainCheckpoint& c) {
    const std::vector<ParamInfo> layout = param_layout(c.model.desc);
    const std::size_t n = param_count(c.model.desc);
    NST_REQUIRE(c.model.params.size() == n && c.adam_m.size() == n && c.adam_v.size() == n,
                "checkpoint sizes differ from the network's parameter count");
    std::vector<SafetensorsView> views;
    for (const ParamInfo& p : layout)
        views.push_back({p.name, dims(p.shape, is_vector(p)), c.model.params.data() + p.offset});
    views.push_back({"adam.m", {std::int64_t(n)}, c.adam_m.data()});
    views.push_back({"adam.v", {std::int64_t(n)}, c.adam_v.data()});
    std::map<std::string, std::string> md = c.model.metadata;
    md["nst.kind"] = "train-checkpoint";
    md["nst.arch"] = c.model.desc.arch;
    md["nst.train.iteration"] = std::to_string(c.iteration);
    md["nst.train.adam_step"] = std::to_string(c.adam_step);
    save_safetensors(path, views, md);
}

TrainCheckpoint load_train_checkpoint(const std::string& path) {
    SafetensorsFile f = read_safetensors(path, {}, "checkpoint");
    const std::string where = "checkpoint '" + path + "'";
    const auto kind = f.metadata.find("nst.kind");
    if (kind == f.metadata.end() || kind->second != "train-checkpoint")
        throw_input(where + ": not a training checkpoint (nst.kind is " +
                    (kind == f.metadata.end() ? std::string("missing") : "'" + kind->second + "'") +
                    "); --resume takes the file written by --checkpoint-every");
    TrainCheckpoint c;
    c.model.desc = desc_from_metadata(f.metadata, where);
    c.model.metadata = f.metadata;
    c.iteration = parse_count(f.metadata, "nst.train.iteration", where);
    c.adam_step = int(parse_count(f.metadata, "nst.train.adam_step", where));
    const std::size_t n = param_count(c.model.desc);
    c.model.params.assign(n, 0.f);
    for (const ParamInfo& p : param_layout(c.model.desc)) {
        const SafetensorsTensor* t = f.find(p.name);
        if (!t) throw_input(where + ": missing tensor '" + p.name + "'");
        if (t->data.size() != p.shape.numel())
            throw_input(where + ": tensor '" + p.name + "' has " + std::to_string(t->data.size()) +
                        " values, the network needs " + std::to_string(p.shape.numel()));
        std::copy(t->data.begin(), t->data.end(), c.model.params.begin() + std::ptrdiff_t(p.offset));
    }
    for (auto [name, dst] : {std::pair{"adam.m", &c.adam_m}, std::pair{"adam.v", &c.adam_v}}) {
        const SafetensorsTensor* t = f.find(name);
        if (!t || t->data.size() != n) throw_input(where + ": missing or wrong-sized tensor '" + std::string(name) + "'");
        *dst = t->data;
    }
    return c;
}

}  // namespace nst
