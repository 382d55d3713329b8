// SPDX-License-Identifier: MIT
// save_image: choose the encoder by extension, encode in memory, write atomically.
#include <algorithm>
#include <cctype>

#include "core/error.h"
#include "io/atomic_file.h"
#include "io/image.h"
#include "io/image_encode.h"
#include "io/path.h"

namespace nst {

namespace {

constexpr int kJpegQuality = 95;


}  // namespace

void save_image(const std::string& path, ConstView<float> rgb, int depth) {
    NST_REQUIRE(rgb.device == Device::Host, "save_image needs a host tensor");
    NST_REQUIRE(rgb.shape.n == 1 && rgb.shape.c == 3 && rgb.shape.h > 0 && rgb.shape.w > 0,
                "save_image needs (1, 3, H, W), got " + rgb.shape.str());
    const std::string ext = lower_extension(path);
    const std::string prefix = "cannot write image '" + path + "': ";
    if (depth != 8 && depth != 16)
        throw_usage(prefix + "unsupported bit depth " + std::to_string(depth) + " (supported: 8, 16)");

    std::vector<unsigned char> bytes;
    if (ext == ".png") {
        bytes = depth == 16 ? encode_png16(rgb) : encode_png8(rgb);
    } else if (ext == ".jpg" || ext == ".jpeg") {
        if (depth != 8) throw_usage(prefix + "JPEG is 8-bit only; use a .png output for depth 16");
        bytes = encode_jpeg(rgb, kJpegQuality);
    } else if (ext.empty()) {
        throw_usage(prefix + "no file extension to choose the format by (supported: .png, .jpg, .jpeg)");
    } else {
        throw_usage(prefix + "unsupported extension '" + ext + "' (supported: .png, .jpg, .jpeg)");
    }
    write_file_atomic(path, bytes);
}

}  // namespace nst
