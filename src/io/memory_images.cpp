// SPDX-License-Identifier: MIT
#include "io/memory_images.h"

#include <atomic>
#include <cmath>
#include <cstring>
#include <vector>

#include "core/device_memory.h"
#include "core/error.h"
#include "io/image.h"

namespace nst {

namespace {

struct Entry {
    std::string path;
    MemoryImage image;
};

// Per thread: the Python module releases the GIL during a run, so two threads may each run a
// command with their own arrays at once.
thread_local std::vector<Entry> t_entries;
std::atomic<std::uintptr_t> g_last_read{0};

// `max_value` divides as the file loader does (image_load.cpp), so that a uint8 array gives the
// very floats its PNG would.
template <typename T>
void read_planes(const T* src, const MemoryImage& m, float max_value, float* dst) {
    for (int c = 0; c < 3; ++c)
        for (int y = 0; y < m.h; ++y) {
            const T* row = src + c * m.stride_c + y * m.stride_h;
            float* out = dst + (std::size_t(c) * m.h + y) * m.w;
            for (int x = 0; x < m.w; ++x) out[x] = float(row[x * m.stride_w]) / max_value;
        }
}

// A device array comes to the host once, as the smallest span that holds every element.
std::vector<unsigned char> host_copy(const MemoryImage& m, std::ptrdiff_t& offset) {
    const std::size_t elem = m.type == MemoryImage::Type::U8 ? 1 : 4;
    std::ptrdiff_t lo = 0, hi = 0;
    for (std::ptrdiff_t s : {m.stride_c * 2, m.stride_h * (m.h - 1), m.stride_w * (m.w - 1)})
        (s < 0 ? lo : hi) += s;
    std::vector<unsigned char> bytes(std::size_t(hi - lo + 1) * elem);
    device_memory::copy(bytes.data(), static_cast<const unsigned char*>(m.data) + lo * std::ptrdiff_t(elem),
                        bytes.size(), false, true);
    offset = -lo;
    return bytes;
}

}  // namespace

ScopedMemoryImage::ScopedMemoryImage(std::string path, MemoryImage image) : m_path(path) {
    t_entries.push_back({std::move(path), std::move(image)});
}

ScopedMemoryImage::~ScopedMemoryImage() {
    for (auto it = t_entries.rbegin(); it != t_entries.rend(); ++it)
        if (it->path == m_path) {
            t_entries.erase(std::next(it).base());
            return;
        }
}

const MemoryImage* find_memory_image(const std::string& path) {
    for (auto it = t_entries.rbegin(); it != t_entries.rend(); ++it)
        if (it->path == path) return &it->image;
    return nullptr;
}

Tensor<float> read_memory_image(const MemoryImage& m, bool unit_range) {
    const std::string prefix = "array '" + m.label + "'";
    if (m.h < 1 || m.w < 1) throw_input(prefix + ": empty image (" + std::to_string(m.h) + "x" + std::to_string(m.w) + ")");
    if ((long long)m.h * m.w > kMaxImagePixels)
        throw_input(prefix + ": image too large (" + std::to_string(m.w) + "x" + std::to_string(m.h) + " pixels, limit " +
                    std::to_string(kMaxImagePixels) + ")");
    std::vector<unsigned char> staged;
    const void* src = m.data;
    if (m.on_device) {
        std::ptrdiff_t offset = 0;
        staged = host_copy(m, offset);
        src = staged.data() + offset * (m.type == MemoryImage::Type::U8 ? 1 : 4);
    }
    g_last_read.store(reinterpret_cast<std::uintptr_t>(m.data));
    Tensor<float> out(Shape{1, 3, m.h, m.w});
    if (m.type == MemoryImage::Type::U8) {
        read_planes(static_cast<const std::uint8_t*>(src), m, 255.f, out.data());
        return out;
    }
    read_planes(static_cast<const float*>(src), m, 1.f, out.data());
    for (std::size_t i = 0; i < out.numel(); ++i) {
        const float v = out[i];
        if (!std::isfinite(v)) throw_input(prefix + ": element " + std::to_string(i) + " is not finite");
        if (unit_range && !(v >= 0.f && v <= 1.f))
            throw_input(prefix + ": value " + std::to_string(v) + " outside [0, 1] (float images are RGB in [0, 1]; "
                        "uint8 images 0..255)");
    }
    return out;
}

std::uintptr_t last_memory_image_read() { return g_last_read.load(); }

}  // namespace nst
