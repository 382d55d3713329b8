// SPDX-License-Identifier: MIT
// Allocation hooks for device memory. The CUDA library implements them (src/cuda); the
// CPU-only build links core/device_memory_none.cpp, whose versions report that no device exists.
#pragma once
#include <cstddef>

namespace nst::device_memory {

void* allocate(std::size_t bytes);                                 // throws nst::Error (Runtime) on failure
void free(void* ptr) noexcept;
void copy(void* dst, const void* src, std::size_t bytes, bool dst_device, bool src_device);

}  // namespace nst::device_memory
