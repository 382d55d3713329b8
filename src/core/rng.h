// SPDX-License-Identifier: MIT
// Counter-based random numbers: value i of stream s under seed k is a pure function of (k, s, i),
// so any element can be regenerated independently, in any order, on any backend, and by the
// Python tools (tools/nst_rng.py implements the same three functions bit for bit).
//
//   mix(z)            = splitmix64 finaliser
//   bits(k, s, i)     = mix(mix(k ^ (s * 0xD1B54A32D192ED03)) + i)
//   uniform(k, s, i)  = ((bits >> 11) + 0.5) * 2^-53            in (0, 1), double
//   normal(k, s, i)   = sqrt(-2 ln u1) * cos(2 pi u2), u1 = uniform(k, s, 2i), u2 = uniform(k, s, 2i + 1)
#pragma once
#include <cmath>
#include <cstdint>

namespace nst::rng {

inline std::uint64_t mix(std::uint64_t z) {
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

inline std::uint64_t bits(std::uint64_t seed, std::uint64_t stream, std::uint64_t i) {
    return mix(mix(seed ^ (stream * 0xD1B54A32D192ED03ull)) + i);
}

inline double uniform(std::uint64_t seed, std::uint64_t stream, std::uint64_t i) {
    return (double(bits(seed, stream, i) >> 11) + 0.5) * 0x1.0p-53;
}

inline double normal(std::uint64_t seed, std::uint64_t stream, std::uint64_t i) {
    const double u1 = uniform(seed, stream, 2 * i);
    const double u2 = uniform(seed, stream, 2 * i + 1);
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586476925 * u2);
}

// Streams used by the engine, fixed so that seeds mean the same thing in every release.
enum Stream : std::uint64_t {
    kStreamWeights = 1,   // + conv index 0..15: He-normal weights of random[:SEED]
    kStreamInit = 100,    // the initial image of `--init random`
    kStreamNetParams = 200,  // + parameter tensor index: init_params of a NetDesc (nn/net_model.h)
    kStreamDatasetOrder = 300,  // counter epoch * n + i: the shuffled order of a training dataset
    kStreamDatasetCrop = 301,   // counter 2 g, 2 g + 1: the random crop of training sample g
    kStreamStyleOrder = 302,    // as kStreamDatasetOrder, for the style images of `--style-dataset`
    kStreamStyleCrop = 303,     // as kStreamDatasetCrop, for the style images
};

}  // namespace nst::rng
