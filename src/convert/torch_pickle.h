// SPDX-License-Identifier: MIT
// What PyTorch's pickles mean, shared by the zip and the legacy container: persistent ids name
// storages, a few known callables rebuild tensors from (storage, offset, size, stride), and the
// tensors sit in (possibly nested) dicts. Nothing here runs code from the file.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "convert/checkpoint.h"
#include "convert/elements.h"
#include "convert/pickle.h"

namespace nst::convert::torch {

struct Storage {
    std::string key;        // the container's name for the storage's bytes
    std::string type_name;  // "FloatStorage", ...
    ElemType elem = ElemType::Unsupported;
    std::size_t elem_bytes = 0;  // 0 when the type is unknown to us
    std::uint64_t numel = 0;     // elements, as the persistent id says
    // Legacy format: a view into the storage `key` starting at this element (old torch only).
    std::uint64_t view_offset = 0;
};

// Storages by handle (the value persistent_load returns); one entry per distinct key.
class StorageTable {
public:
    // Interprets a persistent id ('storage', type, key, location, numel[, view_metadata]).
    // Throws nst::Error(Input) "<what is wrong>" (the caller prefixes the file).
    std::int64_t add(const pickle::Value& pid);
    const std::vector<Storage>& storages() const { return m_storages; }

private:
    std::vector<Storage> m_storages;
};

struct TensorRef {
    std::string name;                 // dotted path in the pickled object, e.g. "state_dict.features.0.weight"
    std::int64_t storage = -1;        // handle into the StorageTable
    std::uint64_t offset = 0;         // in elements
    std::vector<std::int64_t> size, stride;
    std::uint64_t span_begin = 0, span_end = 0;  // storage elements the tensor touches: [begin, end)
};

// Every tensor in the object, named by its path: dict keys joined by '.', the _modules /
// _parameters / _buffers levels of a pickled nn.Module left out (so a whole pickled model reads
// like its state_dict). Checks offsets and strides against each storage's size.
std::vector<TensorRef> find_tensors(const pickle::Value& root, const StorageTable& table);

// Gathers a tensor from the bytes of its span (span_end - span_begin elements of the storage's
// type, starting at span_begin) into numel float32 values in C order.
void gather(const TensorRef& t, const Storage& s, const unsigned char* span_bytes, float* dst);

// "float32" etc. for a storage type; the type name itself when it is not a float type.
std::string dtype_name(const Storage& s);

// The container-specific parts of reading a tensor: the raw bytes of its span (span_end -
// span_begin elements of its storage, from span_begin) and the reader's error, which throws
// nst::Error(Input) naming the file.
using SpanReader = std::function<void(const TensorRef& ref, const Storage& storage, unsigned char* bytes,
                                      std::size_t size)>;
using Failure = std::function<void(const std::string& message)>;

// The checkpoint tensors of both containers: name, shape and dtype from the references, and a
// read() that refuses unsupported dtypes, reads the span and gathers it into float32.
std::vector<SourceTensor> source_tensors(const std::vector<TensorRef>& refs, const std::vector<Storage>& storages,
                                         SpanReader read_span, Failure fail);

}  // namespace nst::convert::torch
