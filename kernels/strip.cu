// SPDX-License-Identifier: MIT
// Row-band copies and adds (see strip.h): one grid-stride loop over the C * rows * w elements of
// the band, element i in channel i / (rows * w) at offset i % (rows * w) of the band's run.
#include "kernels/strip.h"

#include <cstddef>

#include "core/error.h"
#include "cuda/check.h"
#include "kernels/launch.h"

namespace nst::kernels {

namespace {

template <bool Add>
__global__ void rows_kernel(float* __restrict__ dst, long long dst_plane, long long dst_off,
                            const float* __restrict__ src, long long src_plane, long long src_off, long long band,
                            long long n) {
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;
         i += (long long)gridDim.x * blockDim.x) {
        const long long c = i / band, r = i - c * band;
        const float v = src[c * src_plane + src_off + r];
        float* d = dst + c * dst_plane + dst_off + r;
        *d = Add ? *d + v : v;
    }
}

template <bool Add>
void launch_rows(float* dst, int dst_h, int dst_row, const float* src, int src_h, int src_row, int channels, int rows,
                 int w, cudaStream_t stream) {
    NST_REQUIRE(channels >= 0 && rows >= 0 && w >= 0 && dst_row >= 0 && src_row >= 0 && dst_row + rows <= dst_h &&
                    src_row + rows <= src_h,
                "copy_rows / add_rows: band outside a map");
    const long long band = (long long)rows * w, n = band * channels;
    if (n <= 0) return;
    rows_kernel<Add><<<elementwise_blocks(std::size_t(n)), kThreads, 0, stream>>>(
        dst, (long long)dst_h * w, (long long)dst_row * w, src, (long long)src_h * w, (long long)src_row * w, band, n);
    NST_CUDA_CHECK(cudaGetLastError());
}

}  // namespace

void copy_rows(float* dst, int dst_h, int dst_row, const float* src, int src_h, int src_row, int channels, int rows,
               int w, cudaStream_t stream) {
    launch_rows<false>(dst, dst_h, dst_row, src, src_h, src_row, channels, rows, w, stream);
}

void add_rows(float* dst, int dst_h, int dst_row, const float* src, int src_h, int src_row, int channels, int rows,
              int w, cudaStream_t stream) {
    launch_rows<true>(dst, dst_h, dst_row, src, src_h, src_row, channels, rows, w, stream);
}

}  // namespace nst::kernels
