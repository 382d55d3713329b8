// SPDX-License-Identifier: MIT
// Winograd F(2x2, 3x3) convolution (Lavin & Gray 2016) on the CPU.
//
// Each 2x2 output tile is computed from a 4x4 input tile d as Y = A^T [ (G g G^T) .* (B^T d B) ] A,
// so one tile costs 16 multiplications per (o, i) instead of 36: summed over the input channels,
// the 16 element positions xi of the transformed tiles become 16 independent GEMMs
//     M[xi] (O x tiles) = U[xi] (O x I) * V[xi] (I x tiles),
// 2.25x fewer FLOPs than the direct convolution.
//
// Why not F(4x4, 3x3) (4x fewer FLOPs): its transforms have coefficients up to 8 and 1/24, and
// in float one VGG-like layer (256 -> 256 channels, He weights, ReLU-like inputs) came out at
// 2.1e-6 relative L2 from double, against 3.9e-7 for F(2x2, 3x3) in the same harness. Through
// the 13 convolutions to relu5_1 that would use up the whole accuracy budget of the float
// pipeline (3e-6 at relu5_1, for 1e-5 against PyTorch float64); F(2x2, 3x3) ends at ~1e-6.
//
// Schedule. The tiles are cut into chunks of kTilesPerChunk; a thread transforms a chunk's
// input into V (kept in L2), runs the 16 GEMMs for a block of output channels into a small
// buffer M, and applies the output transform (+ bias, ReLU or ReLU-backward mask) straight into
// y, so transformed data never travels to main memory. When a layer has fewer chunks than
// threads (deep layers of small images), the threads split the output channels of a chunk
// instead, each reading only its part of the filters. The filters are transformed once
// (WinogradFilter) in double and packed in the order the GEMM micro-kernel reads them.
//
// The micro-kernel computes an MR x (16 NV) block of M: MR output channels (broadcast from U)
// by 16 NV tiles (vector lanes, loaded from V); with AVX-512 it keeps MR * NV accumulators in
// registers. Other CPUs get the portable loop, which the compiler vectorises.
#include <omp.h>

#include <algorithm>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "nn/conv2d_impl.h"
#include "nn/conv2d_lanes.h"

namespace nst::cpu::detail {

namespace {

constexpr int kM = 2;         // output tile size
constexpr int kA = kM + 2;    // input tile size
constexpr int kXi = kA * kA;  // transform positions = GEMMs per chunk
constexpr int kMR = 8;        // output channels per micro-kernel block (divides 64..512)

// Points 0, 1, -1, infinity: every coefficient is 0, +-1 or 1/2, so the data transforms
// (B^T, A^T, written out in input_transform and output_transform) are additions and only the
// filter transform G (done once, in double) rounds.
constexpr double kG[kA][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};

// Tiles per chunk. The transformed input of a chunk is 16 x I x 64 values (256 KiB for 64
// channels, 2 MiB for 512) and every chunk streams the layer's transformed filters once (16 MiB
// for 512 x 512): fewer tiles make deep layers wait on memory for filters, more tiles push the
// early layers' V out of the 2 MiB L2. 64 measured best or equal on every VGG shape.
constexpr int kTilesPerChunk = 64;
// Input channels per GEMM pass: a 128 x 32 panel of V is 16 KiB, which stays in L1.
constexpr int kKBlock = 128;
// GEMM output block per thread (bytes): M = 16 x ob x nt values, applied and dropped per block.
constexpr std::size_t kMBudget = 1 << 20;

std::size_t round_up(std::size_t v, std::size_t m) { return (v + m - 1) / m * m; }

// ---- GEMM micro-kernels: c[r][j] = sum_k a[k][r] * b[k][j], r < kMR, j < 16 NV ---------------
// a: [k_len][kMR] (a packed filter panel), b: [k_len] rows of ldb (V), c: [kMR] rows of ldc (M).

template <typename T, int NV>
void micro_kernel_portable(int k_len, const T* a, const T* b, std::size_t ldb, T* c, std::size_t ldc, bool accumulate) {
    constexpr int nr = 16 * NV;
    T acc[kMR][nr] = {};
    if (accumulate)
        for (int r = 0; r < kMR; ++r)
            for (int j = 0; j < nr; ++j) acc[r][j] = c[r * ldc + j];
    for (int k = 0; k < k_len; ++k) {
        const T* bk = b + std::size_t(k) * ldb;
        const T* ak = a + std::size_t(k) * kMR;
        for (int r = 0; r < kMR; ++r)
#pragma omp simd
            for (int j = 0; j < nr; ++j) acc[r][j] += ak[r] * bk[j];
    }
    for (int r = 0; r < kMR; ++r)
        for (int j = 0; j < nr; ++j) c[r * ldc + j] = acc[r][j];
}

template <typename T, int NV>
struct MicroKernel {
    static void run(int k_len, const T* a, const T* b, std::size_t ldb, T* c, std::size_t ldc, bool accumulate) {
        micro_kernel_portable<T, NV>(k_len, a, b, ldb, c, ldc, accumulate);
    }
};

#if defined(__AVX512F__)
template <int NV>
struct MicroKernel<float, NV> {
    static void run(int k_len, const float* a, const float* b, std::size_t ldb, float* c, std::size_t ldc,
                    bool accumulate) {
        __m512 acc[kMR][NV];
#pragma GCC unroll 16
        for (int r = 0; r < kMR; ++r)
#pragma GCC unroll 4
            for (int v = 0; v < NV; ++v)
                acc[r][v] = accumulate ? _mm512_loadu_ps(c + r * ldc + v * 16) : _mm512_setzero_ps();
        for (int k = 0; k < k_len; ++k) {
            // The filter panel streams from memory once per chunk (deep layers hold 16 MiB of
            // transformed filters): fetch it 1 KiB ahead of use.
            _mm_prefetch(reinterpret_cast<const char*>(a + 32 * kMR), _MM_HINT_T0);
            __m512 bv[NV];
#pragma GCC unroll 4
            for (int v = 0; v < NV; ++v) bv[v] = _mm512_loadu_ps(b + v * 16);
#pragma GCC unroll 16
            for (int r = 0; r < kMR; ++r) {
                const __m512 ar = _mm512_set1_ps(a[r]);
#pragma GCC unroll 4
                for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_fmadd_ps(ar, bv[v], acc[r][v]);
            }
            a += kMR;
            b += ldb;
        }
#pragma GCC unroll 16
        for (int r = 0; r < kMR; ++r)
#pragma GCC unroll 4
            for (int v = 0; v < NV; ++v) _mm512_storeu_ps(c + r * ldc + v * 16, acc[r][v]);
    }
};
#endif

// ---- transforms -----------------------------------------------------------------------------
// A group is up to 16 consecutive tiles of one tile row (one tile per lane). F(2x2, 3x3) with
// B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1] and A^T = [1 1 1 0; 0 1 -1 -1], applied to
// rows and then columns, written out so that only the additions remain.

// V[xi][i][col + l] for the tiles t0..t1 of one chunk (tile t = ty * tw + tx), all channels.
template <typename T>
void input_transform(T* v,  // [16][I][nt_pad], xi stride xi_stride
                     std::size_t nt_pad, std::size_t xi_stride,
                     const T* x,  // (1, I, H, W), or (1, I, H + 2, W + 2) when origin = 0
                     int channels, int h, int w, int tw, int t0, int t1, int origin) {
    using L = Lanes<T>;
    const int n_cols = t1 - t0;
    const std::size_t plane = std::size_t(h) * w;
    for (int i = 0; i < channels; ++i) {
        const T* xi = x + std::size_t(i) * plane;
        T* vi = v + std::size_t(i) * nt_pad;
        // A chunk reads a few rows of each channel: short streams that the hardware prefetcher
        // picks up late. Each group prefetches what the same group of the next channel reads.
        const bool prefetch_next = i + 1 < channels;
        int col = 0;
        for (int t = t0; t < t1;) {
            const int ty = t / tw, tx0 = t % tw;
            const int n = std::min({t1 - t, tw - tx0, kLanes});
            // The group reads input columns x0 .. x0 + 2n + 1 of rows 2 ty + origin .. 2 ty + 3 +
            // origin; tile l reads d[r][c] = x[2 ty + origin + r][x0 + 2l + c] (zero outside the
            // image). origin = -1: zero padding 1 (same size); 0: unpadded (x larger by 2).
            const int x0 = kM * tx0 + origin, avail = kM * n + 2;
            // Columns: u[r][.] = B^T applied to d[r][0..3].
            L u[kA][kA];
            for (int r = 0; r < kA; ++r) {
                const int yy = kM * ty + origin + r;
                L d[kA] = {L::zero(), L::zero(), L::zero(), L::zero()};
                if (yy >= 0 && yy < h) {
                    const T* row = xi + std::size_t(yy) * w;
                    L::load_tile_columns(row, x0, avail, w, d);
                    if (prefetch_next) {
                        const T* next = row + plane + std::max(x0, 0);
                        __builtin_prefetch(next, 0, 3);
                        __builtin_prefetch(next + 64 / sizeof(T), 0, 3);
                    }
                }
                u[r][0] = d[0] - d[2];
                u[r][1] = d[1] + d[2];
                u[r][2] = d[2] - d[1];
                u[r][3] = d[1] - d[3];
            }
            // Rows: V[r'][c] = B^T applied to u[0..3][c].
            T* dst = vi + col;
            for (int c = 0; c < kA; ++c) {
                (u[0][c] - u[2][c]).store(dst + (0 * kA + c) * xi_stride, n);
                (u[1][c] + u[2][c]).store(dst + (1 * kA + c) * xi_stride, n);
                (u[2][c] - u[1][c]).store(dst + (2 * kA + c) * xi_stride, n);
                (u[1][c] - u[3][c]).store(dst + (3 * kA + c) * xi_stride, n);
            }
            t += n;
            col += n;
        }
        // Columns past the chunk's tiles feed only discarded outputs; zero keeps them finite.
        for (int xi_pos = 0; xi_pos < kXi; ++xi_pos)
            std::fill(vi + xi_pos * xi_stride + n_cols, vi + xi_pos * xi_stride + nt_pad, T(0));
    }
}

// y[o][2 ty + a][2 tx + b] from M[xi][o - o0][col], for o in o0..o1, with the epilogue.
template <typename T>
void output_transform(T* y,           // (1, O, H, W)
                      const T* mbuf,  // [16][o1 - o0 (padded)][nt_pad], xi stride xi_stride
                      std::size_t nt_pad, std::size_t xi_stride, int o0, int o1, int h, int w, int tw, int t0, int t1,
                      const ConvEpilogue<T>& ep) {
    using L = Lanes<T>;
    const std::size_t plane = std::size_t(h) * w;
    for (int o = o0; o < o1; ++o) {
        const T* mo = mbuf + std::size_t(o - o0) * nt_pad;
        T* yo = y + std::size_t(o) * plane;
        const T* masko = ep.mask ? ep.mask + std::size_t(o) * plane : nullptr;
        const std::uint8_t* bytes_o = ep.mask_bytes ? ep.mask_bytes + std::size_t(o) * plane : nullptr;
        std::uint8_t* pos_o = ep.positive_out ? ep.positive_out + std::size_t(o) * plane : nullptr;
        const L bias = L::splat(ep.bias ? ep.bias[o] : T(0));
        int col = 0;
        for (int t = t0; t < t1;) {
            const int ty = t / tw, tx0 = t % tw;
            const int n = std::min({t1 - t, tw - tx0, kLanes});
            // Rows: tmp[a][c] = A^T applied to m[0..3][c].
            L tmp[kM][kA];
            for (int c = 0; c < kA; ++c) {
                const L m0 = L::load(mo + (0 * kA + c) * xi_stride + col, n);
                const L m1 = L::load(mo + (1 * kA + c) * xi_stride + col, n);
                const L m2 = L::load(mo + (2 * kA + c) * xi_stride + col, n);
                const L m3 = L::load(mo + (3 * kA + c) * xi_stride + col, n);
                tmp[0][c] = m0 + m1 + m2;
                tmp[1][c] = m1 - m2 - m3;
            }
            const int xs = kM * tx0, count = std::min(kM * n, w - xs);
            for (int a = 0; a < kM; ++a) {
                const int yy = kM * ty + a;
                if (yy >= h) break;
                // Columns: the two outputs of each tile, then interleaved into the image row.
                const L out0 = tmp[a][0] + tmp[a][1] + tmp[a][2] + bias;
                const L out1 = tmp[a][1] - tmp[a][2] - tmp[a][3] + bias;
                L lo = L::interleave_lo(out0, out1), hi = L::interleave_hi(out0, out1);
                if (ep.relu) {
                    lo = lo.relu();
                    hi = hi.relu();
                }
                const std::size_t at = std::size_t(yy) * w + xs;
                if (masko) {
                    const T* mrow = masko + at;
                    lo = lo.keep_where_positive(L::load(mrow, count));
                    hi = hi.keep_where_positive(L::load(mrow + kLanes, count - kLanes));
                }
                if (bytes_o) {
                    lo = lo.keep_where_set(bytes_o + at, count);
                    hi = hi.keep_where_set(bytes_o + at + kLanes, count - kLanes);
                }
                T* yrow = yo + at;
                lo.store(yrow, count);
                hi.store(yrow + kLanes, count - kLanes);
                if (pos_o) {
                    lo.store_positive(pos_o + at, count);
                    hi.store_positive(pos_o + at + kLanes, count - kLanes);
                }
                // As in the input transform, a chunk writes short row segments of each
                // channel; fetch the next channel's ones (for writing, and its mask) ahead.
                if (o + 1 < o1) {
                    const T* next_mask = masko ? masko + plane + at : nullptr;
                    const std::uint8_t* next_bytes = bytes_o ? bytes_o + plane + at : nullptr;
                    for (int j = 0; j < count; j += kLanes) {
                        __builtin_prefetch(yrow + plane + j, 1, 3);
                        if (next_mask) __builtin_prefetch(next_mask + j, 0, 3);
                    }
                    if (next_bytes) {  // count <= 32 bytes: at most two cache lines
                        __builtin_prefetch(next_bytes, 0, 3);
                        __builtin_prefetch(next_bytes + count - 1, 0, 3);
                    }
                }
            }
            t += n;
            col += n;
        }
    }
}

}  // namespace

template <typename T>
WinogradFilter<T>::WinogradFilter(ConstView<T> w) : m_out(w.shape.n), m_in(w.shape.c) {
    NST_REQUIRE(w.shape.h == 3 && w.shape.w == 3, "WinogradFilter needs (O, I, 3, 3) weights, got " + w.shape.str());
    const std::size_t out_pad = round_up(std::size_t(m_out), kMR);
    m_xi_stride = out_pad * std::size_t(m_in);
    m_packed = Tensor<T>(Shape{1, 1, kXi, int(m_xi_stride)});
    std::fill(m_packed.begin(), m_packed.end(), T(0));
    T* dst = m_packed.data();
    for (int o = 0; o < m_out; ++o)
        for (int i = 0; i < m_in; ++i) {
            const T* g = w.data + (std::size_t(o) * m_in + i) * 9;
            // U = G g G^T in double, rounded once.
            double gg[kA][3];
            for (int r = 0; r < kA; ++r)
                for (int c = 0; c < 3; ++c) {
                    double s = 0;
                    for (int k = 0; k < 3; ++k) s += kG[r][k] * double(g[k * 3 + c]);
                    gg[r][c] = s;
                }
            const std::size_t at = (std::size_t(o / kMR) * m_in + i) * kMR + o % kMR;
            for (int r = 0; r < kA; ++r)
                for (int c = 0; c < kA; ++c) {
                    double s = 0;
                    for (int k = 0; k < 3; ++k) s += gg[r][k] * kG[c][k];
                    dst[(r * kA + c) * m_xi_stride + at] = T(s);
                }
        }
}

ScratchBytes winograd_scratch_bytes(int in, int out, int h, int w, std::size_t elem_bytes) {
    // As winograd_forward sizes V and M: a chunk has nt <= min(tiles, kTilesPerChunk) tiles
    // whatever the thread count, and an M block ob_blocks * kMR * nt_pad values, which the
    // budget caps unless one block of kMR channels alone exceeds it, and the output channels
    // cap in any case.
    const std::size_t tiles = std::size_t((h + kM - 1) / kM) * std::size_t((w + kM - 1) / kM);
    const std::size_t nt_pad = round_up(std::min<std::size_t>(tiles, kTilesPerChunk), kLanes);
    const std::size_t m_block = std::min(std::max(kMBudget / (kXi * elem_bytes), kMR * nt_pad),
                                         round_up(std::size_t(out), kMR) * nt_pad);
    ScratchBytes b{};
    b[std::size_t(ScratchSlot::WinogradV)] = kXi * (std::size_t(in) * nt_pad + kLanes) * elem_bytes;
    b[std::size_t(ScratchSlot::WinogradM)] = kXi * (m_block + kLanes) * elem_bytes;
    return b;
}

template <typename T>
void winograd_forward(TensorView<T> y, ConstView<T> x, const WinogradFilter<T>& filter, const ConvEpilogue<T>& ep,
                      bool unpadded) {
    const int in = x.shape.c, out = y.shape.c, h = y.shape.h, w = y.shape.w;
    const int origin = unpadded ? 0 : -1, grow = unpadded ? 2 : 0;
    NST_REQUIRE(filter.in_channels() == in && filter.out_channels() == out,
                "winograd_forward: filter channels do not match x " + x.shape.str() + ", y " + y.shape.str());
    NST_REQUIRE(x.shape.h == h + grow && x.shape.w == w + grow, "winograd_forward: x and y sizes disagree");
    const int th = (h + kM - 1) / kM, tw = (w + kM - 1) / kM;
    const int tiles = th * tw;
    const int threads = omp_get_max_threads();

    // Chunks of about kTilesPerChunk tiles; a multiple of the thread count while there are few.
    int chunks = (tiles + kTilesPerChunk - 1) / kTilesPerChunk;
    if (chunks >= threads && chunks < 8 * threads) chunks = int(round_up(chunks, threads));
    chunks = std::min(chunks, tiles);
    const int nt = (tiles + chunks - 1) / chunks;
    chunks = (tiles + nt - 1) / nt;
    const std::size_t nt_pad = round_up(nt, kLanes);
    // Fewer chunks than threads: split the output channels instead (each thread transforms
    // the chunk's input itself, which costs ~1/O of the GEMM work).
    const int o_parts = chunks >= threads ? 1 : std::max(1, threads / chunks);
    const int out_blocks = int(round_up(out, kMR) / kMR);
    const int blocks_per_part = (out_blocks + o_parts - 1) / o_parts;
    // Output channels per GEMM block, so that M (16 x ob x nt) stays in cache.
    const int ob_blocks = int(std::clamp<std::size_t>(kMBudget / (std::size_t(kXi) * kMR * nt_pad * sizeof(T)), 1,
                                                      std::size_t(blocks_per_part)));
    const int items = chunks * o_parts;
    // Distances between transform positions in V and M. The transforms touch all 16 positions
    // of a tile at once; one extra cache line keeps those 16 streams out of the same cache
    // sets (a power-of-two distance would alias them all in L1).
    const std::size_t v_stride = std::size_t(in) * nt_pad + kLanes;
    const std::size_t m_stride = std::size_t(ob_blocks) * kMR * nt_pad + kLanes;

#pragma omp parallel
    {
        // Bounded by winograd_scratch_bytes.
        T* v = conv_scratch<T>(ScratchSlot::WinogradV, kXi * v_stride);
        T* mbuf = conv_scratch<T>(ScratchSlot::WinogradM, kXi * m_stride);
        int have_chunk = -1;
#pragma omp for schedule(static)
        for (int item = 0; item < items; ++item) {
            const int chunk = item / o_parts, part = item % o_parts;
            const int t0 = chunk * nt, t1 = std::min(tiles, t0 + nt);
            if (chunk != have_chunk) {
                input_transform(v, nt_pad, v_stride, x.data, in, h + grow, w + grow, tw, t0, t1, origin);
                have_chunk = chunk;
            }
            const int blk_begin = part * blocks_per_part;
            const int blk_end = std::min(out_blocks, blk_begin + blocks_per_part);
            for (int b0 = blk_begin; b0 < blk_end; b0 += ob_blocks) {
                const int b1 = std::min(blk_end, b0 + ob_blocks);
                // M[xi] = U[xi] V[xi], blocked over the input channels (k) so that the V panel a
                // micro-kernel call reads (kKBlock x 32 values) stays in L1 while it is reused by
                // every output-channel block; the U slices (ob x kKBlock) come from L2.
                for (int xi = 0; xi < kXi; ++xi) {
                    const T* u = filter.packed() + xi * filter.xi_stride();
                    const T* vx = v + xi * v_stride;
                    T* mx = mbuf + xi * m_stride;
                    for (int k0 = 0; k0 < in; k0 += kKBlock) {
                        const int k_len = std::min(kKBlock, in - k0);
                        for (std::size_t col = 0; col < nt_pad;) {
                            const bool wide = col + 32 <= nt_pad;
                            for (int b = b0; b < b1; ++b) {
                                const T* ub = u + (std::size_t(b) * in + k0) * kMR;
                                const T* vb = vx + std::size_t(k0) * nt_pad + col;
                                T* mb = mx + std::size_t(b - b0) * kMR * nt_pad + col;
                                if (wide)
                                    MicroKernel<T, 2>::run(k_len, ub, vb, nt_pad, mb, nt_pad, k0 > 0);
                                else
                                    MicroKernel<T, 1>::run(k_len, ub, vb, nt_pad, mb, nt_pad, k0 > 0);
                            }
                            col += wide ? 32 : 16;
                        }
                    }
                }
                output_transform(y.data, mbuf, nt_pad, m_stride, b0 * kMR, std::min(out, b1 * kMR), h, w, tw, t0, t1,
                                 ep);
            }
        }
    }
}

template class WinogradFilter<float>;
template class WinogradFilter<double>;
template void winograd_forward<float>(TensorView<float>, ConstView<float>, const WinogradFilter<float>&,
                                      const ConvEpilogue<float>&, bool);
template void winograd_forward<double>(TensorView<double>, ConstView<double>, const WinogradFilter<double>&,
                                       const ConvEpilogue<double>&, bool);

}  // namespace nst::cpu::detail
