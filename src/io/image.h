// SPDX-License-Identifier: MIT
// Image files: PNG/JPEG/BMP/TGA in (stb), PNG 8/16-bit and JPEG out, antialiased resizing.
// In memory an image is RGB float in [0, 1], (1, 3, H, W).
#pragma once
#include <string>
#include <vector>

#include "core/tensor.h"

namespace nst {

// Size limits: a decoded image above this many pixels is refused (exit 3), so that a hostile or
// mistaken input cannot exhaust memory.
constexpr long long kMaxImagePixels = 1LL << 28;

// How JPEG files are decoded (--jpeg-decoder): stb_image, or libjpeg(-turbo) as PIL does
// (io/jpeg_libjpeg.cpp; a usage error when nst was built without it). Other formats: stb.
enum class JpegDecoder { Stb, Libjpeg };
JpegDecoder parse_jpeg_decoder(const std::string& name);  // "stb" or "libjpeg"
bool have_libjpeg();

// Loads an 8- or 16-bit image (grey and alpha are converted to RGB; alpha is dropped).
// Throws nst::Error(Input) naming the file for missing, unreadable, corrupt or unsupported files.
Tensor<float> load_image(const std::string& path, JpegDecoder jpeg = JpegDecoder::Stb);
// libjpeg's decoding of a whole JPEG file (input errors named by prefix).
Tensor<float> decode_jpeg_libjpeg(const std::vector<unsigned char>& bytes, const std::string& prefix);

enum class SizeRule { Max, Short, Area };
SizeRule parse_size_rule(const std::string& name);  // throws usage error

// Output size (h, w) for an image of in_h x in_w under `rule` with target N: longest side = N,
// shorter side = N, or sqrt(h*w) = N; aspect ratio kept, each side rounded to nearest, at least 1.
void target_size(int in_h, int in_w, int n, SizeRule rule, int& out_h, int& out_w);

// As target_size, with the peers' truncation instead of rounding (--resize pil-bilinear):
// Max: int((N / max(h, w)) * side) (neural-style-pt); Short: N and int(N * long / short)
// (torchvision's Resize(N)); Area: each side truncated. At least 1 a side.
void target_size_truncated(int in_h, int in_w, int n, SizeRule rule, int& out_h, int& out_w);

// Antialiased resize (filtering adapts to the scale factor, so downscaling does not alias).
Tensor<float> resize_image(ConstView<float> rgb, int out_h, int out_w);  // rgb: (1, 3, H, W)

// PIL's Image.resize(BILINEAR) of the image's 8-bit levels (io/resize_pil.cpp): antialiased
// triangle filter, 8-bit rounding after each pass; the result holds levels / 255.
Tensor<float> resize_pil_bilinear(ConstView<float> rgb, int out_h, int out_w);  // rgb: (1, 3, H, W)

// --output-rounding truncate: each sample becomes floor(float(255 v)) / 255 after clamping to
// [0, 1], so that the round-half-up 8-bit encoder writes ToPILImage's truncated levels.
void truncate_to_8bit_levels(TensorView<float> rgb);

// Clamps to [0, 1] and writes by extension: .png (depth 8 or 16) or .jpg/.jpeg (depth 8,
// quality 95). Written atomically: an existing file is replaced only by a complete new one.
void save_image(const std::string& path, ConstView<float> rgb, int depth = 8);

}  // namespace nst
