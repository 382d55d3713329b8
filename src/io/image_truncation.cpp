// SPDX-License-Identifier: MIT
#include "io/image_truncation.h"

#include <cstdint>
#include <cstring>

namespace nst {

namespace {

std::uint32_t be32(const unsigned char* p) {
    return (std::uint32_t(p[0]) << 24) | (std::uint32_t(p[1]) << 16) | (std::uint32_t(p[2]) << 8) | p[3];
}
std::uint32_t le32(const unsigned char* p) {
    return (std::uint32_t(p[3]) << 24) | (std::uint32_t(p[2]) << 16) | (std::uint32_t(p[1]) << 8) | p[0];
}
unsigned le16(const unsigned char* p) { return unsigned(p[0]) | (unsigned(p[1]) << 8); }

// PNG: signature, then chunks (length, type, data, CRC) up to IEND. Each chunk must fit.
const char* png_truncation(const unsigned char* d, std::size_t n) {
    std::size_t pos = 8;
    while (pos < n) {
        if (n - pos < 8) return "truncated (chunk header cut off)";
        const std::uint32_t len = be32(d + pos);
        if (len > 0x7fffffffu) return nullptr;  // corrupt rather than truncated: stb reports it
        if (n - pos - 8 < std::size_t(len) + 4) return "truncated (chunk data cut off)";
        if (std::memcmp(d + pos + 4, "IEND", 4) == 0) return nullptr;
        pos += 12 + std::size_t(len);
    }
    return "truncated (no IEND chunk)";
}

// JPEG: markers with length fields, and after each SOS an entropy-coded segment that ends at
// the first marker other than a stuffed 0xFF00 or a restart marker. The image is complete at
// EOI. A stray byte where a marker should be is corruption, which stb reports itself.
const char* jpeg_truncation(const unsigned char* d, std::size_t n) {
    std::size_t pos = 2;
    for (;;) {
        if (pos >= n) return "truncated (no end-of-image marker)";
        if (d[pos] != 0xFF) return nullptr;
        while (pos < n && d[pos] == 0xFF) ++pos;  // fill bytes
        if (pos >= n) return "truncated (no end-of-image marker)";
        const unsigned marker = d[pos++];
        if (marker == 0xD9) return nullptr;                                                 // EOI
        if (marker == 0x01 || marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7)) continue;  // no length
        if (marker == 0x00) return nullptr;  // not a marker: corrupt
        if (n - pos < 2) return "truncated (segment header cut off)";
        const std::size_t len = (std::size_t(d[pos]) << 8) | d[pos + 1];
        if (len < 2) return nullptr;
        if (n - pos < len) return "truncated (segment cut off)";
        pos += len;
        if (marker != 0xDA) continue;
        // Entropy-coded data after SOS.
        for (;;) {
            if (pos >= n) return "truncated (image data cut off)";
            if (d[pos] != 0xFF) {
                ++pos;
                continue;
            }
            if (pos + 1 >= n) return "truncated (image data cut off)";
            const unsigned next = d[pos + 1];
            if (next == 0x00 || (next >= 0xD0 && next <= 0xD7)) {
                pos += 2;
            } else if (next == 0xFF) {
                ++pos;
            } else {
                break;  // a real marker: back to the outer loop
            }
        }
    }
}

// BMP: the file header records the file size; writers that leave it 0 are not checked.
const char* bmp_truncation(const unsigned char* d, std::size_t n) {
    if (n < 14) return "truncated (file header cut off)";
    const std::uint32_t size = le32(d + 2);
    if (size != 0 && size > n) return "truncated (shorter than its header says)";
    return nullptr;
}

// TGA: uncompressed types (1 colour-mapped, 2 true-colour, 3 grey) have a computable size.
// RLE types are left to stb.
const char* tga_truncation(const unsigned char* d, std::size_t n) {
    if (n < 18) return "truncated (header cut off)";
    const unsigned type = d[2];
    if (type != 1 && type != 2 && type != 3) return nullptr;
    const std::uint64_t id_len = d[0];
    const std::uint64_t cmap_len = d[1] ? le16(d + 5) : 0;
    const std::uint64_t cmap_bits = d[1] ? d[7] : 0;
    const std::uint64_t w = le16(d + 12), h = le16(d + 14), bits = d[16];
    const std::uint64_t need = 18 + id_len + (cmap_len * cmap_bits + 7) / 8 + (w * h * bits + 7) / 8;
    if (need > n) return "truncated (pixel data cut off)";
    return nullptr;
}

}  // namespace

const char* find_truncation(const unsigned char* d, std::size_t n) {
    static const unsigned char png_sig[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
    if (n >= 8 && std::memcmp(d, png_sig, 8) == 0) return png_truncation(d, n);
    if (n >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF) return jpeg_truncation(d, n);
    if (n >= 2 && d[0] == 'B' && d[1] == 'M') return bmp_truncation(d, n);
    // TGA has no signature; only judge it once stb has accepted the file as TGA-like, which the
    // caller ensures by calling this after stbi_info, and only for plausible TGA headers.
    if (n >= 18 && (d[1] == 0 || d[1] == 1) && (d[2] == 1 || d[2] == 2 || d[2] == 3)) return tga_truncation(d, n);
    return nullptr;
}

}  // namespace nst
