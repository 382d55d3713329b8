// SPDX-License-Identifier: MIT
#include "convert/jcjohnson_mapping.h"

#include <cmath>
#include <functional>
#include <set>

#include "convert/torch7.h"
#include "core/error.h"
#include "nn/transformer_net.h"

namespace nst::convert {

namespace {

using t7::Kind;
using t7::Value;

enum class ModKind { Conv, ConvTranspose, Norm, BatchNorm, Other };

ModKind kind_of(const std::string& cls) {
    if (cls == "nn.SpatialConvolution" || cls == "nn.SpatialConvolutionMM" || cls == "cudnn.SpatialConvolution")
        return ModKind::Conv;
    if (cls == "nn.SpatialFullConvolution" || cls == "cudnn.SpatialFullConvolution") return ModKind::ConvTranspose;
    if (cls == "nn.InstanceNormalization") return ModKind::Norm;
    if (cls == "nn.SpatialBatchNormalization" || cls == "cudnn.SpatialBatchNormalization") return ModKind::BatchNorm;
    return ModKind::Other;
}

// Leaves of the module tree in forward order (containers are walked, not listed).
// A module reached twice (the file's references can make a cycle) is a malformed model.
void leaves(const Value& m, std::vector<const Value*>& out, std::set<const Value*>& seen, int depth,
            const std::function<void(const std::string&)>& fail) {
    if (m.kind != Kind::Object) return;
    if (depth > 64 || !seen.insert(&m).second) fail("the module tree nests too deeply or has a cycle");
    const Value* mods = m.get("modules");
    if (mods && mods->kind == Kind::Table && kind_of(m.str) == ModKind::Other) {
        for (const auto& [i, child] : mods->items) leaves(*child, out, seen, depth + 1, fail);
        return;
    }
    out.push_back(&m);
}

double number(const Value& m, const char* key, double fallback) {
    const Value* v = m.get(key);
    return v && v->kind == Kind::Number ? v->number : fallback;
}

std::string describe_module(const Value& m, std::size_t index) {
    return "module " + std::to_string(index + 1) + " (" + printable(m.str) + ")";
}

}  // namespace

TransformerMapped map_jcjohnson(const std::string& path) {
    const t7::File f = t7::read_torch7(path);
    auto fail = [&](const std::string& what) { fail_file(Format::Torch7, path, what); };
    const Value* root = f.root.get();
    const Value* model = root;
    if (root->kind == Kind::Table) {
        model = root->get("model");
        if (!model) fail("a table without a `model` entry: not a fast-neural-style checkpoint");
        if (const Value* opt = root->get("opt"); opt && opt->kind == Kind::Table) {
            const Value* pre = opt->get("preprocessing");
            if (pre && pre->kind == Kind::String && pre->str != "vgg")
                fail("trained with -preprocessing " + printable(pre->str) + ": only the default vgg (caffe) "
                     "preprocessing is supported");
        }
    }
    if (model->kind != Kind::Object) fail("the model is not a Torch module");

    std::vector<const Value*> mods;
    std::set<const Value*> seen;
    leaves(*model, mods, seen, 0, fail);
    std::vector<const Value*> params;
    std::vector<std::size_t> where;
    for (std::size_t i = 0; i < mods.size(); ++i) {
        const ModKind k = kind_of(mods[i]->str);
        if (k == ModKind::BatchNorm)
            fail("has BatchNorm layers (" + describe_module(*mods[i], i) + "): jcjohnson's eccv16 models are not "
                 "supported, only the instance_norm ones");
        if (k != ModKind::Other) {
            params.push_back(mods[i]);
            where.push_back(i);
        }
    }
    if (mods.empty() || mods.front()->str != "nn.SpatialReflectionPadding" || number(*mods.front(), "pad_l", 0) != 40 ||
        number(*mods.front(), "pad_t", 0) != 40)
        fail("does not start with the 40-px SpatialReflectionPadding of padding_type reflect-start: not a "
             "fast-neural-style instance-norm model nst knows");
    bool tanh = false, scale150 = false;
    for (const Value* m : mods) {
        tanh = tanh || m->str == "nn.Tanh";
        scale150 = scale150 || (m->str == "nn.MulConstant" && number(*m, "constant_scalar", 0) == 150);
    }
    if (!tanh || !scale150) fail("has no Tanh and MulConstant(150) output: not a fast-neural-style model nst knows");

    const Value* w0 = params.empty() ? nullptr : params.front()->get("weight");
    if (!w0 || w0->kind != Kind::Tensor || w0->size.empty() || w0->size[0] <= 0 || w0->size[0] > 4096)
        fail("the first convolution has no weight tensor");
    TransformerMapped m;
    m.width = int(w0->size[0]);
    m.model.desc = transformer_net_desc(TransformerLayout::JcjohnsonInstanceNorm, m.width);
    const NetDesc& desc = m.model.desc;
    const std::vector<ParamInfo> layout = param_layout(desc);
    m.model.params.assign(param_count(desc), 0.f);

    // Layers with parameters, in order, against the parameterised modules.
    std::size_t next = 0, p = 0;
    for (std::size_t l = 0; l < desc.layers.size(); ++l) {
        const LayerSpec& L = desc.layers[l];
        const ModKind want = L.op == Op::Conv ? ModKind::Conv
                             : L.op == Op::ConvTranspose ? ModKind::ConvTranspose
                             : L.op == Op::InstanceNorm ? ModKind::Norm : ModKind::Other;
        if (want == ModKind::Other) continue;
        if (next >= params.size())
            fail("has " + std::to_string(params.size()) + " parameterised modules; the half-width instance-norm "
                 "layout (-arch c9s1-16,d32,d64,R64 x5,u32,u16,c9s1-3) needs more");
        const Value& mod = *params[next];
        const std::string at = describe_module(mod, where[next]);
        ++next;
        if (kind_of(mod.str) != want) fail(at + " where layer " + L.name + " of " + desc.arch + " was expected");
        if (want != ModKind::Norm) {
            const int kw = int(number(mod, "kW", -1)), kh = int(number(mod, "kH", -1));
            const int dw = int(number(mod, "dW", -1)), dh = int(number(mod, "dH", -1));
            const int pw = int(number(mod, "padW", 0)), ph = int(number(mod, "padH", 0));
            const bool geometry = kw == L.kernel && kh == L.kernel && dw == L.stride && dh == L.stride &&
                                  pw == L.pad && ph == L.pad &&
                                  (want != ModKind::ConvTranspose ||
                                   (int(number(mod, "adjW", 0)) == L.output_padding &&
                                    int(number(mod, "adjH", 0)) == L.output_padding));
            if (!geometry)
                fail(at + " has kernel " + std::to_string(kw) + ", stride " + std::to_string(dw) + ", padding " +
                     std::to_string(pw) + "; layer " + L.name + " of " + desc.arch + " (width " + std::to_string(m.width) +
                     ") has " + std::to_string(L.kernel) + ", " + std::to_string(L.stride) + ", " + std::to_string(L.pad));
        }
        for (const char* what : {"weight", "bias"}) {
            const ParamInfo& info = layout.at(p++);
            const Value* t = mod.get(what);
            if (!t || t->kind != Kind::Tensor) fail(at + " has no " + what + " tensor (" + info.name + ")");
            std::size_t n = 1;
            for (std::int64_t d : t->size) n *= std::size_t(std::max<std::int64_t>(d, 0));
            const bool lead_ok = t->size.empty() || info.shape.n == 1 || t->size[0] == info.shape.n;
            if (n != info.shape.numel() || !lead_ok)
                fail(at + " " + what + " has shape " + shape_string(t->size) + "; " + info.name + " of " + desc.arch +
                     " (width " + std::to_string(m.width) + ") has " + std::to_string(info.shape.numel()) +
                     " values, " + info.shape.str());
            const std::vector<float> v = t7::tensor_values(f, *t, at + " " + what);
            for (std::size_t j = 0; j < v.size(); ++j)
                if (!std::isfinite(v[j])) fail(at + " " + what + " has a non-finite value at index " + std::to_string(j));
            std::copy(v.begin(), v.end(), m.model.params.begin() + std::ptrdiff_t(info.offset));
        }
    }
    if (next != params.size())
        fail("has " + std::to_string(params.size()) + " parameterised modules, " + desc.arch + " (width " +
             std::to_string(m.width) + ") has " + std::to_string(next));
    return m;
}

}  // namespace nst::convert
