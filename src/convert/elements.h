// SPDX-License-Identifier: MIT
// Little-endian element types found in checkpoints, converted to float32. Every format stores
// its floats little-endian (PyTorch records byte order and we refuse big-endian files; Caffe's
// protobuf fixed32/fixed64 are little-endian by definition; HDF5 converts itself).
#pragma once
#include <cstddef>
#include <cstdint>

namespace nst::convert {

enum class ElemType { F16, BF16, F32, F64, Unsupported };

// Bytes per element (0 for Unsupported).
std::size_t elem_size(ElemType t);

// Converts n little-endian elements at src (any alignment) to float. F64 values beyond the
// float range become +-inf (the converter then reports them as non-finite).
void to_float(ElemType t, const unsigned char* src, std::size_t n, float* dst);

// Element k of a little-endian array, as float.
float elem_at(ElemType t, const unsigned char* src, std::size_t k);

}  // namespace nst::convert
