// SPDX-License-Identifier: MIT
// The .npy header: magic "\x93NUMPY", version, header length, then a Python dict literal such as
// {'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 4, 5), }
// padded with spaces and ending in '\n'. Format reference: numpy/lib/format.py.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace nst {

struct NpyHeader {
    int major = 0, minor = 0;
    std::string descr;
    bool fortran_order = false;
    std::vector<std::int64_t> shape;  // () for a scalar
    std::size_t data_offset = 0;      // bytes from the start of the file to the array data
};

// Parses magic, version and dict from the first n bytes of a file. Returns "" on success, else
// what is wrong (no file name; the caller adds it). Does not judge the dtype or fortran order.
std::string parse_npy_header(const unsigned char* data, std::size_t n, NpyHeader& out);

// The header (magic through '\n') numpy would write for a C-order '<f4' array of this shape:
// version 1.0, or 2.0 only if the dict does not fit 1.0's 16-bit length; total length a
// multiple of 64 so that the data are aligned.
std::vector<unsigned char> format_npy_header(const std::vector<std::int64_t>& shape);

}  // namespace nst
