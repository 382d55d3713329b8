// SPDX-License-Identifier: MIT
// Nearest upsampling, padding, centre-cropped addition and scaled tanh (nn/resample.h). All
// planes are independent: OpenMP over (n, c).
#include "nn/resample.h"

#include <algorithm>
#include <cmath>

namespace nst::cpu {

namespace {

// Source index of padded position i in [-pad, n + pad): reflection without repeating the edge.
int reflect_index(int i, int n) {
    if (i < 0) return -i;
    if (i >= n) return 2 * (n - 1) - i;
    return i;
}

}  // namespace

template <typename T>
void upsample_nearest_forward(TensorView<T> y, ConstView<T> x, int factor) {
    NST_REQUIRE(y.shape == (Shape{x.shape.n, x.shape.c, x.shape.h * factor, x.shape.w * factor}),
                "upsample_nearest_forward: y " + y.shape.str() + " for x " + x.shape.str());
    const int planes = x.shape.n * x.shape.c, h = x.shape.h, w = x.shape.w, wo = w * factor;
#pragma omp parallel for schedule(static)
    for (int p = 0; p < planes; ++p) {
        const T* xp = x.data + std::size_t(p) * h * w;
        T* yp = y.data + std::size_t(p) * h * w * factor * factor;
        for (int r = 0; r < h; ++r) {
            T* row = yp + std::size_t(r) * factor * wo;
            const T* src = xp + std::size_t(r) * w;
            if (factor == 2) {  // the common case, in a form the compiler vectorises
#pragma omp simd
                for (int c = 0; c < w; ++c) {
                    row[2 * c] = src[c];
                    row[2 * c + 1] = src[c];
                }
            } else {
                for (int c = 0; c < w; ++c)
                    for (int f = 0; f < factor; ++f) row[c * factor + f] = src[c];
            }
            for (int f = 1; f < factor; ++f) std::copy(row, row + wo, row + std::size_t(f) * wo);
        }
    }
}

template <typename T>
void upsample_nearest_backward(TensorView<T> dx, ConstView<T> dy, int factor) {
    NST_REQUIRE(dy.shape == (Shape{dx.shape.n, dx.shape.c, dx.shape.h * factor, dx.shape.w * factor}),
                "upsample_nearest_backward: dy " + dy.shape.str() + " for dx " + dx.shape.str());
    const int planes = dx.shape.n * dx.shape.c, h = dx.shape.h, w = dx.shape.w, wo = w * factor;
#pragma omp parallel for schedule(static)
    for (int p = 0; p < planes; ++p) {
        T* xp = dx.data + std::size_t(p) * h * w;
        const T* yp = dy.data + std::size_t(p) * h * w * factor * factor;
        for (int r = 0; r < h; ++r) {
            T* d = xp + std::size_t(r) * w;
            if (factor == 2) {
                const T* r0 = yp + std::size_t(r) * 2 * wo;
                const T* r1 = r0 + wo;
#pragma omp simd
                for (int c = 0; c < w; ++c) d[c] = (r0[2 * c] + r0[2 * c + 1]) + (r1[2 * c] + r1[2 * c + 1]);
                continue;
            }
            std::fill(d, d + w, T(0));
            for (int f = 0; f < factor; ++f) {
                const T* row = yp + (std::size_t(r) * factor + f) * wo;
                for (int c = 0; c < w; ++c)
                    for (int g = 0; g < factor; ++g) d[c] += row[c * factor + g];
            }
        }
    }
}

template <typename T>
void pad_forward(TensorView<T> y, ConstView<T> x, int pad, PadMode mode) {
    const int h = x.shape.h, w = x.shape.w, ho = h + 2 * pad, wo = w + 2 * pad;
    NST_REQUIRE(y.shape == (Shape{x.shape.n, x.shape.c, ho, wo}), "pad_forward: y " + y.shape.str() + " for x " + x.shape.str());
    NST_REQUIRE(mode == PadMode::Zero || (pad < h && pad < w), "pad_forward: reflection needs pad < H and pad < W");
    const int planes = x.shape.n * x.shape.c;
#pragma omp parallel for schedule(static)
    for (int p = 0; p < planes; ++p) {
        const T* xp = x.data + std::size_t(p) * h * w;
        T* yp = y.data + std::size_t(p) * ho * wo;
        for (int r = 0; r < ho; ++r) {
            T* row = yp + std::size_t(r) * wo;
            const int sr = r - pad;
            if (mode == PadMode::Zero && (sr < 0 || sr >= h)) {
                std::fill(row, row + wo, T(0));
                continue;
            }
            const T* src = xp + std::size_t(mode == PadMode::Zero ? sr : reflect_index(sr, h)) * w;
            std::copy(src, src + w, row + pad);
            for (int c = 0; c < pad; ++c) {
                row[c] = mode == PadMode::Zero ? T(0) : src[pad - c];
                row[pad + w + c] = mode == PadMode::Zero ? T(0) : src[w - 2 - c];
            }
        }
    }
}

template <typename T>
void pad_backward(TensorView<T> dx, ConstView<T> dy, int pad, PadMode mode) {
    const int h = dx.shape.h, w = dx.shape.w, ho = h + 2 * pad, wo = w + 2 * pad;
    NST_REQUIRE(dy.shape == (Shape{dx.shape.n, dx.shape.c, ho, wo}), "pad_backward: dy " + dy.shape.str() + " for dx " + dx.shape.str());
    NST_REQUIRE(mode == PadMode::Zero || (pad < h && pad < w), "pad_backward: reflection needs pad < H and pad < W");
    const int planes = dx.shape.n * dx.shape.c;
#pragma omp parallel for schedule(static)
    for (int p = 0; p < planes; ++p) {
        T* xp = dx.data + std::size_t(p) * h * w;
        const T* yp = dy.data + std::size_t(p) * ho * wo;
        for (int r = 0; r < h; ++r) std::copy(yp + std::size_t(r + pad) * wo + pad, yp + std::size_t(r + pad) * wo + pad + w, xp + std::size_t(r) * w);
        if (mode == PadMode::Zero) continue;
        // Fold the border back onto the pixels it mirrors: rows first (full padded width into a
        // row of dx plus its column borders), then the columns of each interior row.
        for (int r = 0; r < ho; ++r) {
            const int sr = reflect_index(r - pad, h);
            const T* row = yp + std::size_t(r) * wo;
            T* d = xp + std::size_t(sr) * w;
            if (r < pad || r >= pad + h)
                for (int c = 0; c < w; ++c) d[c] += row[pad + c];
            for (int c = 0; c < pad; ++c) {
                d[pad - c] += row[c];
                d[w - 2 - c] += row[pad + w + c];
            }
        }
    }
}

template <typename T>
void add_cropped_forward(TensorView<T> y, ConstView<T> x, ConstView<T> s) {
    NST_REQUIRE(y.shape == x.shape && s.shape.n == x.shape.n && s.shape.c == x.shape.c && s.shape.h >= x.shape.h &&
                    s.shape.w >= x.shape.w && (s.shape.h - x.shape.h) % 2 == 0 && (s.shape.w - x.shape.w) % 2 == 0,
                "add_cropped_forward: x " + x.shape.str() + ", source " + s.shape.str());
    const int planes = x.shape.n * x.shape.c, h = x.shape.h, w = x.shape.w;
    const int oy = (s.shape.h - h) / 2, ox = (s.shape.w - w) / 2;
#pragma omp parallel for schedule(static)
    for (int p = 0; p < planes; ++p) {
        for (int r = 0; r < h; ++r) {
            const std::size_t at = (std::size_t(p) * h + r) * w;
            const T* sr = s.data + (std::size_t(p) * s.shape.h + r + oy) * s.shape.w + ox;
#pragma omp simd
            for (int c = 0; c < w; ++c) y.data[at + c] = x.data[at + c] + sr[c];
        }
    }
}

template <typename T>
void add_cropped_backward_source(TensorView<T> ds, ConstView<T> dy) {
    NST_REQUIRE(ds.shape.n == dy.shape.n && ds.shape.c == dy.shape.c && ds.shape.h >= dy.shape.h &&
                    ds.shape.w >= dy.shape.w && (ds.shape.h - dy.shape.h) % 2 == 0 && (ds.shape.w - dy.shape.w) % 2 == 0,
                "add_cropped_backward_source: dy " + dy.shape.str() + ", source " + ds.shape.str());
    const int planes = dy.shape.n * dy.shape.c, h = dy.shape.h, w = dy.shape.w;
    const int oy = (ds.shape.h - h) / 2, ox = (ds.shape.w - w) / 2;
#pragma omp parallel for schedule(static)
    for (int p = 0; p < planes; ++p) {
        for (int r = 0; r < h; ++r) {
            const T* g = dy.data + (std::size_t(p) * h + r) * w;
            T* d = ds.data + (std::size_t(p) * ds.shape.h + r + oy) * ds.shape.w + ox;
#pragma omp simd
            for (int c = 0; c < w; ++c) d[c] += g[c];
        }
    }
}

template <typename T>
void tanh_forward(TensorView<T> y, ConstView<T> x, double scale) {
    NST_REQUIRE(y.shape == x.shape, "tanh_forward: shapes differ");
    const std::ptrdiff_t n = std::ptrdiff_t(x.numel());
    const T sc = T(scale);
#pragma omp parallel for schedule(static)
    for (std::ptrdiff_t i = 0; i < n; ++i) y.data[i] = sc * std::tanh(x.data[i]);
}

template <typename T>
void tanh_backward(TensorView<T> dx, ConstView<T> dy, ConstView<T> y, double scale) {
    NST_REQUIRE(dx.shape == dy.shape && dy.shape == y.shape, "tanh_backward: shapes differ");
    const std::ptrdiff_t n = std::ptrdiff_t(y.numel());
    const T sc = T(scale), inv = T(1 / scale);
#pragma omp parallel for simd schedule(static)
    for (std::ptrdiff_t i = 0; i < n; ++i) dx.data[i] = dy.data[i] * (sc - y.data[i] * y.data[i] * inv);
}

#define NST_RESAMPLE_INSTANTIATE(T)                                                                  \
    template void upsample_nearest_forward<T>(TensorView<T>, ConstView<T>, int);                    \
    template void upsample_nearest_backward<T>(TensorView<T>, ConstView<T>, int);                   \
    template void pad_forward<T>(TensorView<T>, ConstView<T>, int, PadMode);                        \
    template void pad_backward<T>(TensorView<T>, ConstView<T>, int, PadMode);                       \
    template void add_cropped_forward<T>(TensorView<T>, ConstView<T>, ConstView<T>);                \
    template void add_cropped_backward_source<T>(TensorView<T>, ConstView<T>);                      \
    template void tanh_forward<T>(TensorView<T>, ConstView<T>, double);                             \
    template void tanh_backward<T>(TensorView<T>, ConstView<T>, ConstView<T>, double);
NST_RESAMPLE_INSTANTIATE(float)
NST_RESAMPLE_INSTANTIATE(double)
#undef NST_RESAMPLE_INSTANTIATE

}  // namespace nst::cpu
