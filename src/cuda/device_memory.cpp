// SPDX-License-Identifier: MIT
// The device-memory hooks of core/device_memory.h on top of cudaMalloc, with the accounting of
// device_stats.h. Sizes are remembered per pointer so that free() can keep the count exact.
// Allocation happens only while setting a problem up, never inside an iteration, so a mutex
// costs nothing measurable.
#include <mutex>
#include <unordered_map>

#include "core/device_memory.h"
#include "cuda/check.h"
#include "cuda/device_stats.h"

namespace nst {

namespace {

struct Accounting {
    std::mutex mutex;
    std::unordered_map<void*, std::size_t> sizes;
    std::size_t in_use = 0, peak = 0;
};

Accounting& accounting() {
    static Accounting a;  // constructed on first use, never destroyed before the last free
    return a;
}

std::string mib(std::size_t bytes) { return std::to_string((bytes + (1 << 20) - 1) >> 20) + " MiB"; }

}  // namespace

namespace device_memory {

void* allocate(std::size_t bytes) {
    void* ptr = nullptr;
    const cudaError_t status = cudaMalloc(&ptr, bytes);
    Accounting& a = accounting();
    if (status == cudaErrorMemoryAllocation) {
        cudaGetLastError();
        std::size_t free_bytes = 0, total = 0;
        cudaMemGetInfo(&free_bytes, &total);
        throw_runtime("out of device memory allocating " + mib(bytes) + " (nst holds " + mib(a.in_use) + ", " +
                      mib(free_bytes) + " of " + mib(total) +
                      " free on the device); lower --image-size or --lbfgs-history");
    }
    NST_CUDA_CHECK(status);
    std::lock_guard<std::mutex> lock(a.mutex);
    a.sizes[ptr] = bytes;
    a.in_use += bytes;
    if (a.in_use > a.peak) a.peak = a.in_use;
    return ptr;
}

void free(void* ptr) noexcept {
    if (!ptr) return;
    Accounting& a = accounting();
    {
        std::lock_guard<std::mutex> lock(a.mutex);
        const auto it = a.sizes.find(ptr);
        if (it != a.sizes.end()) {
            a.in_use -= it->second;
            a.sizes.erase(it);
        }
    }
    cudaFree(ptr);  // a failure here means the context is already broken; nothing to report to
}

void copy(void* dst, const void* src, std::size_t bytes, bool dst_device, bool src_device) {
    // Engines queue their work on non-blocking streams, which a plain cudaMemcpy does not wait
    // for: finish everything first, so that a copy always sees (and never races) queued work.
    // Copies happen only at setup, inspection and output time.
    NST_CUDA_CHECK(cudaDeviceSynchronize());
    const cudaMemcpyKind kind = dst_device ? (src_device ? cudaMemcpyDeviceToDevice : cudaMemcpyHostToDevice)
                                           : (src_device ? cudaMemcpyDeviceToHost : cudaMemcpyHostToHost);
    NST_CUDA_CHECK(cudaMemcpy(dst, src, bytes, kind));
    // A plain cudaMemcpy may return before the data has landed: device-to-device copies are
    // fully asynchronous, and a pageable host-to-device copy returns once staged, with the last
    // DMA possibly still in flight. Both run on the legacy stream, which the engines'
    // non-blocking streams do not wait for, so wait here before their kernels read `dst`.
    if (dst_device) NST_CUDA_CHECK(cudaDeviceSynchronize());
}

}  // namespace device_memory

namespace cuda {

std::size_t device_bytes_in_use() {
    Accounting& a = accounting();
    std::lock_guard<std::mutex> lock(a.mutex);
    return a.in_use;
}

std::size_t device_bytes_peak() {
    Accounting& a = accounting();
    std::lock_guard<std::mutex> lock(a.mutex);
    return a.peak;
}

void reset_device_peak() {
    Accounting& a = accounting();
    std::lock_guard<std::mutex> lock(a.mutex);
    a.peak = a.in_use;
}

}  // namespace cuda
}  // namespace nst
