// SPDX-License-Identifier: MIT
#include "core/buffer.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>

#include "core/device_memory.h"
#include "core/error.h"

namespace nst {

namespace {

constexpr std::size_t kHostAlignment = 64;

std::atomic<std::size_t> g_host_in_use{0};
std::atomic<std::size_t> g_host_peak{0};

void count_host_alloc(std::size_t bytes) {
    const std::size_t now = g_host_in_use.fetch_add(bytes, std::memory_order_relaxed) + bytes;
    std::size_t peak = g_host_peak.load(std::memory_order_relaxed);
    while (now > peak && !g_host_peak.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
    }
}

}  // namespace

std::size_t host_bytes_in_use() { return g_host_in_use.load(std::memory_order_relaxed); }
std::size_t host_bytes_peak() { return g_host_peak.load(std::memory_order_relaxed); }
void reset_host_bytes_peak() { g_host_peak.store(host_bytes_in_use(), std::memory_order_relaxed); }

Buffer::Buffer(std::size_t bytes, Device device) : m_bytes(bytes), m_device(device) {
    if (bytes == 0) return;
    if (device == Device::Host) {
        std::size_t rounded = (bytes + kHostAlignment - 1) / kHostAlignment * kHostAlignment;
        m_data = std::aligned_alloc(kHostAlignment, rounded);
        if (!m_data)
            throw_runtime("out of host memory allocating " + std::to_string(bytes >> 20) + " MiB");
        count_host_alloc(bytes);
    } else {
        m_data = device_memory::allocate(bytes);
    }
}

Buffer::~Buffer() { release(); }

void Buffer::release() noexcept {
    if (!m_data) return;
    if (m_device == Device::Host) {
        std::free(m_data);
        g_host_in_use.fetch_sub(m_bytes, std::memory_order_relaxed);
    } else {
        device_memory::free(m_data);
    }
    m_data = nullptr;
    m_bytes = 0;
}

Buffer::Buffer(Buffer&& other) noexcept
    : m_data(std::exchange(other.m_data, nullptr)), m_bytes(std::exchange(other.m_bytes, 0)), m_device(other.m_device) {}

Buffer& Buffer::operator=(Buffer&& other) noexcept {
    if (this != &other) {
        release();
        m_data = std::exchange(other.m_data, nullptr);
        m_bytes = std::exchange(other.m_bytes, 0);
        m_device = other.m_device;
    }
    return *this;
}

Buffer Buffer::clone() const {
    Buffer out(m_bytes, m_device);
    if (m_bytes == 0) return out;
    if (m_device == Device::Host)
        std::memcpy(out.m_data, m_data, m_bytes);
    else
        device_memory::copy(out.m_data, m_data, m_bytes, true, true);
    return out;
}

}  // namespace nst
