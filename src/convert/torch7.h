// SPDX-License-Identifier: MIT
// Torch7's binary serialisation (torch.save in Lua Torch; File.lua writeObject), read without
// Lua, as jcjohnson/fast-neural-style's .t7 models need. Nothing in the file is run.
//
// An object is an int32 type tag followed by its value, little-endian:
//   0 nil;  1 number: float64;  2 string: int32 length, bytes;  5 boolean: int32 (1 = true);
//   3 table: int32 reference index (an index seen before is a back-reference and ends the
//     object), int32 entry count, then that many (key object, value object) pairs;
//   4 torch object: int32 reference index (as tables), int32 length + "V <version>" (an older
//     file has the class name right here instead), int32 length + class name, then
//       torch.<T>Tensor:  int32 nDimension, int64 size[n], int64 stride[n], int64 storage offset
//                         (1-based), then the storage object (or nil);
//       torch.<T>Storage: int64 element count, then the raw elements;
//       any other class (nn.SpatialConvolution, ...): one table object holding its fields;
//   6 function, 7/8 recursive function: int32 index (7/8 only), int32 length, Lua bytecode,
//     then the upvalues object (read and ignored).
// Longs are 8 bytes (the default of 64-bit Linux, where the published models were written).
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "convert/checkpoint.h"
#include "convert/elements.h"

namespace nst::convert::t7 {

enum class Kind { Nil, Number, String, Boolean, Table, Object, Tensor, Storage, Function };

struct Value {
    Kind kind = Kind::Nil;
    double number = 0;
    bool boolean = false;
    std::string str;  // String; the class name of Object, Tensor and Storage
    // Table entries (and an Object's fields) with string or number keys, in file order.
    std::vector<std::pair<std::string, std::shared_ptr<Value>>> fields;
    std::map<long long, std::shared_ptr<Value>> items;  // integer keys (Lua arrays: 1..n)
    // Tensor
    std::vector<std::int64_t> size, stride;
    std::int64_t offset = 0;  // 0-based, in elements of the storage
    std::shared_ptr<Value> storage;
    // Storage
    ElemType elem = ElemType::Unsupported;
    std::size_t elem_bytes = 0;
    std::uint64_t numel = 0, data_pos = 0;  // elements, and where they start in the file

    const Value* get(const std::string& key) const;  // a string-keyed field, or nullptr
};

struct File {
    std::shared_ptr<CheckpointFile> file;  // kept open for reading storages
    std::shared_ptr<Value> root;
};

// Parses the object structure (not the storages' data). Throws nst::Error(Input) naming the file.
File read_torch7(const std::string& path);

// A float tensor's values in C order, numel(size) of them. Throws nst::Error(Input) (via the
// file) for another element type, a view outside its storage or a read error.
std::vector<float> tensor_values(const File& f, const Value& tensor, const std::string& what);

}  // namespace nst::convert::t7
