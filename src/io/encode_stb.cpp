// SPDX-License-Identifier: MIT
// 8-bit PNG and JPEG encoding with stb_image_write, into memory.
#include <stb_image_write.h>

#include <new>
#include <utility>

#include "core/error.h"
#include "io/image_encode.h"

namespace nst {

namespace {

// stb calls this from C; an exception must not cross it, so failures are recorded instead.
struct Sink {
    std::vector<unsigned char> bytes;
    bool failed = false;
};

extern "C" void append_to_sink(void* context, void* data, int size) {
    auto* sink = static_cast<Sink*>(context);
    if (sink->failed || size <= 0) return;
    try {
        const auto* p = static_cast<const unsigned char*>(data);
        sink->bytes.insert(sink->bytes.end(), p, p + size);
    } catch (const std::bad_alloc&) {
        sink->failed = true;
    }
}

std::vector<unsigned char> finish(Sink& sink, int ok, const char* format) {
    if (!ok || sink.failed || sink.bytes.empty())
        throw_runtime(std::string("failed to encode ") + format + " image (out of memory?)");
    return std::move(sink.bytes);
}

}  // namespace

std::vector<unsigned char> encode_png8(ConstView<float> rgb) {
    const std::vector<std::uint8_t> px = quantize_rgb8(rgb);
    Sink sink;
    const int w = rgb.shape.w, h = rgb.shape.h;
    const int ok = stbi_write_png_to_func(append_to_sink, &sink, w, h, 3, px.data(), w * 3);
    return finish(sink, ok, "PNG");
}

std::vector<unsigned char> encode_jpeg(ConstView<float> rgb, int quality) {
    NST_REQUIRE(quality >= 1 && quality <= 100, "JPEG quality must be in 1..100");
    const std::vector<std::uint8_t> px = quantize_rgb8(rgb);
    Sink sink;
    const int ok = stbi_write_jpg_to_func(append_to_sink, &sink, rgb.shape.w, rgb.shape.h, 3, px.data(), quality);
    return finish(sink, ok, "JPEG");
}

}  // namespace nst
