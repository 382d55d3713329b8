// SPDX-License-Identifier: MIT
#include "convert/transformer_mapping.h"

#include <cmath>
#include <map>
#include <regex>

#include "core/error.h"
#include "nn/transformer_net.h"

namespace nst::convert {

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

TransformerMapped map_transformer(const Checkpoint& ck) {
    auto fail = [&](const std::string& what) { fail_file(ck.format, ck.path, what); };
    std::map<std::string, const SourceTensor*> by_name;
    for (const SourceTensor& t : ck.tensors) by_name.emplace(t.name, &t);

    TransformerMapped m;
    // The prefix under which most of the published layout's names are found.
    const NetDesc published = transformer_net_desc(TransformerLayout::PytorchExamples);
    const std::vector<ParamInfo> names = param_layout(published);
    std::map<std::string, int> votes;
    for (const auto& [name, t] : by_name)
        for (const ParamInfo& p : names)
            if (ends_with(name, p.name)) {
                const std::string pre = name.substr(0, name.size() - p.name.size());
                if (pre.empty() || pre.back() == '.') ++votes[pre];
            }
    int best = -1;
    for (const auto& [pre, n] : votes)
        if (n > best || (n == best && pre.size() < m.prefix.size())) {
            best = n;
            m.prefix = pre;
        }
    const std::string& pre = m.prefix;

    auto conv1 = by_name.find(pre + "conv1.conv2d.weight");
    if (conv1 == by_name.end())
        fail("missing tensor " + pre + "conv1.conv2d.weight: not a complete pytorch/examples TransformerNet");
    const std::vector<std::int64_t>& s1 = conv1->second->shape;
    if (s1.size() != 4 || s1[0] <= 0 || s1[0] > 4096 || s1[1] != 3 || s1[2] != 9 || s1[3] != 9)
        fail("tensor " + pre + "conv1.conv2d.weight has shape " + shape_string(s1) +
             ", expected (W, 3, 9, 9) (W = 32 for the published models)");
    m.width = int(s1[0]);
    m.model.desc = transformer_net_desc(TransformerLayout::PytorchExamples, m.width);
    const std::vector<ParamInfo> layout = param_layout(m.model.desc);

    // Every parameter present with its exact shape, before any data is read.
    std::map<std::string, const ParamInfo*> wanted;
    for (const ParamInfo& p : layout) {
        wanted[pre + p.name] = &p;
        auto it = by_name.find(pre + p.name);
        const std::vector<std::int64_t> want = param_file_shape(m.model.desc, p);
        if (it == by_name.end())
            fail("missing tensor " + pre + p.name + " " + shape_string(want) + " of TransformerNet (width " +
                 std::to_string(m.width) + ")");
        if (it->second->shape != want)
            fail("tensor " + printable(pre + p.name) + " has shape " + shape_string(it->second->shape) +
                 ", TransformerNet (width " + std::to_string(m.width) + ") expects " + shape_string(want));
    }
    static const std::regex legacy(R"((^|\.)in\d+\.(running_mean|running_var|num_batches_tracked)$)");
    for (const SourceTensor& t : ck.tensors) {
        if (wanted.count(t.name)) continue;
        if (t.name.compare(0, pre.size(), pre) == 0 && std::regex_search(t.name.substr(pre.size()), legacy)) {
            ++m.dropped;
            continue;
        }
        fail("unexpected tensor " + printable(t.name) + " " + shape_string(t.shape) +
             ": not a parameter of pytorch/examples' TransformerNet");
    }

    m.model.params.assign(param_count(m.model.desc), 0.f);
    for (const ParamInfo& p : layout) {
        const SourceTensor& t = *by_name.at(pre + p.name);
        float* dst = m.model.params.data() + p.offset;
        t.read(dst);
        for (std::size_t i = 0; i < p.shape.numel(); ++i)
            if (!std::isfinite(dst[i]))
                fail("tensor " + printable(t.name) + " has a non-finite value at index " + std::to_string(i));
    }
    return m;
}

}  // namespace nst::convert
