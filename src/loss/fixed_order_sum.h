// SPDX-License-Identifier: MIT
// Deterministic parallel sums. OpenMP's reduction clause combines the threads' partial sums in
// whatever order they finish, so the last bits of a loss (and then every L-BFGS iterate) would
// depend on scheduling. Here [0, n) is cut into chunks that depend on n only, each chunk is
// summed sequentially in double, and the partial sums are added in chunk order: the result is
// the same for any thread count. The term functor may also write its element of an output
// (the loss gradient), which fuses the value and gradient passes.
#pragma once
#include <array>
#include <cstddef>

namespace nst::detail {

constexpr std::size_t kMinSumChunk = 4096;  // below this, threads cost more than they save
constexpr std::size_t kMaxSumChunks = 256;  // partial sums live on the stack

// Returns {sum_i acc_0(i), ..., sum_i acc_{K-1}(i)}: term(i, acc) adds element i's
// contributions into acc[0..K-1] (double). min_chunk: the fewest terms worth a thread (lower it
// when one term is a whole row of work).
template <int K, typename Term>
std::array<double, K> fixed_order_sums(std::size_t n, Term&& term, std::size_t min_chunk = kMinSumChunk) {
    std::size_t chunk = (n + kMaxSumChunks - 1) / kMaxSumChunks;
    if (chunk < min_chunk) chunk = min_chunk;
    if (chunk == 0) chunk = 1;
    const std::size_t n_chunks = (n + chunk - 1) / chunk;
    std::array<std::array<double, K>, kMaxSumChunks> partial;
#pragma omp parallel for schedule(static) if (n_chunks > 1)
    for (std::size_t c = 0; c < n_chunks; ++c) {
        std::array<double, K> acc{};
        const std::size_t end = (c + 1) * chunk < n ? (c + 1) * chunk : n;
        for (std::size_t i = c * chunk; i < end; ++i) term(i, acc.data());
        partial[c] = acc;
    }
    std::array<double, K> total{};
    for (std::size_t c = 0; c < n_chunks; ++c)
        for (int k = 0; k < K; ++k) total[k] += partial[c][k];
    return total;
}

// Single sum: term(i) returns element i's contribution.
template <typename Term>
double fixed_order_sum(std::size_t n, Term&& term, std::size_t min_chunk = kMinSumChunk) {
    return fixed_order_sums<1>(n, [&](std::size_t i, double* acc) { acc[0] += term(i); }, min_chunk)[0];
}

}  // namespace nst::detail
