// SPDX-License-Identifier: MIT
// Detects truncated image files before decoding. stb pads a short stream with zeros for JPEG,
// BMP and TGA and decodes it "successfully" (a grey or black band at the bottom), so a cut-off
// download would silently become a wrong content image. Walking the container structure (PNG
// chunks, JPEG markers, the size fields of BMP and uncompressed TGA) finds the cut.
#pragma once
#include <cstddef>

namespace nst {

// nullptr when the file looks complete or is of a format not checked here (stb then decides);
// otherwise a static string saying what is missing.
const char* find_truncation(const unsigned char* data, std::size_t n);

}  // namespace nst
