// SPDX-License-Identifier: MIT
// load_npy / load_npy_image: '<f4' or '<f8', C order, any rank; data are validated against the
// header before anything is allocated for them.
#include <cmath>
#include <cstring>
#include <limits>

#include "core/error.h"
#include "io/image.h"
#include "io/input_file.h"
#include "io/memory_images.h"
#include "io/npy.h"
#include "io/npy_header.h"

// The payload is copied byte for byte into floats and doubles.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "npy reading assumes a little-endian host");

namespace nst {

namespace {

// Big enough for any (1, 3, H, W) image within kMaxImagePixels in float64, with room to spare.
constexpr std::size_t kMaxNpyBytes = std::size_t(8) << 30;

std::string shape_str(const std::vector<std::int64_t>& shape) {
    std::string s = "(";
    for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + (shape.size() == 1 ? ",)" : ")");
}

}  // namespace

NpyArray load_npy(const std::string& path) {
    const std::string prefix = input_error_prefix("array", path);
    const std::vector<unsigned char> bytes = read_input_file(path, "array", kMaxNpyBytes);

    NpyHeader h;
    const std::string err = parse_npy_header(bytes.data(), bytes.size(), h);
    if (!err.empty()) throw_input(prefix + ": " + err);

    std::size_t item = 0;
    if (h.descr == "<f4")
        item = 4;
    else if (h.descr == "<f8")
        item = 8;
    else if (h.descr == ">f4" || h.descr == ">f8")
        throw_input(prefix + ": big-endian data ('" + h.descr + "') are not supported; save as '<f4'");
    else
        throw_input(prefix + ": unsupported dtype '" + h.descr + "' (expected float32 '<f4' or float64 '<f8')");
    if (h.fortran_order)
        throw_input(prefix + ": Fortran-ordered arrays are not supported; save a C-contiguous array");

    // Element count, with overflow checks: a header may claim anything.
    std::size_t count = 1;
    for (std::int64_t d : h.shape) {
        if (d != 0 && count > std::numeric_limits<std::size_t>::max() / item / std::size_t(d))
            throw_input(prefix + ": shape " + shape_str(h.shape) + " is too large");
        count *= std::size_t(d);
    }
    const std::size_t need = count * item;
    const std::size_t have = bytes.size() - h.data_offset;
    if (have < need)
        throw_input(prefix + ": truncated (shape " + shape_str(h.shape) + " needs " + std::to_string(need) +
                    " data bytes, file has " + std::to_string(have) + ")");
    // Bytes after the array are ignored, as numpy.load does.

    NpyArray out;
    out.shape = h.shape;
    out.data.resize(count);
    const unsigned char* src = bytes.data() + h.data_offset;
    if (item == 4) {
        if (count) std::memcpy(out.data.data(), src, need);
    } else {
        for (std::size_t i = 0; i < count; ++i) {
            double v;
            std::memcpy(&v, src + 8 * i, 8);
            out.data[i] = float(v);
        }
    }
    return out;
}

Tensor<float> load_npy_image(const std::string& path) {
    if (const MemoryImage* m = find_memory_image(path)) return read_memory_image(*m, false);
    NpyArray a = load_npy(path);
    const std::string prefix = input_error_prefix("array", path);
    const auto& s = a.shape;
    if (s.size() != 4 || s[0] != 1 || s[1] != 3 || s[2] < 1 || s[3] < 1)
        throw_input(prefix + ": expected an image tensor of shape (1, 3, H, W), got " + shape_str(s));
    if (s[2] * s[3] > kMaxImagePixels)  // each side is below 2^62 here: the count check passed
        throw_input(prefix + ": image too large (" + std::to_string(s[3]) + "x" + std::to_string(s[2]) +
                    " pixels, limit " + std::to_string(kMaxImagePixels) + ")");
    for (std::size_t i = 0; i < a.data.size(); ++i) {
        if (!std::isfinite(a.data[i]))
            throw_input(prefix + ": element " + std::to_string(i) + " is " +
                        (std::isnan(a.data[i]) ? "NaN" : "infinite or beyond the float32 range"));
    }
    Tensor<float> t(Shape{1, 3, int(s[2]), int(s[3])});
    std::memcpy(t.data(), a.data.data(), a.data.size() * sizeof(float));
    return t;
}

}  // namespace nst
