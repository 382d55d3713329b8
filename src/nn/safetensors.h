// SPDX-License-Identifier: MIT
// safetensors files (https://github.com/huggingface/safetensors): an 8-byte little-endian header
// length N, N bytes of JSON
//   {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
//    "__metadata__": {"key": "value", ...}}
// then the data buffer, which the offsets index.
//
// Reading validates the whole header before any data is touched (header length against the file
// size, JSON, dtypes, shape x dtype size == end - begin, offsets inside the buffer and not
// overlapping), so a corrupt or truncated file fails fast with one line naming the file and the
// tensor. Data is read with stdio into the caller's memory: a tensor the caller does not ask for
// is skipped by seeking, so taking the 80 MB of conv weights out of a 550 MB torchvision file
// reads 80 MB, once.
//
// Element types: F32 is the native type. F16, BF16 and F64 are converted to float32 on reading
// (F64 values beyond the float range become +-inf, which callers that check finiteness catch).
// The other safetensors dtypes (integers, bool, F8) are recognised so that files holding them
// validate, but reading such a tensor as float is an error.
//
// Writing produces F32 little-endian, with the header JSON padded with spaces so that the data
// starts 8-byte aligned, as the reference implementation does; the file is written atomically.
#pragma once
#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace nst {

enum class SafetensorsDtype { F64, F32, F16, BF16, I64, I32, I16, I8, U64, U32, U16, U8, Bool, F8E5M2, F8E4M3 };

const char* dtype_name(SafetensorsDtype dtype);
std::size_t dtype_size(SafetensorsDtype dtype);        // bytes per element
bool dtype_converts_to_float(SafetensorsDtype dtype);  // F32, F16, BF16, F64

// One tensor as the header describes it. Offsets are relative to the start of the data buffer.
struct SafetensorsEntry {
    std::string name;
    SafetensorsDtype dtype = SafetensorsDtype::F32;
    std::vector<std::int64_t> shape;  // empty for a scalar
    std::uint64_t begin = 0, end = 0;

    std::size_t numel() const;
    std::string shape_str() const;  // "(256, 128, 3, 3)", "()" for a scalar
};

// An open, validated safetensors file. Messages of the errors it throws begin "<label> '<path>': ".
class SafetensorsReader {
public:
    // Throws nst::Error(Input) when the file is missing, unreadable or invalid in any way that
    // the header and the file size reveal (including truncation).
    explicit SafetensorsReader(const std::string& path, std::string label = "safetensors file");

    const std::string& path() const { return m_path; }
    // Entries in data order (ascending begin offset), which is the cheapest order to read them in.
    const std::vector<SafetensorsEntry>& entries() const { return m_entries; }
    const std::map<std::string, std::string>& metadata() const { return m_metadata; }
    const SafetensorsEntry* find(const std::string& name) const;  // nullptr when absent

    // Reads one tensor, converted to float32, into dst (entry.numel() floats). Throws
    // nst::Error(Input) naming the tensor for an unconvertible dtype or a failed read.
    void read(const SafetensorsEntry& entry, float* dst);

    // Data bytes read so far (lets tests check that skipped tensors were not read).
    std::uint64_t bytes_read() const { return m_bytes_read; }
    // "<label> '<path>'", the prefix of every message about this file.
    std::string where() const;

private:
    [[noreturn]] void fail(const std::string& what) const;
    void parse_header(const std::string& header);

    struct Closer {
        void operator()(std::FILE* f) const { std::fclose(f); }
    };
    std::string m_path, m_label;
    std::unique_ptr<std::FILE, Closer> m_file;  // closed on every path, throwing constructor included
    std::uint64_t m_file_size = 0;
    std::uint64_t m_data_start = 0;  // 8 + header length
    std::vector<SafetensorsEntry> m_entries;
    std::map<std::string, std::string> m_metadata;
    std::uint64_t m_bytes_read = 0;
};

// A whole file in memory: every tensor converted to float32.
struct SafetensorsTensor {
    std::string name;
    SafetensorsDtype dtype = SafetensorsDtype::F32;  // dtype in the file, before conversion
    std::vector<std::int64_t> shape;
    std::vector<float> data;  // numel floats, C order
};

struct SafetensorsFile {
    std::vector<SafetensorsTensor> tensors;  // in data order
    std::map<std::string, std::string> metadata;

    const SafetensorsTensor* find(const std::string& name) const;  // nullptr when absent
};

// Reads the tensors for which want(name) is true (all when want is empty); the others are
// validated but skipped without reading. Throws nst::Error(Input) as SafetensorsReader does.
SafetensorsFile read_safetensors(const std::string& path,
                                 const std::function<bool(const std::string&)>& want = {},
                                 const std::string& label = "safetensors file");

// A tensor to write: numel(shape) float32 values at data, borrowed for the call.
struct SafetensorsView {
    std::string name;
    std::vector<std::int64_t> shape;
    const float* data = nullptr;
};

// Views of every tensor of a file read into memory, for writing it back.
std::vector<SafetensorsView> views_of(const SafetensorsFile& file);

// Writes the tensors (F32, data in the given order) and metadata atomically. Names must be
// unique, non-empty and not "__metadata__" (caller bugs, checked with NST_REQUIRE). Throws
// nst::Error(Input) naming the path when it cannot be written.
void save_safetensors(const std::string& path,
                      const std::vector<SafetensorsView>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

}  // namespace nst
