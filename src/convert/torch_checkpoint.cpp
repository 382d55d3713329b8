// SPDX-License-Identifier: MIT
#include "convert/torch_checkpoint.h"

#include <cstdio>
#include <cstring>

#include "core/error.h"

namespace nst::convert {

Checkpoint read_torch_checkpoint(const std::string& path) {
    unsigned char head[4] = {0, 0, 0, 0};
    if (std::FILE* f = std::fopen(path.c_str(), "rb")) {
        const std::size_t got = std::fread(head, 1, 4, f);
        std::fclose(f);
        (void)got;
    }
    if (std::memcmp(head, "PK", 2) == 0) return read_torch_zip(path);
    return read_torch_legacy(path);
}

}  // namespace nst::convert
