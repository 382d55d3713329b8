// SPDX-License-Identifier: MIT
// Arrays between Python and the engine: the caller's images read in place (io/memory_images.h)
// and results handed back as NumPy arrays that own the engine's memory.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>

#include "core/tensor.h"
#include "io/memory_images.h"

namespace nst::py {

namespace nb = nanobind;

using AnyArray = nb::ndarray<nb::ro>;
using NumpyFloat = nb::ndarray<nb::numpy, float>;

// Describes an image array for the loaders without copying it: (H, W, 3|4), (3, H, W),
// (1, 3, H, W) or grey (H, W), any strides, uint8 or float32, on the CPU or (DLPack) a CUDA
// device. Anything else raises nst.UsageError naming `label`.
MemoryImage memory_image_of(const AnyArray& a, const std::string& label);

// The arrays of one call registered under their pseudo-paths for the current thread.
class RegisteredArrays {
public:
    explicit RegisteredArrays(const nb::dict& arrays);  // {pseudo-path: array}

private:
    std::vector<AnyArray> m_arrays;  // keep the buffers alive while the command runs
    std::vector<std::unique_ptr<ScopedMemoryImage>> m_scopes;
};

// An RGB (1, 3, H, W) tensor as a C-contiguous (H, W, 3) float32 NumPy array (one transposing
// copy), clamped to [0, 1] as every image file is (the optimum may overshoot a little).
NumpyFloat numpy_hwc(ConstView<float> rgb);

// A tensor handed to NumPy without a copy: the array owns it. `shape` in elements.
NumpyFloat numpy_owning(Tensor<float>&& t, std::vector<std::size_t> shape);

// A view copied into a new NumPy array of `shape`.
NumpyFloat numpy_copy(ConstView<float> v, std::vector<std::size_t> shape);

}  // namespace nst::py
