// SPDX-License-Identifier: MIT
#include "convert/torch7.h"

#include <cerrno>
#include <cstring>

#include "core/error.h"

namespace nst::convert::t7 {

namespace {

constexpr int kMaxDepth = 256;             // nesting of a hostile file must not exhaust the stack
constexpr std::uint32_t kMaxString = 1u << 24;
constexpr std::int32_t kMaxEntries = 1 << 24;

// Element type and size of the Torch7 tensor/storage classes, by the class name's type part.
bool element_of(const std::string& type, ElemType& elem, std::size_t& bytes) {
    struct T {
        const char* name;
        ElemType elem;
        std::size_t bytes;
    };
    static const T types[] = {{"Float", ElemType::F32, 4},       {"Cuda", ElemType::F32, 4},
                              {"Double", ElemType::F64, 8},      {"CudaDouble", ElemType::F64, 8},
                              {"Half", ElemType::F16, 2},        {"CudaHalf", ElemType::F16, 2},
                              {"Byte", ElemType::Unsupported, 1}, {"Char", ElemType::Unsupported, 1},
                              {"Short", ElemType::Unsupported, 2}, {"Int", ElemType::Unsupported, 4},
                              {"Long", ElemType::Unsupported, 8}, {"CudaLong", ElemType::Unsupported, 8},
                              {"CudaInt", ElemType::Unsupported, 4}, {"CudaByte", ElemType::Unsupported, 1}};
    for (const T& t : types)
        if (type == t.name) {
            elem = t.elem;
            bytes = t.bytes;
            return true;
        }
    return false;
}

class Reader {
public:
    explicit Reader(std::shared_ptr<CheckpointFile> f) : m_f(std::move(f)) {}

    std::shared_ptr<Value> object(int depth) {
        if (depth > kMaxDepth) fail("objects nested deeper than " + std::to_string(kMaxDepth));
        const std::int32_t type = i32();
        auto v = std::make_shared<Value>();
        switch (type) {
            case 0: return v;
            case 1:
                v->kind = Kind::Number;
                v->number = f64();
                return v;
            case 2:
                v->kind = Kind::String;
                v->str = string();
                return v;
            case 5:
                v->kind = Kind::Boolean;
                v->boolean = i32() == 1;
                return v;
            case 6: {
                v->kind = Kind::Function;
                skip_bytes(length());
                object(depth + 1);  // upvalues
                return v;
            }
            case 3:
            case 4:
            case 7:
            case 8: {
                const std::int32_t index = i32();
                if (auto it = m_refs.find(index); it != m_refs.end()) return it->second;
                m_refs[index] = v;
                if (type == 7 || type == 8) {
                    v->kind = Kind::Function;
                    skip_bytes(length());
                    object(depth + 1);
                } else if (type == 3) {
                    table(*v, depth);
                } else {
                    torch_object(*v, depth);
                }
                return v;
            }
            default: fail("unknown object type " + std::to_string(type) + " at byte " + std::to_string(m_pos - 4));
        }
    }

    [[noreturn]] void fail(const std::string& what) const { m_f->fail("Torch7 file: " + what); }

private:
    void table(Value& v, int depth) {
        v.kind = Kind::Table;
        const std::int32_t n = i32();
        if (n < 0 || n > kMaxEntries) fail("table of " + std::to_string(n) + " entries");
        for (std::int32_t i = 0; i < n; ++i) {
            std::shared_ptr<Value> key = object(depth + 1);
            std::shared_ptr<Value> value = object(depth + 1);
            if (key->kind == Kind::String) v.fields.emplace_back(key->str, value);
            else if (key->kind == Kind::Number && key->number == double((long long)key->number))
                v.items[(long long)key->number] = value;
            // Other keys (tables, booleans) never name anything a model needs.
        }
    }

    void torch_object(Value& v, int depth) {
        std::string version = string();
        std::string cls = version;
        if (version.rfind("V ", 0) == 0) cls = string();
        v.str = cls;
        const std::string tensor = "Tensor", storage = "Storage";
        auto type_part = [&](const std::string& suffix) -> std::string {
            if (cls.rfind("torch.", 0) != 0 || cls.size() <= 6 + suffix.size() ||
                cls.compare(cls.size() - suffix.size(), suffix.size(), suffix) != 0)
                return "";
            return cls.substr(6, cls.size() - 6 - suffix.size());
        };
        ElemType elem = ElemType::Unsupported;
        std::size_t bytes = 0;
        if (const std::string t = type_part(tensor); !t.empty() && element_of(t, elem, bytes)) {
            v.kind = Kind::Tensor;
            const std::int32_t nd = i32();
            if (nd < 0 || nd > 8) fail("tensor " + printable(cls) + " with " + std::to_string(nd) + " dimensions");
            for (std::int32_t d = 0; d < nd; ++d) v.size.push_back(i64());
            for (std::int32_t d = 0; d < nd; ++d) v.stride.push_back(i64());
            v.offset = i64() - 1;
            v.storage = object(depth + 1);
            if (v.storage->kind != Kind::Nil && v.storage->kind != Kind::Storage)
                fail("tensor " + printable(cls) + " whose storage is not a storage");
            return;
        }
        if (const std::string t = type_part(storage); !t.empty() && element_of(t, elem, bytes)) {
            v.kind = Kind::Storage;
            v.elem = elem;
            v.elem_bytes = bytes;
            const std::int64_t n = i64();
            if (n < 0 || std::uint64_t(n) > (m_f->size - m_pos) / bytes)
                fail("truncated: storage " + printable(cls) + " of " + std::to_string(n) + " elements at byte " +
                     std::to_string(m_pos) + ", the file has " + std::to_string(m_f->size) + " bytes");
            v.numel = std::uint64_t(n);
            v.data_pos = m_pos;
            skip_bytes(std::uint64_t(n) * bytes);
            return;
        }
        if (cls.rfind("torch.", 0) == 0 && (type_part(tensor).size() || type_part(storage).size()))
            fail("unsupported tensor class " + printable(cls));
        // Any other class: its fields as one table.
        v.kind = Kind::Object;
        std::shared_ptr<Value> fields = object(depth + 1);
        if (fields->kind == Kind::Table) {
            v.fields = fields->fields;
            v.items = fields->items;
        }
    }

    void raw(void* dst, std::size_t n) {
        if (m_f->size - m_pos < n)
            fail("truncated: needs " + std::to_string(n) + " bytes at byte " + std::to_string(m_pos) + ", the file has " +
                 std::to_string(m_f->size));
        m_f->seek(m_pos);
        if (n && std::fread(dst, 1, n, m_f->f) != n) fail("read error at byte " + std::to_string(m_pos));
        m_pos += n;
    }
    void skip_bytes(std::uint64_t n) {
        if (m_f->size - m_pos < n)
            fail("truncated: needs " + std::to_string(n) + " bytes at byte " + std::to_string(m_pos) + ", the file has " +
                 std::to_string(m_f->size));
        m_pos += n;
    }
    std::int32_t i32() {
        unsigned char b[4];
        raw(b, 4);
        return std::int32_t(std::uint32_t(b[0]) | std::uint32_t(b[1]) << 8 | std::uint32_t(b[2]) << 16 |
                            std::uint32_t(b[3]) << 24);
    }
    std::int64_t i64() {
        unsigned char b[8];
        raw(b, 8);
        std::uint64_t v = 0;
        for (int i = 7; i >= 0; --i) v = (v << 8) | b[i];
        return std::int64_t(v);
    }
    double f64() {
        const std::int64_t bits = i64();
        double d;
        std::memcpy(&d, &bits, 8);
        return d;
    }
    std::uint32_t length() {
        const std::int32_t n = i32();
        if (n < 0 || std::uint32_t(n) > kMaxString) fail("string of " + std::to_string(n) + " bytes");
        return std::uint32_t(n);
    }
    std::string string() {
        std::string s(length(), '\0');
        raw(s.data(), s.size());
        return s;
    }

    std::shared_ptr<CheckpointFile> m_f;
    std::uint64_t m_pos = 0;
    std::map<std::int32_t, std::shared_ptr<Value>> m_refs;
};

}  // namespace

const Value* Value::get(const std::string& key) const {
    for (const auto& [k, v] : fields)
        if (k == key) return v.get();
    return nullptr;
}

File read_torch7(const std::string& path) {
    File f;
    f.file = std::make_shared<CheckpointFile>(Format::Torch7, path);
    Reader r(f.file);
    f.root = r.object(0);
    return f;
}

std::vector<float> tensor_values(const File& f, const Value& t, const std::string& what) {
    auto fail = [&](const std::string& m) { f.file->fail("Torch7 file: " + what + ": " + m); };
    if (t.kind != Kind::Tensor) fail("is not a tensor");
    std::size_t n = 1;
    for (std::int64_t d : t.size) {
        if (d < 0) fail("has a negative size");
        n *= std::size_t(d);
    }
    std::vector<float> out(n);
    if (n == 0) return out;
    if (!t.storage || t.storage->kind != Kind::Storage) fail("has no storage");
    const Value& s = *t.storage;
    if (s.elem == ElemType::Unsupported) fail("is not a floating-point tensor");
    // The span of storage elements the view touches.
    std::int64_t lo = t.offset, hi = t.offset;
    if (t.stride.size() != t.size.size()) fail("has sizes and strides of different lengths");
    const std::int64_t limit = std::int64_t(s.numel);
    if (t.offset < 0 || t.offset >= limit) fail("starts outside its storage");
    for (std::size_t d = 0; d < t.size.size(); ++d) {
        // Bounded sizes and strides keep the span arithmetic below from overflowing.
        if (t.size[d] > limit || t.stride[d] > limit || t.stride[d] < -limit) fail("is a view outside its storage");
        if (t.size[d] == 0) continue;
        const std::int64_t ext = (t.size[d] - 1) * t.stride[d];
        if (ext < 0) lo += ext;
        else hi += ext;
    }
    if (lo < 0 || hi >= std::int64_t(s.numel)) fail("is a view outside its storage");
    const std::size_t span = std::size_t(hi - lo + 1);
    std::vector<unsigned char> bytes(span * s.elem_bytes);
    f.file->seek(s.data_pos + std::uint64_t(lo) * s.elem_bytes);
    if (std::fread(bytes.data(), 1, bytes.size(), f.file->f) != bytes.size()) fail("read error");
    std::vector<std::size_t> idx(t.size.size(), 0);
    for (std::size_t k = 0; k < n; ++k) {
        std::int64_t e = t.offset - lo;
        for (std::size_t d = 0; d < idx.size(); ++d) e += std::int64_t(idx[d]) * t.stride[d];
        out[k] = elem_at(s.elem, bytes.data(), std::size_t(e));
        for (std::size_t d = idx.size(); d-- > 0;) {
            if (++idx[d] < std::size_t(t.size[d])) break;
            idx[d] = 0;
        }
    }
    return out;
}

}  // namespace nst::convert::t7
