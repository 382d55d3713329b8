// SPDX-License-Identifier: MIT
#include "convert/torch_pickle.h"

#include <set>

#include "convert/checkpoint.h"
#include "core/error.h"

namespace nst::convert::torch {

using pickle::Kind;
using pickle::Value;

namespace {

struct StorageType {
    const char* name;
    ElemType elem;
    std::size_t bytes;
    const char* dtype;
};

// Storage classes torch.save names in its persistent ids. Integer and complex types are listed
// so that files holding them (BatchNorm's num_batches_tracked is a LongStorage) still parse;
// only reading one as a weight is an error.
constexpr StorageType kStorageTypes[] = {
    {"FloatStorage", ElemType::F32, 4, "float32"},
    {"DoubleStorage", ElemType::F64, 8, "float64"},
    {"HalfStorage", ElemType::F16, 2, "float16"},
    {"BFloat16Storage", ElemType::BF16, 2, "bfloat16"},
    {"LongStorage", ElemType::Unsupported, 8, "int64"},
    {"IntStorage", ElemType::Unsupported, 4, "int32"},
    {"ShortStorage", ElemType::Unsupported, 2, "int16"},
    {"CharStorage", ElemType::Unsupported, 1, "int8"},
    {"ByteStorage", ElemType::Unsupported, 1, "uint8"},
    {"BoolStorage", ElemType::Unsupported, 1, "bool"},
    {"UntypedStorage", ElemType::Unsupported, 1, "untyped bytes"},
    {"ComplexFloatStorage", ElemType::Unsupported, 8, "complex64"},
    {"ComplexDoubleStorage", ElemType::Unsupported, 16, "complex128"},
    {"QInt8Storage", ElemType::Unsupported, 1, "qint8"},
    {"QUInt8Storage", ElemType::Unsupported, 1, "quint8"},
    {"QInt32Storage", ElemType::Unsupported, 4, "qint32"},
};

constexpr int kMaxDepth = 16;
constexpr int kMaxDims = 16;

[[noreturn]] void bad(const std::string& what) { throw_input(what); }

bool is_int(const Value* v) { return v && v->kind == Kind::Int; }

std::vector<std::int64_t> int_tuple(const Value* v, const std::string& what, const std::string& tensor) {
    if (!v || (v->kind != Kind::Tuple && v->kind != Kind::List))
        bad("tensor " + printable(tensor) + ": " + what + " is not a tuple");
    if (v->items.size() > std::size_t(kMaxDims))
        bad("tensor " + printable(tensor) + ": " + std::to_string(v->items.size()) + " dimensions");
    std::vector<std::int64_t> out;
    for (const Value* x : v->items) {
        if (!is_int(x)) bad("tensor " + printable(tensor) + ": " + what + " holds a non-integer");
        out.push_back(x->i);
    }
    return out;
}

class Finder {
public:
    Finder(const StorageTable& table) : m_table(table) {}

    void walk(const Value* v, const std::string& name, int depth) {
        if (!v || depth > kMaxDepth) return;
        // A tensor is recorded under every name that refers to it (tied weights).
        if (v->kind == Kind::Object && try_tensor(*v, name, depth)) return;
        if (v->kind == Kind::Dict || v->kind == Kind::List || v->kind == Kind::Tuple || v->kind == Kind::Object) {
            // Shared containers (memo) would otherwise be walked once per path to them.
            if (!m_seen.insert(v).second) return;
        }
        switch (v->kind) {
            case Kind::Dict:
                for (const auto& [k, val] : v->dict) {
                    std::string part;
                    if (k->kind == Kind::String) part = k->str;
                    else if (k->kind == Kind::Int) part = std::to_string(k->i);
                    else continue;
                    walk(val, join(name, part), depth + 1);
                }
                return;
            case Kind::List:
            case Kind::Tuple:
                for (std::size_t k = 0; k < v->items.size(); ++k) walk(v->items[k], join(name, std::to_string(k)), depth + 1);
                return;
            case Kind::Object:
                walk_module_state(v->state, name, depth);
                return;
            default: return;
        }
    }

    std::vector<TensorRef> take() { return std::move(m_found); }

private:
    static std::string join(const std::string& a, const std::string& b) { return a.empty() ? b : a + "." + b; }

    // A pickled nn.Module keeps its tensors in state['_parameters'] / ['_buffers'] and children
    // in state['_modules']: those levels are left out of names, as state_dict() does.
    void walk_module_state(const Value* state, const std::string& name, int depth) {
        if (!state || state->kind != Kind::Dict) return;
        const bool module = state->get("_modules") || state->get("_parameters");
        if (!module) {
            walk(state, name, depth + 1);
            return;
        }
        for (const char* key : {"_parameters", "_buffers", "_modules"})
            if (const Value* d = state->get(key)) {
                if (!m_seen.insert(d).second || d->kind != Kind::Dict) continue;
                for (const auto& [k, val] : d->dict)
                    if (k->kind == Kind::String) walk(val, join(name, k->str), depth + 1);
            }
    }

    // Recognises the ways torch has pickled tensors and parameters over its versions.
    bool try_tensor(const Value& v, const std::string& name, int depth) {
        if (depth > kMaxDepth) bad("tensor " + printable(name) + ": nested too deeply");
        const Value* c = v.callable;
        if (!c || c->kind != Kind::Global) return false;
        const auto& a = v.items;
        if (c->is_global("torch._utils", "_rebuild_tensor_v2") || c->is_global("torch._utils", "_rebuild_tensor")) {
            if (a.size() < 4) bad("tensor " + printable(name) + ": " + c->name + " with " + std::to_string(a.size()) + " arguments");
            add_tensor(name, a[0], a[1], a[2], a[3]);
            return true;
        }
        if (c->is_global("torch._utils", "_rebuild_parameter") ||
            c->is_global("torch._utils", "_rebuild_parameter_with_state") ||
            c->is_global("torch.nn.parameter", "Parameter")) {
            if (a.empty()) bad("parameter " + printable(name) + " without data");
            walk_tensor_arg(a[0], name, depth);
            return true;
        }
        if (c->is_global("torch._tensor", "_rebuild_from_type_v2") || c->is_global("torch._tensor", "_rebuild_from_type")) {
            // (func, type, args, state): func(*args) is the tensor.
            if (a.size() < 3 || !a[0] || a[0]->kind != Kind::Global || !a[2] || a[2]->kind != Kind::Tuple)
                bad("tensor " + printable(name) + ": malformed " + c->name);
            Value inner;
            inner.kind = Kind::Object;
            inner.callable = a[0];
            inner.items = a[2]->items;
            if (!try_tensor(inner, name, depth + 1)) bad("tensor " + printable(name) + ": unsupported " + describe(*a[0]));
            return true;
        }
        // The first torch versions pickled tensors as torch.FloatTensor() (NEWOBJ, or
        // copyreg._reconstructor(torch.FloatTensor, ...)) with (storage, offset, size, stride) as state.
        const bool reconstructor = (c->is_global("copyreg", "_reconstructor") || c->is_global("copy_reg", "_reconstructor")) &&
                                   !a.empty() && a[0]->kind == Kind::Global;
        if (reconstructor) c = a[0];
        if (c->module == "torch" && c->name.size() > 6 && c->name.compare(c->name.size() - 6, 6, "Tensor") == 0 &&
            v.state && v.state->kind == Kind::Tuple && v.state->items.size() >= 4) {
            const auto& s = v.state->items;
            add_tensor(name, s[0], s[1], s[2], s[3]);
            return true;
        }
        // Quantized, sparse, nested or device-specific tensors: never VGG weights; skipped (a
        // missing conv tensor is then reported by name).
        return c->module == "torch._utils" && c->name.compare(0, 9, "_rebuild_") == 0;
    }

    void walk_tensor_arg(const Value* t, const std::string& name, int depth) {
        if (!t || t->kind != Kind::Object || !try_tensor(*t, name, depth + 1))
            bad("parameter " + printable(name) + " does not wrap a tensor");
    }

    void add_tensor(const std::string& name, const Value* storage, const Value* offset, const Value* size,
                    const Value* stride) {
        if (!storage || storage->kind != Kind::External)
            bad("tensor " + printable(name) + ": its storage is not a persistent id");
        if (!is_int(offset) || offset->i < 0) bad("tensor " + printable(name) + ": bad storage offset");
        TensorRef t;
        t.name = name;
        t.storage = storage->i;
        t.offset = std::uint64_t(offset->i);
        t.size = int_tuple(size, "size", name);
        t.stride = int_tuple(stride, "stride", name);
        if (t.size.size() != t.stride.size())
            bad("tensor " + printable(name) + ": size " + shape_string(t.size) + " and stride " +
                shape_string(t.stride) + " differ in length");
        const Storage& s = m_table.storages().at(std::size_t(t.storage));
        // The elements touched: offset + sum (size_d - 1) * stride_d, checked for overflow.
        unsigned __int128 last = s.view_offset + t.offset;
        bool empty = false;
        for (std::size_t d = 0; d < t.size.size(); ++d) {
            if (t.size[d] < 0 || t.stride[d] < 0)
                bad("tensor " + printable(name) + ": negative size or stride " + shape_string(t.size) + " / " +
                    shape_string(t.stride));
            if (t.size[d] == 0) empty = true;
            else last += (unsigned __int128)(t.size[d] - 1) * (unsigned __int128)t.stride[d];
        }
        t.span_begin = s.view_offset + t.offset;
        t.span_end = empty ? t.span_begin : std::uint64_t(last + 1);
        if (!empty && last + 1 > (unsigned __int128)s.numel)
            bad("tensor " + printable(name) + " of size " + shape_string(t.size) + " at offset " +
                std::to_string(t.offset) + " reaches past the end of its storage '" + printable(s.key) + "' (" +
                std::to_string(s.numel) + " elements)");
        m_found.push_back(std::move(t));
    }

    const StorageTable& m_table;
    std::set<const Value*> m_seen;
    std::vector<TensorRef> m_found;
};

}  // namespace

std::int64_t StorageTable::add(const Value& pid) {
    if (pid.kind != Kind::Tuple || pid.items.size() < 5 || pid.items[0]->kind != Kind::String ||
        pid.items[0]->str != "storage")
        bad("unsupported persistent id " + describe(pid) + " (expected ('storage', type, key, location, numel))");
    const Value* type = pid.items[1];
    const Value* key = pid.items[2];
    const Value* numel = pid.items[4];
    if (type->kind != Kind::Global) bad("storage type is " + describe(*type) + ", not a class");
    if (key->kind != Kind::String) bad("storage key is " + describe(*key));
    if (!is_int(numel) || numel->i < 0) bad("storage '" + printable(key->str) + "' has a bad element count");

    Storage s;
    s.key = key->str;
    s.type_name = type->name;
    s.numel = std::uint64_t(numel->i);
    for (const auto& t : kStorageTypes)
        if (type->module == "torch" && type->name == t.name) {
            s.elem = t.elem;
            s.elem_bytes = t.bytes;
        }
    // Old torch could save views into a storage: (view_key, offset, size).
    if (pid.items.size() >= 6 && pid.items[5]->kind == Kind::Tuple) {
        const auto& vm = pid.items[5]->items;
        if (vm.size() != 3 || !is_int(vm[1]) || !is_int(vm[2]) || vm[1]->i < 0 || vm[2]->i < 0)
            bad("storage '" + printable(s.key) + "': malformed view metadata");
        // numel is the root storage's; the view is elements [offset, offset + size) of it.
        s.view_offset = std::uint64_t(vm[1]->i);
        if (std::uint64_t(vm[1]->i) > s.numel || std::uint64_t(vm[2]->i) > s.numel - s.view_offset)
            bad("storage view of '" + printable(s.key) + "' reaches past its end");
    }
    // The same key may appear in several persistent ids (tensors sharing a storage).
    for (std::size_t k = 0; k < m_storages.size(); ++k) {
        const Storage& o = m_storages[k];
        if (o.key == s.key && o.type_name == s.type_name && o.view_offset == s.view_offset) return std::int64_t(k);
    }
    m_storages.push_back(std::move(s));
    return std::int64_t(m_storages.size() - 1);
}

std::vector<TensorRef> find_tensors(const Value& root, const StorageTable& table) {
    Finder f(table);
    f.walk(&root, "", 0);
    return f.take();
}

void gather(const TensorRef& t, const Storage& s, const unsigned char* span, float* dst) {
    const std::size_t nd = t.size.size();
    // Contiguous C order: one conversion of the whole span.
    bool contiguous = true;
    std::int64_t expect = 1;
    for (std::size_t d = nd; d-- > 0;) {
        if (t.size[d] != 1 && t.stride[d] != expect) contiguous = false;
        expect *= t.size[d];
    }
    const std::size_t n = shape_numel(t.size);
    if (contiguous) {
        to_float(s.elem, span, n, dst);
        return;
    }
    // Strided: walk the index in C order (odometer), element positions relative to span_begin.
    std::vector<std::int64_t> idx(nd, 0);
    std::uint64_t pos = 0;
    for (std::size_t k = 0; k < n; ++k) {
        dst[k] = elem_at(s.elem, span, pos);
        for (std::size_t d = nd; d-- > 0;) {
            if (++idx[d] < t.size[d]) {
                pos += std::uint64_t(t.stride[d]);
                break;
            }
            pos -= std::uint64_t(t.stride[d]) * std::uint64_t(t.size[d] - 1);
            idx[d] = 0;
        }
    }
}

std::string dtype_name(const Storage& s) {
    for (const auto& t : kStorageTypes)
        if (s.type_name == t.name) return t.dtype;
    return printable(s.type_name);
}

std::vector<SourceTensor> source_tensors(const std::vector<TensorRef>& refs, const std::vector<Storage>& storages,
                                         SpanReader read_span, Failure fail) {
    std::vector<SourceTensor> out;
    for (const TensorRef& r : refs) {
        const Storage& s = storages[std::size_t(r.storage)];
        SourceTensor t;
        t.name = r.name;
        t.shape = r.size;
        t.dtype = dtype_name(s);
        t.read = [r, s, read_span, fail](float* dst) {
            if (s.elem == ElemType::Unsupported) {
                fail("tensor " + printable(r.name) + " has dtype " + dtype_name(s) +
                     "; only float32, float64, float16 and bfloat16 weights are supported");
                return;
            }
            std::vector<unsigned char> span((r.span_end - r.span_begin) * s.elem_bytes);
            read_span(r, s, span.data(), span.size());
            gather(r, s, span.data(), dst);
        };
        out.push_back(std::move(t));
    }
    return out;
}

}  // namespace nst::convert::torch
