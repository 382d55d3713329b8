// SPDX-License-Identifier: MIT
// Direct 3x3 convolution: im2col + BLAS GEMM, the exact reference of the CPU backend (and the
// double-precision path that finite-difference tests run). The image is processed in row bands
// so that the column matrix stays small (a full im2col of conv1_2 at 512 px would take 600 MB).
#include <cblas.h>

#include <algorithm>
#include <cstring>

#include "nn/conv2d_impl.h"

namespace nst::cpu::detail {

namespace {

// Row-major C (m x n) = A (m x k, or k x m when trans_a) * B (k x n).
void gemm(bool trans_a, int m, int n, int k, const float* a, int lda, const float* b, int ldb, float beta, float* c,
          int ldc) {
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a, lda, b, ldb, beta,
                c, ldc);
}
void gemm(bool trans_a, int m, int n, int k, const double* a, int lda, const double* b, int ldb, double beta, double* c,
          int ldc) {
    cblas_dgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, CblasNoTrans, m, n, k, 1.0, a, lda, b, ldb, beta, c,
                ldc);
}

// Rows per band so that the (9 I) x (rows W) column matrix stays near 8 MB.
int band_rows(int channels, int h, int w, std::size_t elem) {
    const std::size_t budget = std::size_t(8) << 20;
    const std::size_t per_row = std::size_t(9) * channels * w * elem;
    return int(std::clamp<std::size_t>(budget / std::max<std::size_t>(per_row, 1), 1, std::size_t(h)));
}

// col[(i*9 + ky*3 + kx)][(y - y0) * W + x] = x[i][y + ky - 1][x + kx - 1] (0 outside).
template <typename T>
void im2col_band(T* col,      // (9 I, (y1 - y0) W)
                 const T* x,  // (1, I, H, W)
                 int channels, int h, int w, int y0, int y1) {
    const int rows = y1 - y0;
    const std::size_t band = std::size_t(rows) * w;
#pragma omp parallel for schedule(static)
    for (int i = 0; i < channels; ++i) {
        const T* xi = x + std::size_t(i) * h * w;
        for (int ky = 0; ky < 3; ++ky)
            for (int kx = 0; kx < 3; ++kx) {
                T* dst = col + (std::size_t(i) * 9 + ky * 3 + kx) * band;
                for (int r = 0; r < rows; ++r) {
                    const int sy = y0 + r + ky - 1;
                    T* d = dst + std::size_t(r) * w;
                    if (sy < 0 || sy >= h) {
                        std::fill(d, d + w, T(0));
                        continue;
                    }
                    const T* s = xi + std::size_t(sy) * w;
                    // d[x] = s[x + kx - 1] for 0 <= x + kx - 1 < w.
                    const int lo = std::max(0, 1 - kx), hi = std::min(w, w + 1 - kx);
                    for (int xx = 0; xx < lo; ++xx) d[xx] = T(0);
                    for (int xx = lo; xx < hi; ++xx) d[xx] = s[xx + kx - 1];
                    for (int xx = hi; xx < w; ++xx) d[xx] = T(0);
                }
            }
    }
}

// dx[i][y + ky - 1][x + kx - 1] += col[(i*9 + ky*3 + kx)][(y - y0) * W + x]. Channels are
// disjoint, so the loop over i parallelises without races.
template <typename T>
void col2im_band_add(T* dx,         // (1, I, H, W)
                     const T* col,  // (9 I, (y1 - y0) W)
                     int channels, int h, int w, int y0, int y1) {
    const int rows = y1 - y0;
    const std::size_t band = std::size_t(rows) * w;
#pragma omp parallel for schedule(static)
    for (int i = 0; i < channels; ++i) {
        T* di = dx + std::size_t(i) * h * w;
        for (int ky = 0; ky < 3; ++ky)
            for (int kx = 0; kx < 3; ++kx) {
                const T* src = col + (std::size_t(i) * 9 + ky * 3 + kx) * band;
                for (int r = 0; r < rows; ++r) {
                    const int sy = y0 + r + ky - 1;
                    if (sy < 0 || sy >= h) continue;
                    const T* s = src + std::size_t(r) * w;
                    T* d = di + std::size_t(sy) * w;
                    const int lo = std::max(0, 1 - kx), hi = std::min(w, w + 1 - kx);
                    for (int xx = lo; xx < hi; ++xx) d[xx + kx - 1] += s[xx];
                }
            }
    }
}

template <typename T>
void apply_epilogue(T* y,  // (1, C, H, W), plane = H W
                    int channels, std::size_t plane, const ConvEpilogue<T>& ep) {
    if (!ep.bias && !ep.relu && !ep.mask && !ep.mask_bytes && !ep.positive_out) return;
#pragma omp parallel for schedule(static)
    for (int c = 0; c < channels; ++c) {
        const std::size_t at = std::size_t(c) * plane;
        T* yc = y + at;
        const T bias = ep.bias ? ep.bias[c] : T(0);
        const T* mc = ep.mask ? ep.mask + at : nullptr;
        const std::uint8_t* bc = ep.mask_bytes ? ep.mask_bytes + at : nullptr;
        std::uint8_t* pc = ep.positive_out ? ep.positive_out + at : nullptr;
        for (std::size_t p = 0; p < plane; ++p) {
            T v = yc[p] + bias;
            if (ep.relu) v = v > T(0) ? v : T(0);
            if (mc) v = mc[p] > T(0) ? v : T(0);
            if (bc) v = bc[p] ? v : T(0);
            if (pc) pc[p] = v > T(0);
            yc[p] = v;
        }
    }
}

}  // namespace

ScratchBytes direct_scratch_bytes(int channels, int h, int w, std::size_t elem_bytes) {
    ScratchBytes b{};
    b[std::size_t(ScratchSlot::Im2col)] =
        std::size_t(9) * channels * band_rows(channels, h, w, elem_bytes) * w * elem_bytes;
    return b;
}

template <typename T>
void direct_forward(TensorView<T> y, ConstView<T> x, ConstView<T> w, const ConvEpilogue<T>& ep) {
    const int in = x.shape.c, out = y.shape.c, h = x.shape.h, wd = x.shape.w;
    const int rows = band_rows(in, h, wd, sizeof(T));
    T* col = conv_scratch<T>(ScratchSlot::Im2col, std::size_t(9) * in * rows * wd);  // direct_scratch_bytes
    const std::size_t plane = std::size_t(h) * wd;
    for (int y0 = 0; y0 < h; y0 += rows) {
        const int y1 = std::min(h, y0 + rows);
        const int n = (y1 - y0) * wd;
        im2col_band(col, x.data, in, h, wd, y0, y1);
        // y[:, band] (O x n, row stride H*W) = w (O x 9I) * col (9I x n).
        gemm(false, out, n, 9 * in, w.data, 9 * in, col, n, T(0), y.data + std::size_t(y0) * wd, int(plane));
    }
    apply_epilogue(y.data, out, plane, ep);
}

template <typename T>
void direct_backward_data(TensorView<T> dx, ConstView<T> dy, ConstView<T> w, const ConvEpilogue<T>& ep) {
    NST_REQUIRE(!ep.bias && !ep.relu && !ep.positive_out, "backward-data takes no bias, relu or positive_out");
    const int in = dx.shape.c, out = dy.shape.c, h = dx.shape.h, wd = dx.shape.w;
    const int rows = band_rows(in, h, wd, sizeof(T));
    T* col = conv_scratch<T>(ScratchSlot::Im2col, std::size_t(9) * in * rows * wd);  // direct_scratch_bytes
    const std::size_t plane = std::size_t(h) * wd;
    std::fill(dx.data, dx.data + dx.numel(), T(0));
    for (int y0 = 0; y0 < h; y0 += rows) {
        const int y1 = std::min(h, y0 + rows);
        const int n = (y1 - y0) * wd;
        // col (9I x n) = w^T (9I x O) * dy[:, band] (O x n, row stride H*W).
        gemm(true, 9 * in, n, out, w.data, 9 * in, dy.data + std::size_t(y0) * wd, int(plane), T(0), col, n);
        col2im_band_add(dx.data, col, in, h, wd, y0, y1);
    }
    apply_epilogue(dx.data, in, plane, ep);
}

template <typename T>
Tensor<T> flip_weights(ConstView<T> w) {
    const int out = w.shape.n, in = w.shape.c;
    NST_REQUIRE(w.shape.h == 3 && w.shape.w == 3, "flip_weights needs (O, I, 3, 3) weights, got " + w.shape.str());
    Tensor<T> f(Shape{in, out, 3, 3});
    for (int o = 0; o < out; ++o)
        for (int i = 0; i < in; ++i)
            for (int k = 0; k < 9; ++k)
                f[(std::size_t(i) * out + o) * 9 + k] = w[(std::size_t(o) * in + i) * 9 + (8 - k)];
    return f;
}

template void direct_forward<float>(TensorView<float>, ConstView<float>, ConstView<float>, const ConvEpilogue<float>&);
template void direct_forward<double>(TensorView<double>, ConstView<double>, ConstView<double>,
                                     const ConvEpilogue<double>&);
template void direct_backward_data<float>(TensorView<float>, ConstView<float>, ConstView<float>,
                                          const ConvEpilogue<float>&);
template void direct_backward_data<double>(TensorView<double>, ConstView<double>, ConstView<double>,
                                           const ConvEpilogue<double>&);
template Tensor<float> flip_weights<float>(ConstView<float>);
template Tensor<double> flip_weights<double>(ConstView<double>);

}  // namespace nst::cpu::detail
