// SPDX-License-Identifier: MIT
// load_image: any format stb reads, as RGB float in [0, 1], (1, 3, H, W).
// The file is read whole first (input_file.h), so that missing, directory, empty and
// unreadable files get precise messages, and so that the size limit and truncation checks run
// on the header before stb allocates the pixels.
#include <stb_image.h>

#include <climits>
#include <cstring>
#include <memory>

#include "core/error.h"
#include "io/image.h"
#include "io/memory_images.h"
#include "io/image_truncation.h"
#include "io/input_file.h"

namespace nst {

namespace {

struct StbFree {
    void operator()(void* p) const { stbi_image_free(p); }
};

// The container format by signature, for messages ("" when not recognised). TGA has none.
std::string sniff_format(const unsigned char* d, std::size_t n) {
    auto starts = [&](const char* sig, std::size_t len) { return n >= len && std::memcmp(d, sig, len) == 0; };
    if (starts("\x89PNG\r\n\x1a\n", 8)) return "PNG";
    if (starts("\xFF\xD8\xFF", 3)) return "JPEG";
    if (starts("BM", 2)) return "BMP";
    if (starts("GIF8", 4)) return "GIF";
    if (starts("8BPS", 4)) return "PSD";
    if (starts("#?RADIANCE", 10) || starts("#?RGBE", 6)) return "HDR";
    if (n >= 2 && d[0] == 'P' && (d[1] == '5' || d[1] == '6')) return "PNM";
    return "";
}

// PNG states its size in IHDR at a fixed offset. stb refuses large PNGs while reading the
// header but reports only "unknown image type" through stbi_info, so the limit is checked here
// first to give the real reason.
bool png_header_size(const unsigned char* d, std::size_t n, long long& w, long long& h) {
    if (n < 24 || std::memcmp(d + 12, "IHDR", 4) != 0) return false;
    auto be32 = [&](std::size_t i) {
        return (long long)d[i] << 24 | (long long)d[i + 1] << 16 | (long long)d[i + 2] << 8 | (long long)d[i + 3];
    };
    w = be32(16);
    h = be32(20);
    return true;
}

std::string stb_reason() {
    const char* r = stbi_failure_reason();
    return r ? r : "unknown error";
}

// Interleaved RGB samples (H*W*3) to planar floats, dividing by the format's maximum so that
// 8-bit k maps exactly to float(k)/255 and 16-bit k to float(k)/65535.
template <typename Sample>
void deinterleave(const Sample* src, int h, int w, float max_value, TensorView<float> dst /* (1, 3, H, W) */) {
    const std::size_t plane = std::size_t(h) * std::size_t(w);
    float* r = dst.data;
    float* g = r + plane;
    float* b = g + plane;
    for (std::size_t i = 0; i < plane; ++i) {
        r[i] = float(src[3 * i + 0]) / max_value;
        g[i] = float(src[3 * i + 1]) / max_value;
        b[i] = float(src[3 * i + 2]) / max_value;
    }
}

}  // namespace

JpegDecoder parse_jpeg_decoder(const std::string& name) {
    if (name == "stb") return JpegDecoder::Stb;
    if (name == "libjpeg") return JpegDecoder::Libjpeg;
    throw_usage("--jpeg-decoder: expected stb or libjpeg, got '" + name + "'");
}

Tensor<float> load_image(const std::string& path, JpegDecoder jpeg) {
    if (const MemoryImage* m = find_memory_image(path)) return read_memory_image(*m, true);
    const std::string prefix = input_error_prefix("image", path);
    // stb's memory API takes an int length; no image within kMaxImagePixels needs more.
    const std::vector<unsigned char> bytes = read_input_file(path, "image", std::size_t(INT_MAX));
    const unsigned char* data = bytes.data();
    const int len = int(bytes.size());

    // Checked before decoding, so that a header claiming a huge image cannot exhaust memory.
    auto check_pixels = [&](long long w, long long h) {
        if (w * h > kMaxImagePixels)
            throw_input(prefix + ": image too large (" + std::to_string(w) + "x" + std::to_string(h) + " = " +
                        std::to_string(w * h) + " pixels, limit " + std::to_string(kMaxImagePixels) + ")");
    };
    const std::string format = sniff_format(data, bytes.size());
    long long png_w = 0, png_h = 0;
    if (format == "PNG" && png_header_size(data, bytes.size(), png_w, png_h)) check_pixels(png_w, png_h);

    int w = 0, h = 0, comp = 0;
    if (!stbi_info_from_memory(data, len, &w, &h, &comp)) {
        // stbi_info tries every format and reports only the last failure, so its reason says
        // nothing useful; name the format when the signature tells it.
        if (!format.empty()) throw_input(prefix + ": corrupt or unsupported " + format + " file (stb cannot read its header)");
        throw_input(prefix + ": corrupt or unsupported (not an image format stb reads: PNG, JPEG, BMP, TGA, GIF, PSD, HDR, PIC, PNM)");
    }
    if (w <= 0 || h <= 0) throw_input(prefix + ": corrupt (zero width or height)");
    check_pixels(w, h);
    if (const char* why = find_truncation(data, bytes.size())) throw_input(prefix + ": " + why);
    if (jpeg == JpegDecoder::Libjpeg && format == "JPEG") return decode_jpeg_libjpeg(bytes, prefix);

    // Three channels requested: stb replicates grey into RGB and drops alpha.
    int dw = 0, dh = 0, dc = 0;
    Tensor<float> out;
    if (stbi_is_16_bit_from_memory(data, len)) {
        std::unique_ptr<stbi_us, StbFree> px(stbi_load_16_from_memory(data, len, &dw, &dh, &dc, 3));
        if (!px) throw_input(prefix + ": corrupt or unsupported (stb: " + stb_reason() + ")");
        if (dw != w || dh != h) throw_input(prefix + ": corrupt (inconsistent dimensions)");
        out = Tensor<float>(Shape{1, 3, h, w});
        deinterleave(px.get(), h, w, 65535.f, out.view());
    } else {
        std::unique_ptr<stbi_uc, StbFree> px(stbi_load_from_memory(data, len, &dw, &dh, &dc, 3));
        if (!px) throw_input(prefix + ": corrupt or unsupported (stb: " + stb_reason() + ")");
        if (dw != w || dh != h) throw_input(prefix + ": corrupt (inconsistent dimensions)");
        out = Tensor<float>(Shape{1, 3, h, w});
        deinterleave(px.get(), h, w, 255.f, out.view());
    }
    return out;
}

}  // namespace nst
