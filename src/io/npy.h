// SPDX-License-Identifier: MIT
// NumPy .npy files (format 1.0/2.0/3.0), little-endian float32 in and out; float64 is accepted
// on input and converted. C order only.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace nst {

struct NpyArray {
    std::vector<std::int64_t> shape;
    std::vector<float> data;
};

// Throws nst::Error(Input) naming the file for anything malformed, truncated, Fortran-ordered,
// big-endian or of another dtype.
NpyArray load_npy(const std::string& path);

// Loads a preprocessed image tensor: must be float32/float64 with shape (1, 3, H, W).
Tensor<float> load_npy_image(const std::string& path);

// Writes float32 data with the given shape, atomically.
void save_npy(const std::string& path, const float* data, const std::vector<std::int64_t>& shape);

}  // namespace nst
