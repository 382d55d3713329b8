// SPDX-License-Identifier: MIT
// Images held in the caller's memory (a NumPy array handed to the Python module, issue #15),
// read by the image loaders in place of a file. The caller registers an array under a
// pseudo-path for the current thread (ScopedMemoryImage); load_image() and load_npy_image() find
// it there first, so every command reads it where it would have decoded a file — through the
// CLI's own code, with no temporary file and no copy before the loader's own tensor.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/tensor.h"

namespace nst {

// A strided (C, H, W) view of three colour planes: any layout (H, W, 3), (1, 3, H, W), ...
// whose strides are given in elements. uint8 values are scaled by 1/255 (0..255 -> [0, 1]).
struct MemoryImage {
    enum class Type { U8, F32 };
    const void* data = nullptr;
    Type type = Type::F32;
    int h = 0, w = 0;
    std::ptrdiff_t stride_c = 0, stride_h = 0, stride_w = 0;
    bool on_device = false;  // CUDA memory (DLPack): read through one device-to-host copy
    std::string label;       // names the array in error messages, e.g. "content"
};

// Registers `image` under `path` for the current thread until destruction (nested scopes may
// shadow a path; the innermost wins).
class ScopedMemoryImage {
public:
    ScopedMemoryImage(std::string path, MemoryImage image);
    ~ScopedMemoryImage();
    ScopedMemoryImage(const ScopedMemoryImage&) = delete;
    ScopedMemoryImage& operator=(const ScopedMemoryImage&) = delete;

private:
    std::string m_path;
};

// The image registered under `path` on this thread, or null.
const MemoryImage* find_memory_image(const std::string& path);

// Reads a registered image as (1, 3, H, W) float. `unit_range`: values must lie in [0, 1] (an
// RGB image); otherwise only finiteness is checked (a network-space tensor). Input errors name
// the array by its label.
Tensor<float> read_memory_image(const MemoryImage& image, bool unit_range);

// The address of the last array read by read_memory_image (any thread): lets tests check that
// the loader read the caller's buffer itself, not a copy made on the way.
std::uintptr_t last_memory_image_read();

}  // namespace nst
