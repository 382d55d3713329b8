// SPDX-License-Identifier: MIT
#include "nn/model_checksum.h"

#include <cinttypes>
#include <cstdint>
#include <cstdio>

namespace nst {

std::string params_checksum(const std::vector<float>& params) {
    std::uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a 64 offset basis
    // float memory is the little-endian float32 encoding on the hosts nst builds for (the
    // static_assert in safetensors.cpp), so these are the file's bytes.
    const auto* p = reinterpret_cast<const unsigned char*>(params.data());
    const std::size_t n = params.size() * sizeof(float);
    for (std::size_t i = 0; i < n; ++i) {
        h ^= p[i];
        h *= 0x100000001b3ull;  // FNV-1a 64 prime
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, "fnv1a64:%016" PRIx64, h);
    return buf;
}

}  // namespace nst
