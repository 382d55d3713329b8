// SPDX-License-Identifier: MIT
// save_npy: version 1.0, '<f4', C order, header padded to 64 bytes (as numpy.save writes it),
// written atomically.
#include <cstring>
#include <limits>

#include "core/error.h"
#include "io/atomic_file.h"
#include "io/npy.h"
#include "io/npy_header.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "npy writing assumes a little-endian host");

namespace nst {

void save_npy(const std::string& path, const float* data, const std::vector<std::int64_t>& shape) {
    std::size_t count = 1;
    for (std::int64_t d : shape) {
        NST_REQUIRE(d >= 0, "save_npy: negative dimension");
        NST_REQUIRE(d == 0 || count <= std::numeric_limits<std::size_t>::max() / sizeof(float) / std::size_t(d),
                    "save_npy: shape too large");
        count *= std::size_t(d);
    }
    NST_REQUIRE(count == 0 || data != nullptr, "save_npy: no data");
    std::vector<unsigned char> bytes = format_npy_header(shape);
    const std::size_t header = bytes.size();
    bytes.resize(header + count * sizeof(float));
    if (count) std::memcpy(bytes.data() + header, data, count * sizeof(float));
    write_file_atomic(path, bytes);
}

}  // namespace nst
