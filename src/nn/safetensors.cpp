// SPDX-License-Identifier: MIT
#include "nn/safetensors.h"

#include <algorithm>
#include <cerrno>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "core/error.h"
#include "io/atomic_file.h"

// The data buffer is little-endian; reading F32 straight into float memory and writing float
// memory straight out is only right on a little-endian host (every platform we build for).
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "safetensors I/O assumes a little-endian host");

namespace nst {

namespace {

// Real headers are a few kB (one short entry per tensor); the cap keeps a random 8-byte prefix
// (a .pth, an image) from making us allocate gigabytes before the JSON parser can say no.
constexpr std::uint64_t kMaxHeaderBytes = 100ull << 20;

struct DtypeInfo {
    SafetensorsDtype dtype;
    const char* name;
    std::size_t size;
};

// Every dtype of the safetensors format, so that files holding tensors we never read (integer
// buffers, F8) still validate.
constexpr DtypeInfo kDtypes[] = {
    {SafetensorsDtype::F64, "F64", 8},     {SafetensorsDtype::F32, "F32", 4},
    {SafetensorsDtype::F16, "F16", 2},     {SafetensorsDtype::BF16, "BF16", 2},
    {SafetensorsDtype::I64, "I64", 8},     {SafetensorsDtype::I32, "I32", 4},
    {SafetensorsDtype::I16, "I16", 2},     {SafetensorsDtype::I8, "I8", 1},
    {SafetensorsDtype::U64, "U64", 8},     {SafetensorsDtype::U32, "U32", 4},
    {SafetensorsDtype::U16, "U16", 2},     {SafetensorsDtype::U8, "U8", 1},
    {SafetensorsDtype::Bool, "BOOL", 1},   {SafetensorsDtype::F8E5M2, "F8_E5M2", 1},
    {SafetensorsDtype::F8E4M3, "F8_E4M3", 1},
};

const DtypeInfo& info(SafetensorsDtype dtype) {
    for (const auto& d : kDtypes)
        if (d.dtype == dtype) return d;
    NST_REQUIRE(false, "unknown SafetensorsDtype");
    return kDtypes[0];
}

// Names and keys come from the file: keep error messages on one printable line.
std::string printable(const std::string& s) {
    constexpr std::size_t kMax = 120;
    std::string out;
    for (std::size_t i = 0; i < s.size() && i < kMax; ++i) {
        const unsigned char c = static_cast<unsigned char>(s[i]);
        out += (c < 0x20 || c == 0x7f) ? '?' : char(c);
    }
    if (s.size() > kMax) out += "...";
    return out;
}

std::string offsets_str(const SafetensorsEntry& e) {
    return "[" + std::to_string(e.begin) + ", " + std::to_string(e.end) + "]";
}

// IEEE binary16 to binary32, exact (every half is a float), keeping inf and NaN.
float half_to_float(std::uint16_t h) {
    const std::uint32_t sign = std::uint32_t(h & 0x8000u) << 16;
    const std::uint32_t exp = (h >> 10) & 0x1fu;
    const std::uint32_t mant = h & 0x3ffu;
    std::uint32_t bits;
    if (exp == 0) {
        // Zero or subnormal: mant * 2^-24, exactly representable as a normal float.
        const float mag = std::ldexp(float(mant), -24);
        return sign ? -mag : mag;
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | (mant << 13);  // inf, or NaN with its payload
    } else {
        bits = sign | ((exp + 112u) << 23) | (mant << 13);  // rebias 15 -> 127
    }
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

// bfloat16 is the top half of a float32.
float bf16_to_float(std::uint16_t h) {
    const std::uint32_t bits = std::uint32_t(h) << 16;
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

// double to float with round-to-nearest; out-of-range finite values become +-inf explicitly,
// since a plain cast of a double beyond the float range is undefined behaviour in C++.
float double_to_float(double d) {
    // Halfway between FLT_MAX and 2^128: from here on, round-to-nearest-even gives infinity.
    constexpr double kOverflow = 0x1.ffffffp127;
    if (std::isfinite(d) && std::fabs(d) >= kOverflow) return d > 0 ? HUGE_VALF : -HUGE_VALF;
    return static_cast<float>(d);
}

bool mul_overflows(std::uint64_t a, std::uint64_t b, std::uint64_t& out) {
    return __builtin_mul_overflow(a, b, &out);
}

struct HeaderReject {
    std::string what;
};

}  // namespace

const char* dtype_name(SafetensorsDtype dtype) { return info(dtype).name; }
std::size_t dtype_size(SafetensorsDtype dtype) { return info(dtype).size; }
bool dtype_converts_to_float(SafetensorsDtype dtype) {
    return dtype == SafetensorsDtype::F32 || dtype == SafetensorsDtype::F16 || dtype == SafetensorsDtype::BF16 ||
           dtype == SafetensorsDtype::F64;
}

std::size_t SafetensorsEntry::numel() const {
    std::size_t n = 1;
    for (auto d : shape) n *= std::size_t(d);
    return n;
}

std::string SafetensorsEntry::shape_str() const {
    std::string s = "(";
    for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + ")";
}

// --- reading -------------------------------------------------------------------------------

SafetensorsReader::SafetensorsReader(const std::string& path, std::string label)
    : m_path(path), m_label(std::move(label)) {
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::file_status st = fs::status(path, ec);  // follows symlinks
    if (st.type() == fs::file_type::not_found) fail("not found");
    if (st.type() == fs::file_type::directory) fail("is a directory, not a safetensors file");
    // A FIFO or device would block or never end; only plain files are read. (Other status
    // errors, such as permissions, are left to fopen to report.)
    if (!ec && st.type() != fs::file_type::regular) fail("is not a regular file");
    m_file.reset(std::fopen(path.c_str(), "rb"));
    if (!m_file) fail(std::string("cannot open: ") + std::strerror(errno));
    std::FILE* f = m_file.get();
    if (fseeko(f, 0, SEEK_END) != 0) fail(std::string("cannot seek: ") + std::strerror(errno));
    const off_t size = ftello(f);
    if (size < 0) fail(std::string("cannot tell its size: ") + std::strerror(errno));
    m_file_size = std::uint64_t(size);
    std::rewind(f);

    unsigned char len[8];
    if (m_file_size < 8)
        fail("truncated (file has " + std::to_string(m_file_size) + " bytes, fewer than the 8-byte header length)");
    if (std::fread(len, 1, 8, f) != 8) fail("read error in the header length");
    std::uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | len[i];
    // Checked only when the length is unusable anyway, so that no valid file is refused for it.
    if ((n > kMaxHeaderBytes || n > m_file_size - 8) && std::memcmp(len, "PK\x03\x04", 4) == 0)
        fail("is a zip archive (a PyTorch .pth?), not a safetensors file; convert it first");
    if (n > kMaxHeaderBytes)
        fail("header length " + std::to_string(n) + " exceeds the " + std::to_string(kMaxHeaderBytes >> 20) +
             " MiB limit: not a safetensors file");
    if (n > m_file_size - 8)
        fail("truncated (header says " + std::to_string(n) + " header bytes, file has " +
             std::to_string(m_file_size - 8) + " after the length)");
    std::string header(n, '\0');
    if (n > 0 && std::fread(header.data(), 1, n, f) != n) fail("read error in the header");
    m_data_start = 8 + n;
    parse_header(header);
}

std::string SafetensorsReader::where() const { return m_label + " '" + m_path + "'"; }

void SafetensorsReader::fail(const std::string& what) const {
    // "not found" reads better without the colon: "safetensors file 'x' not found".
    throw_input(where() + (what == "not found" ? " " : ": ") + what);
}

void SafetensorsReader::parse_header(const std::string& header) {
    using json = nlohmann::json;
    // The format requires the header to be a JSON object; checking the first byte also gives a
    // clearer message than the parser's for binary garbage.
    if (header.empty() || header[0] != '{') fail("header is not a JSON object");

    // The callback rejects duplicate keys (the parser would silently keep the last, so two
    // readers could disagree on a file) and nesting deeper than the format uses (name ->
    // entry -> shape array), before any of it is built.
    std::set<std::string> top_keys, entry_keys;
    auto callback = [&](int depth, json::parse_event_t event, json& parsed) {
        if ((event == json::parse_event_t::object_start || event == json::parse_event_t::array_start) && depth >= 3)
            throw HeaderReject{"header nests deeper than a safetensors header does"};
        if (event == json::parse_event_t::object_start && depth == 1) entry_keys.clear();
        if (event == json::parse_event_t::key) {
            const std::string& k = parsed.get_ref<const std::string&>();
            auto& seen = depth == 1 ? top_keys : entry_keys;
            if (depth <= 2 && !seen.insert(k).second)
                throw HeaderReject{"header has the key '" + printable(k) + "' twice" +
                                   (depth == 1 ? "" : " in one entry")};
        }
        return true;
    };
    json root;
    try {
        root = json::parse(header, callback);
    } catch (const HeaderReject& r) {
        fail(r.what);
    } catch (const json::parse_error& e) {
        std::string msg = e.what();
        const auto pos = msg.find("] ");  // drop nlohmann's "[json.exception.parse_error.101] "
        if (pos != std::string::npos) msg = msg.substr(pos + 2);
        fail("header is not valid JSON: " + printable(msg));
    }
    if (!root.is_object()) fail("header is not a JSON object");

    for (auto it = root.begin(); it != root.end(); ++it) {
        const std::string& name = it.key();
        const json& v = it.value();
        if (name == "__metadata__") {
            if (!v.is_object()) fail("__metadata__ is not an object of strings");
            for (auto m = v.begin(); m != v.end(); ++m) {
                if (!m.value().is_string()) fail("__metadata__ value of '" + printable(m.key()) + "' is not a string");
                m_metadata[m.key()] = m.value().get<std::string>();
            }
            continue;
        }
        const std::string tname = "tensor " + printable(name);
        if (!v.is_object()) fail(tname + " is not described by an object");
        SafetensorsEntry e;
        e.name = name;

        auto dt = v.find("dtype");
        if (dt == v.end() || !dt->is_string()) fail(tname + " has no dtype string");
        const std::string& ds = dt->get_ref<const std::string&>();
        const DtypeInfo* d = nullptr;
        for (const auto& k : kDtypes)
            if (ds == k.name) d = &k;
        if (!d) fail(tname + " has unknown dtype '" + printable(ds) + "'");
        e.dtype = d->dtype;

        auto sh = v.find("shape");
        if (sh == v.end() || !sh->is_array()) fail(tname + " has no shape array");
        std::uint64_t numel = 1;
        for (const auto& x : *sh) {
            // Dimensions must fit int64 too (the reference reader uses usize; we keep int64).
            if (!x.is_number_unsigned() || x.get<std::uint64_t>() > std::uint64_t(INT64_MAX))
                fail(tname + " has a shape entry that is not a non-negative integer");
            const std::uint64_t dim = x.get<std::uint64_t>();
            e.shape.push_back(std::int64_t(dim));
            if (mul_overflows(numel, dim, numel)) fail(tname + " has a shape whose size overflows");
        }

        auto off = v.find("data_offsets");
        if (off == v.end() || !off->is_array() || off->size() != 2 || !(*off)[0].is_number_unsigned() ||
            !(*off)[1].is_number_unsigned())
            fail(tname + " has no data_offsets pair of non-negative integers");
        e.begin = (*off)[0].get<std::uint64_t>();
        e.end = (*off)[1].get<std::uint64_t>();
        if (e.end < e.begin) fail(tname + " has data_offsets " + offsets_str(e) + " that end before they begin");
        std::uint64_t bytes = 0;
        const bool overflow = mul_overflows(numel, d->size, bytes);
        if (overflow || bytes != e.end - e.begin)
            fail(tname + " has shape " + e.shape_str() + " of " + d->name + " (" +
                 (overflow ? std::string("too many") : std::to_string(bytes)) + " bytes) but data_offsets " +
                 offsets_str(e) + " span " + std::to_string(e.end - e.begin) + " bytes");
        m_entries.push_back(std::move(e));
    }

    // Data order; ties (empty tensors) by name so that the order is deterministic.
    std::sort(m_entries.begin(), m_entries.end(), [](const SafetensorsEntry& a, const SafetensorsEntry& b) {
        if (a.begin != b.begin) return a.begin < b.begin;
        if (a.end != b.end) return a.end < b.end;
        return a.name < b.name;
    });
    std::uint64_t data_end = 0;
    const SafetensorsEntry* last = nullptr;  // the entry reaching data_end
    for (const auto& e : m_entries) {
        if (last && e.begin < data_end && e.end > e.begin)
            fail("tensors " + printable(last->name) + " and " + printable(e.name) + " overlap (data_offsets " +
                 offsets_str(*last) + " and " + offsets_str(e) + ")");
        if (e.end > data_end || !last) {
            data_end = std::max(data_end, e.end);
            last = &e;
        }
    }
    // Gaps between tensors and bytes after the last one are tolerated (the reference writer
    // leaves none, but they cannot make us read anything wrong); missing bytes are not.
    const std::uint64_t have = m_file_size - m_data_start;
    if (data_end > have)
        fail("truncated (header says " + std::to_string(data_end) + " data bytes, file has " + std::to_string(have) +
             ")");
}

const SafetensorsEntry* SafetensorsReader::find(const std::string& name) const {
    for (const auto& e : m_entries)
        if (e.name == name) return &e;
    return nullptr;
}

void SafetensorsReader::read(const SafetensorsEntry& entry, float* dst) {
    const std::string tname = "tensor " + printable(entry.name);
    if (!dtype_converts_to_float(entry.dtype))
        fail(tname + " has dtype " + dtype_name(entry.dtype) + ", which cannot be read as float (F32, F16, BF16, F64 can)");
    NST_REQUIRE(entry.begin <= entry.end && entry.end <= m_file_size - m_data_start,
                "SafetensorsReader::read given an entry of another file");
    const std::uint64_t bytes = entry.end - entry.begin;
    if (bytes == 0) return;
    std::FILE* f = m_file.get();
    if (fseeko(f, off_t(m_data_start + entry.begin), SEEK_SET) != 0)
        fail(tname + ": cannot seek: " + std::strerror(errno));
    auto short_read = [&](std::uint64_t got) {
        fail(tname + ": read " + std::to_string(got) + " of " + std::to_string(bytes) +
             " bytes (file changed while reading?)");
    };

    if (entry.dtype == SafetensorsDtype::F32) {
        // The common case: straight into the destination, no staging copy.
        const std::size_t got = std::fread(dst, 1, bytes, f);
        if (got != bytes) short_read(got);
    } else {
        // Convert through a bounded staging buffer rather than a whole-tensor copy.
        const std::size_t esize = dtype_size(entry.dtype);
        const std::size_t chunk_elems = (std::size_t(1) << 20) / esize;
        std::vector<unsigned char> stage(chunk_elems * esize);
        std::uint64_t done = 0;
        std::size_t out = 0;
        while (done < bytes) {
            const std::size_t want = std::size_t(std::min<std::uint64_t>(stage.size(), bytes - done));
            const std::size_t got = std::fread(stage.data(), 1, want, f);
            if (got != want) short_read(done + got);
            const std::size_t n = want / esize;
            const unsigned char* p = stage.data();
            for (std::size_t i = 0; i < n; ++i, p += esize) {
                if (entry.dtype == SafetensorsDtype::F64) {
                    double v;
                    std::memcpy(&v, p, 8);
                    dst[out++] = double_to_float(v);
                } else {
                    std::uint16_t h;
                    std::memcpy(&h, p, 2);
                    dst[out++] = entry.dtype == SafetensorsDtype::F16 ? half_to_float(h) : bf16_to_float(h);
                }
            }
            done += want;
        }
    }
    m_bytes_read += bytes;
}

const SafetensorsTensor* SafetensorsFile::find(const std::string& name) const {
    for (const auto& t : tensors)
        if (t.name == name) return &t;
    return nullptr;
}

SafetensorsFile read_safetensors(const std::string& path, const std::function<bool(const std::string&)>& want,
                                 const std::string& label) {
    SafetensorsReader reader(path, label);
    SafetensorsFile file;
    file.metadata = reader.metadata();
    for (const auto& e : reader.entries()) {
        if (want && !want(e.name)) continue;
        SafetensorsTensor t;
        t.name = e.name;
        t.dtype = e.dtype;
        t.shape = e.shape;
        t.data.resize(e.numel());
        reader.read(e, t.data.data());
        file.tensors.push_back(std::move(t));
    }
    return file;
}

// --- writing -------------------------------------------------------------------------------

std::vector<SafetensorsView> views_of(const SafetensorsFile& file) {
    std::vector<SafetensorsView> out;
    for (const auto& t : file.tensors) out.push_back({t.name, t.shape, t.data.data()});
    return out;
}

void save_safetensors(const std::string& path, const std::vector<SafetensorsView>& tensors,
                      const std::map<std::string, std::string>& metadata) {
    // ordered_json keeps the header in data order with __metadata__ first, as people expect
    // when they look at a header.
    nlohmann::ordered_json header = nlohmann::ordered_json::object();
    if (!metadata.empty()) header["__metadata__"] = metadata;
    std::set<std::string> names;
    std::uint64_t offset = 0;
    std::vector<std::uint64_t> sizes;
    for (const auto& t : tensors) {
        NST_REQUIRE(!t.name.empty() && t.name != "__metadata__", "bad safetensors tensor name '" + t.name + "'");
        NST_REQUIRE(names.insert(t.name).second, "duplicate safetensors tensor name '" + t.name + "'");
        std::uint64_t numel = 1;
        for (auto d : t.shape) {
            NST_REQUIRE(d >= 0, "negative dimension in tensor '" + t.name + "'");
            NST_REQUIRE(!mul_overflows(numel, std::uint64_t(d), numel), "size overflow in tensor '" + t.name + "'");
        }
        NST_REQUIRE(numel == 0 || t.data, "tensor '" + t.name + "' has no data");
        const std::uint64_t bytes = numel * sizeof(float);
        header[t.name] = {{"dtype", "F32"}, {"shape", t.shape}, {"data_offsets", {offset, offset + bytes}}};
        offset += bytes;
        sizes.push_back(bytes);
    }
    std::string text;
    try {
        text = header.dump();
    } catch (const nlohmann::json::type_error&) {
        throw_input("safetensors file '" + path + "': a tensor name or metadata value is not valid UTF-8");
    }
    // Pad with spaces so that the data buffer starts 8-byte aligned (a reader may map it and
    // view it as float or double arrays in place).
    text.append((8 - text.size() % 8) % 8, ' ');

    std::vector<unsigned char> bytes(8 + text.size() + offset);
    std::uint64_t n = text.size();
    for (int i = 0; i < 8; ++i) bytes[i] = static_cast<unsigned char>(n >> (8 * i));
    std::memcpy(bytes.data() + 8, text.data(), text.size());
    unsigned char* p = bytes.data() + 8 + text.size();
    for (std::size_t i = 0; i < tensors.size(); ++i) {
        if (sizes[i]) std::memcpy(p, tensors[i].data, sizes[i]);
        p += sizes[i];
    }
    write_file_atomic(path, bytes);
}

}  // namespace nst
