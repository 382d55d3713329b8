// SPDX-License-Identifier: MIT
// load_flo / save_flo: the header is validated against the file size before anything is
// allocated for the payload, so a corrupt header cannot ask for gigabytes.
#include "video/flo.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "io/atomic_file.h"
#include "io/image.h"
#include "io/input_file.h"

// The payload is copied byte for byte into floats.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "flo reading assumes a little-endian host");

namespace nst {

namespace {

constexpr std::size_t kHeaderBytes = 12;
constexpr std::size_t kMaxFloBytes = kHeaderBytes + std::size_t(kMaxImagePixels) * 8;

}  // namespace

Tensor<float> load_flo(const std::string& path) {
    const std::string prefix = input_error_prefix("flow", path);
    const std::vector<unsigned char> bytes = read_input_file(path, "flow", kMaxFloBytes);
    if (bytes.size() < kHeaderBytes)
        throw_input(prefix + ": file is " + std::to_string(bytes.size()) + " bytes, shorter than the 12-byte .flo header");
    float tag;
    std::int32_t w, h;
    std::memcpy(&tag, bytes.data(), 4);
    std::memcpy(&w, bytes.data() + 4, 4);
    std::memcpy(&h, bytes.data() + 8, 4);
    if (tag != kFloTag) throw_input(prefix + ": not a Middlebury .flo file (tag is not 202021.25 'PIEH')");
    if (w <= 0 || h <= 0)
        throw_input(prefix + ": invalid size " + std::to_string(w) + "x" + std::to_string(h));
    if ((long long)w * (long long)h > kMaxImagePixels)
        throw_input(prefix + ": size " + std::to_string(w) + "x" + std::to_string(h) + " exceeds the pixel limit");
    const std::size_t pixels = std::size_t(w) * std::size_t(h);
    const std::size_t need = kHeaderBytes + pixels * 8;
    if (bytes.size() < need)
        throw_input(prefix + ": truncated: " + std::to_string(w) + "x" + std::to_string(h) + " flow needs " +
                    std::to_string(need) + " bytes, file has " + std::to_string(bytes.size()));
    if (bytes.size() > need)
        throw_input(prefix + ": " + std::to_string(bytes.size() - need) + " unexpected bytes after the " +
                    std::to_string(w) + "x" + std::to_string(h) + " flow");

    Tensor<float> flow(Shape{1, 2, h, w});
    float* u = flow.data();
    float* v = u + pixels;
    const unsigned char* p = bytes.data() + kHeaderBytes;
    for (std::size_t i = 0; i < pixels; ++i, p += 8) {
        std::memcpy(&u[i], p, 4);
        std::memcpy(&v[i], p + 4, 4);
        // Middlebury ground truth marks unknown flow with ~1e9, which is finite and kept; NaN or
        // infinity would poison every mean downstream.
        if (!std::isfinite(u[i]) || !std::isfinite(v[i]))
            throw_input(prefix + ": non-finite flow at pixel (" + std::to_string(i % std::size_t(w)) + ", " +
                        std::to_string(i / std::size_t(w)) + ")");
    }
    return flow;
}

void save_flo(const std::string& path, ConstView<float> flow) {
    NST_REQUIRE(flow.device == Device::Host, "save_flo needs a host tensor");
    NST_REQUIRE(flow.shape.n == 1 && flow.shape.c == 2 && flow.shape.h > 0 && flow.shape.w > 0,
                "flow must be (1, 2, H, W), got " + flow.shape.str());
    const std::size_t pixels = flow.shape.plane();
    std::vector<unsigned char> bytes(kHeaderBytes + pixels * 8);
    const std::int32_t w = flow.shape.w, h = flow.shape.h;
    std::memcpy(bytes.data(), &kFloTag, 4);
    std::memcpy(bytes.data() + 4, &w, 4);
    std::memcpy(bytes.data() + 8, &h, 4);
    unsigned char* p = bytes.data() + kHeaderBytes;
    for (std::size_t i = 0; i < pixels; ++i, p += 8) {
        std::memcpy(p, &flow.data[i], 4);
        std::memcpy(p + 4, &flow.data[pixels + i], 4);
    }
    write_file_atomic(path, bytes);
}

}  // namespace nst
