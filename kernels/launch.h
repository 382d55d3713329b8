// SPDX-License-Identifier: MIT
// Host-side launch conventions shared by every kernel launcher (plain C++: included by .cpp
// files compiled with g++ as well as by .cu files).
//
// Every launcher takes a cudaStream_t last, never synchronises and never allocates, so that
// a whole iteration can be captured into one CUDA graph. Launch errors are checked by the
// launcher (NST_CUDA_CHECK(cudaGetLastError())).
#pragma once
#include <cstddef>

#include <cuda_runtime.h>

namespace nst::kernels {

constexpr int kThreads = 256;          // threads per block of the elementwise and reduce kernels
constexpr int kMaxPartials = 1024;     // partial sums one reduction may write (its grid size)

// Grid size of a deterministic reduction over n elements: depends on n only.
inline int reduce_blocks(std::size_t n) {
    const std::size_t per_block = std::size_t(kThreads) * 8;
    std::size_t b = (n + per_block - 1) / per_block;
    if (b < 1) b = 1;
    if (b > std::size_t(kMaxPartials)) b = kMaxPartials;
    return int(b);
}

// Grid size of an elementwise kernel with grid-stride loops.
inline int elementwise_blocks(std::size_t n) {
    std::size_t b = (n + kThreads - 1) / kThreads;
    if (b < 1) b = 1;
    if (b > 65535) b = 65535;
    return int(b);
}

}  // namespace nst::kernels
