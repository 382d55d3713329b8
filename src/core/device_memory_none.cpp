// SPDX-License-Identifier: MIT
// Device-memory hooks for a build without CUDA: every request is a runtime error (exit code 4).
#include "core/device_memory.h"
#include "core/error.h"

namespace nst::device_memory {

void* allocate(std::size_t) { throw_runtime("this nst was built without CUDA; use --backend cpu"); }
void free(void*) noexcept {}
void copy(void*, const void*, std::size_t, bool, bool) {
    throw_runtime("this nst was built without CUDA; use --backend cpu");
}

}  // namespace nst::device_memory
