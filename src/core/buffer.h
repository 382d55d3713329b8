// SPDX-License-Identifier: MIT
// Buffer: bytes owned on exactly one device. Move-only; copies are explicit (clone()).
// Host memory is 64-byte aligned for AVX-512 loads. Device memory is allocated through the
// hooks in core/device_memory.h, which the CUDA library provides; the CPU build throws there.
#pragma once
#include <cstddef>
#include <string>

namespace nst {

enum class Device { Host, Cuda };

inline const char* device_name(Device d) { return d == Device::Host ? "host" : "cuda"; }

class Buffer {
public:
    Buffer() = default;
    Buffer(std::size_t bytes, Device device);
    ~Buffer();
    Buffer(Buffer&& other) noexcept;
    Buffer& operator=(Buffer&& other) noexcept;
    Buffer(const Buffer&) = delete;
    Buffer& operator=(const Buffer&) = delete;

    Buffer clone() const;

    void* data() { return m_data; }
    const void* data() const { return m_data; }
    std::size_t bytes() const { return m_bytes; }
    Device device() const { return m_device; }
    bool empty() const { return m_bytes == 0; }

private:
    void release() noexcept;
    void* m_data = nullptr;
    std::size_t m_bytes = 0;
    Device m_device = Device::Host;
};

// Bytes of host Buffers alive now, and the most alive at once since the last reset (the sizes
// asked for, before rounding up to the alignment). Vgg19Net::buffer_bytes() and the memory
// planner's predictions are tested against them.
std::size_t host_bytes_in_use();
std::size_t host_bytes_peak();
void reset_host_bytes_peak();  // peak := in use

}  // namespace nst
