// SPDX-License-Identifier: MIT
// 16-bit PNG encoding with libpng (stb_image_write has no 16-bit output), into memory.
//
// libpng reports errors by longjmp. A longjmp that skips C++ destructors is undefined, so the
// function holding the setjmp (write_png16) has only trivially destructible locals, and every
// C++ object it uses (rows, output vector) is owned by its caller. The write callback turns an
// allocation failure into png_error outside of any try block for the same reason.
#include <png.h>

#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <new>

#include "core/error.h"
#include "io/image_encode.h"

namespace nst {

namespace {

struct PngErrorText {
    char text[256] = {};
};

extern "C" void png16_error(png_structp png, png_const_charp msg) {
    auto* err = static_cast<PngErrorText*>(png_get_error_ptr(png));
    if (err) std::snprintf(err->text, sizeof(err->text), "%s", msg ? msg : "unknown libpng error");
    png_longjmp(png, 1);
}

extern "C" void png16_warning(png_structp, png_const_charp) {}  // nothing we write warrants one

extern "C" void png16_write(png_structp png, png_bytep data, png_size_t n) {
    auto* out = static_cast<std::vector<unsigned char>*>(png_get_io_ptr(png));
    bool ok = true;
    try {
        out->insert(out->end(), data, data + n);
    } catch (const std::bad_alloc&) {
        ok = false;
    }
    if (!ok) png_error(png, "out of memory");
}

extern "C" void png16_flush(png_structp) {}

// Rows: big-endian 16-bit RGB samples, as PNG stores them. Returns false with err filled on failure.
bool write_png16(std::vector<unsigned char>* out, png_bytepp rows, png_uint_32 w, png_uint_32 h, PngErrorText* err) {
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, err, png16_error, png16_warning);
    if (!png) {
        std::snprintf(err->text, sizeof(err->text), "cannot create libpng writer");
        return false;
    }
    png_infop info = png_create_info_struct(png);
    if (!info) {
        png_destroy_write_struct(&png, nullptr);
        std::snprintf(err->text, sizeof(err->text), "cannot create libpng info");
        return false;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        return false;
    }
    png_set_write_fn(png, out, png16_write, png16_flush);
    png_set_IHDR(png, info, w, h, 16, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    png_write_image(png, rows);
    png_write_end(png, nullptr);
    png_destroy_write_struct(&png, &info);
    return true;
}

}  // namespace

std::vector<unsigned char> encode_png16(ConstView<float> rgb) {
    const std::vector<std::uint16_t> px = quantize_rgb16(rgb);
    const std::size_t w = std::size_t(rgb.shape.w), h = std::size_t(rgb.shape.h);
    // Big-endian bytes, written out explicitly so the result does not depend on host order.
    std::vector<unsigned char> be(px.size() * 2);
    for (std::size_t i = 0; i < px.size(); ++i) {
        be[2 * i] = static_cast<unsigned char>(px[i] >> 8);
        be[2 * i + 1] = static_cast<unsigned char>(px[i] & 0xFF);
    }
    std::vector<png_bytep> rows(h);
    for (std::size_t y = 0; y < h; ++y) rows[y] = be.data() + y * w * 6;

    std::vector<unsigned char> out;
    PngErrorText err;
    if (!write_png16(&out, rows.data(), png_uint_32(w), png_uint_32(h), &err))
        throw_runtime(std::string("failed to encode 16-bit PNG: ") + err.text);
    return out;
}

}  // namespace nst
