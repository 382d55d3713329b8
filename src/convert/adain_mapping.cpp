// SPDX-License-Identifier: MIT
#include "convert/adain_mapping.h"

#include <cmath>
#include <map>
#include <set>

#include "nn/adain_net.h"
#include "nn/wct_net.h"

namespace nst::convert {

namespace {

// vgg_normalised.pth's conv indices past relu4_1 (docs/research/feedforward.md §5.3).
const std::set<std::string> kEncoderTail = {"32.weight", "32.bias", "35.weight", "35.bias", "38.weight", "38.bias",
                                            "42.weight", "42.bias", "45.weight", "45.bias", "48.weight", "48.bias",
                                            "51.weight", "51.bias"};

}  // namespace

AdainMapped map_adain(const Checkpoint& ck, bool encoder, bool deep) {
    auto fail = [&](const std::string& what) { fail_file(ck.format, ck.path, what); };
    deep = deep && encoder;
    const char* title = deep      ? "normalised VGG19 to relu5_1 (pytorch-AdaIN vgg_normalised)"
                        : encoder ? "AdaIN encoder (pytorch-AdaIN vgg_normalised)"
                                  : "AdaIN decoder (pytorch-AdaIN)";
    std::map<std::string, const SourceTensor*> by_name;
    for (const SourceTensor& t : ck.tensors) by_name.emplace(t.name, &t);

    AdainMapped m;
    m.model.desc = deep ? vgg_normalised_desc() : encoder ? adain_encoder_desc() : adain_decoder_desc();
    const std::vector<ParamInfo> layout = param_layout(m.model.desc);
    // Every parameter present with its exact shape, before any data is read.
    std::set<std::string> wanted;
    for (const ParamInfo& p : layout) {
        wanted.insert(p.name);
        const std::vector<std::int64_t> want = param_file_shape(m.model.desc, p);
        auto it = by_name.find(p.name);
        if (it == by_name.end()) fail("missing tensor " + p.name + " " + shape_string(want) + " of the " + title);
        if (it->second->shape != want)
            fail("tensor " + p.name + " has shape " + shape_string(it->second->shape) + ", the " + title +
                 " expects " + shape_string(want));
    }
    for (const SourceTensor& t : ck.tensors) {
        if (wanted.count(t.name)) continue;
        if (encoder && kEncoderTail.count(t.name)) {
            ++m.dropped;
            continue;
        }
        fail("unexpected tensor " + printable(t.name) + " " + shape_string(t.shape) + ": not a parameter of the " +
             title);
    }
    m.model.params.assign(param_count(m.model.desc), 0.f);
    for (const ParamInfo& p : layout) {
        float* dst = m.model.params.data() + p.offset;
        by_name.at(p.name)->read(dst);
        for (std::size_t i = 0; i < p.shape.numel(); ++i)
            if (!std::isfinite(dst[i]))
                fail("tensor " + p.name + " has a non-finite value at index " + std::to_string(i));
    }
    return m;
}

}  // namespace nst::convert
