// SPDX-License-Identifier: MIT
#include "nn/pool.h"

#include <algorithm>

namespace nst::cpu {

namespace {

void check_pool_shapes(const Shape& x, const Shape& y, const char* what) {
    NST_REQUIRE(x.n == 1 && y.n == 1 && x.c == y.c && y.h == x.h / 2 && y.w == x.w / 2,
                std::string(what) + ": x " + x.str() + " and y " + y.str() + " are not a 2x2 floor-mode pooling");
}

// Runs row(c, oy, r0, r1) for every output row, r0 and r1 the two input rows of its windows.
template <typename T, typename Row>
void forward_rows(ConstView<T> x, int oh, Row row) {
    const int channels = x.shape.c, h = x.shape.h, w = x.shape.w;
#pragma omp parallel for collapse(2) schedule(static)
    for (int c = 0; c < channels; ++c)
        for (int oy = 0; oy < oh; ++oy) {
            const T* r0 = x.data + (std::size_t(c) * h + 2 * oy) * w;
            row(c, oy, r0, r0 + w);
        }
}

// Runs row(c, oy, d0, d1) for every output row, d0 and d1 the two dx rows of its windows, and
// zeroes what lies outside every window: the last column of an odd width, the last row of an
// odd height.
template <typename T, typename Row>
void backward_rows(TensorView<T> dx, int oh, int ow, Row row) {
    const int channels = dx.shape.c, h = dx.shape.h, w = dx.shape.w;
#pragma omp parallel for collapse(2) schedule(static)
    for (int c = 0; c < channels; ++c)
        for (int oy = 0; oy < oh; ++oy) {
            T* d0 = dx.data + (std::size_t(c) * h + 2 * oy) * w;
            T* d1 = d0 + w;
            row(c, oy, d0, d1);
            for (int xx = 2 * ow; xx < w; ++xx) d0[xx] = d1[xx] = T(0);
        }
    if (h > 2 * oh)
        for (int c = 0; c < channels; ++c) {
            T* d = dx.data + (std::size_t(c) * h + 2 * oh) * w;
            std::fill(d, d + w, T(0));
        }
}

// Which input of the window (a, b / c, d) is its first maximum in row-major order, as PyTorch's
// sequential `if (v > best)` scan: a wins ties with everything, b beats a strictly, c beats a
// and b strictly, d beats all three strictly. Branch-free so that the loops vectorise.
struct FirstMax {
    bool a, b, c, d;
};
template <typename T>
inline FirstMax first_max(T a, T b, T c, T d) {
    FirstMax m;
    m.d = d > a && d > b && d > c;
    m.c = !m.d && c > a && c > b;
    m.b = !m.d && !m.c && b > a;
    m.a = !m.d && !m.c && !m.b;
    return m;
}

}  // namespace

template <typename T>
void pool2x2_forward(TensorView<T> y, ConstView<T> x, Pooling kind) {
    check_pool_shapes(x.shape, y.shape, "pool2x2_forward");
    const int oh = y.shape.h, ow = y.shape.w;
    forward_rows(x, oh, [&](int c, int oy, const T* r0, const T* r1) {
        T* out = y.data + (std::size_t(c) * oh + oy) * ow;
        if (kind == Pooling::Max) {
            for (int ox = 0; ox < ow; ++ox)
                out[ox] = std::max(std::max(r0[2 * ox], r0[2 * ox + 1]), std::max(r1[2 * ox], r1[2 * ox + 1]));
        } else {
            for (int ox = 0; ox < ow; ++ox)
                out[ox] = T(0.25) * ((r0[2 * ox] + r0[2 * ox + 1]) + (r1[2 * ox] + r1[2 * ox + 1]));
        }
    });
}

template <typename T>
void pool2x2_backward(TensorView<T> dx, ConstView<T> dy, ConstView<T> x, Pooling kind) {
    check_pool_shapes(x.shape, dy.shape, "pool2x2_backward");
    NST_REQUIRE(dx.shape == x.shape, "pool2x2_backward: dx " + dx.shape.str() + " vs x " + x.shape.str());
    const int oh = dy.shape.h, ow = dy.shape.w;
    backward_rows(dx, oh, ow, [&](int c, int oy, T* d0, T* d1) {
        const T* g = dy.data + (std::size_t(c) * oh + oy) * ow;
        if (kind == Pooling::Avg) {
            for (int ox = 0; ox < ow; ++ox)
                d0[2 * ox] = d0[2 * ox + 1] = d1[2 * ox] = d1[2 * ox + 1] = T(0.25) * g[ox];
        } else {
            const T* x0 = x.data + (d0 - dx.data);  // x and dx have one shape
            const T* x1 = x0 + x.shape.w;
            for (int ox = 0; ox < ow; ++ox) {
                const FirstMax m = first_max(x0[2 * ox], x0[2 * ox + 1], x1[2 * ox], x1[2 * ox + 1]);
                d0[2 * ox] = m.a ? g[ox] : T(0);
                d0[2 * ox + 1] = m.b ? g[ox] : T(0);
                d1[2 * ox] = m.c ? g[ox] : T(0);
                d1[2 * ox + 1] = m.d ? g[ox] : T(0);
            }
        }
    });
}

template <typename T>
void pool2x2_forward_coded(TensorView<T> y, TensorView<std::uint8_t> code, ConstView<T> x, Pooling kind) {
    check_pool_shapes(x.shape, y.shape, "pool2x2_forward_coded");
    NST_REQUIRE(code.shape == y.shape, "pool2x2_forward_coded: code " + code.shape.str() + " vs y " + y.shape.str());
    const int oh = y.shape.h, ow = y.shape.w;
    forward_rows(x, oh, [&](int c, int oy, const T* r0, const T* r1) {
        const std::size_t at = (std::size_t(c) * oh + oy) * ow;
        T* out = y.data + at;
        std::uint8_t* k = code.data + at;
        for (int ox = 0; ox < ow; ++ox) {
            const T a = r0[2 * ox], b = r0[2 * ox + 1], cc = r1[2 * ox], d = r1[2 * ox + 1];
            if (kind == Pooling::Max) {
                out[ox] = std::max(std::max(a, b), std::max(cc, d));
                const FirstMax m = first_max(a, b, cc, d);
                const T won = m.d ? d : m.c ? cc : m.b ? b : a;
                k[ox] = won > T(0) ? std::uint8_t(m.a | m.b << 1 | m.c << 2 | m.d << 3) : std::uint8_t(0);
            } else {
                out[ox] = T(0.25) * ((a + b) + (cc + d));
                k[ox] = std::uint8_t((a > T(0)) | (b > T(0)) << 1 | (cc > T(0)) << 2 | (d > T(0)) << 3);
            }
        }
    });
}

template <typename T>
void pool2x2_backward_coded(TensorView<T> dx, ConstView<T> dy, ConstView<std::uint8_t> code, Pooling kind) {
    check_pool_shapes(dx.shape, dy.shape, "pool2x2_backward_coded");
    NST_REQUIRE(code.shape == dy.shape, "pool2x2_backward_coded: code " + code.shape.str() + " vs dy " + dy.shape.str());
    const int oh = dy.shape.h, ow = dy.shape.w;
    const bool avg = kind == Pooling::Avg;
    backward_rows(dx, oh, ow, [&](int c, int oy, T* d0, T* d1) {
        const std::size_t at = (std::size_t(c) * oh + oy) * ow;
        const T* g = dy.data + at;
        const std::uint8_t* k = code.data + at;
        for (int ox = 0; ox < ow; ++ox) {
            const T v = avg ? T(0.25) * g[ox] : g[ox];
            const unsigned m = k[ox];
            d0[2 * ox] = (m & 1u) ? v : T(0);
            d0[2 * ox + 1] = (m & 2u) ? v : T(0);
            d1[2 * ox] = (m & 4u) ? v : T(0);
            d1[2 * ox + 1] = (m & 8u) ? v : T(0);
        }
    });
}

#define NST_POOL_INSTANTIATE(T)                                                                               \
    template void pool2x2_forward<T>(TensorView<T>, ConstView<T>, Pooling);                                   \
    template void pool2x2_backward<T>(TensorView<T>, ConstView<T>, ConstView<T>, Pooling);                    \
    template void pool2x2_forward_coded<T>(TensorView<T>, TensorView<std::uint8_t>, ConstView<T>, Pooling);   \
    template void pool2x2_backward_coded<T>(TensorView<T>, ConstView<T>, ConstView<std::uint8_t>, Pooling);
NST_POOL_INSTANTIATE(float)
NST_POOL_INSTANTIATE(double)
#undef NST_POOL_INSTANTIATE

}  // namespace nst::cpu
