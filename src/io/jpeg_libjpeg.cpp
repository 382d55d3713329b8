// SPDX-License-Identifier: MIT
// --jpeg-decoder libjpeg: JPEG files decoded by libjpeg(-turbo) with its default settings (islow
// IDCT, fancy upsampling, YCbCr -> RGB in the library), which is how PIL, and so torchvision and
// the peers, decode them. stb_image's own decoder differs in the IDCT and chroma upsampling by a
// level in about 1 % of samples, enough to move a peer comparison's first loss by 1e-3. Optional
// at build time (NST_HAVE_LIBJPEG); without it the option is a usage error.
#include <csetjmp>
#include <cstdio>
#include <string>
#include <vector>

#include "core/error.h"
#include "io/image.h"

#if NST_HAVE_LIBJPEG
#include <jpeglib.h>
#endif

namespace nst {

bool have_libjpeg() { return NST_HAVE_LIBJPEG != 0; }

#if NST_HAVE_LIBJPEG
namespace {

struct ErrorManager {
    jpeg_error_mgr pub;
    std::jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
};

void on_error(j_common_ptr cinfo) {
    ErrorManager* e = reinterpret_cast<ErrorManager*>(cinfo->err);
    (*cinfo->err->format_message)(cinfo, e->message);
    std::longjmp(e->jump, 1);
}

}  // namespace

Tensor<float> decode_jpeg_libjpeg(const std::vector<unsigned char>& bytes, const std::string& prefix) {
    jpeg_decompress_struct cinfo{};
    ErrorManager err{};
    cinfo.err = jpeg_std_error(&err.pub);
    err.pub.error_exit = on_error;
    err.pub.output_message = [](j_common_ptr) {};  // warnings (e.g. extraneous bytes) stay quiet
    std::vector<unsigned char> rgb;  // declared before setjmp: no destructor is skipped by longjmp
    int w = 0, h = 0;
    if (setjmp(err.jump)) {
        jpeg_destroy_decompress(&cinfo);
        throw_input(prefix + ": corrupt or unsupported JPEG (libjpeg: " + err.message + ")");
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, bytes.data(), static_cast<unsigned long>(bytes.size()));
    jpeg_read_header(&cinfo, TRUE);
    if (cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK) {
        jpeg_destroy_decompress(&cinfo);
        throw_input(prefix + ": CMYK JPEG: use --jpeg-decoder stb");
    }
    cinfo.out_color_space = JCS_RGB;  // grey is replicated, as PIL's convert('RGB')
    jpeg_start_decompress(&cinfo);
    w = int(cinfo.output_width);
    h = int(cinfo.output_height);
    rgb.resize(std::size_t(w) * std::size_t(h) * 3);
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = rgb.data() + std::size_t(cinfo.output_scanline) * std::size_t(w) * 3;
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    Tensor<float> out(Shape{1, 3, h, w});
    const std::size_t plane = std::size_t(w) * std::size_t(h);
    for (std::size_t i = 0; i < plane; ++i)
        for (int c = 0; c < 3; ++c) out[std::size_t(c) * plane + i] = float(rgb[3 * i + std::size_t(c)]) / 255.f;
    return out;
}
#else
Tensor<float> decode_jpeg_libjpeg(const std::vector<unsigned char>&, const std::string& prefix) {
    throw_usage(prefix + ": --jpeg-decoder libjpeg: this nst was built without libjpeg (Debian: libjpeg-dev)");
}
#endif

}  // namespace nst
