// SPDX-License-Identifier: MIT
#include "nn/pool.h"

#include <algorithm>

namespace nst::cpu {

namespace {

void check_pool_shapes(const Shape& x, const Shape& y, const char* what) {
    NST_REQUIRE(x.n == 1 && y.n == 1 && x.c == y.c && y.h == x.h / 2 && y.w == x.w / 2,
                std::string(what) + ": x " + x.str() + " and y " + y.str() + " are not a 2x2 floor-mode pooling");
}

}  // namespace

template <typename T>
void pool2x2_forward(TensorView<T> y, ConstView<T> x, Pooling kind) {
    check_pool_shapes(x.shape, y.shape, "pool2x2_forward");
    const int channels = x.shape.c, h = x.shape.h, w = x.shape.w, oh = y.shape.h, ow = y.shape.w;
#pragma omp parallel for collapse(2) schedule(static)
    for (int c = 0; c < channels; ++c)
        for (int oy = 0; oy < oh; ++oy) {
            const T* r0 = x.data + (std::size_t(c) * h + 2 * oy) * w;
            const T* r1 = r0 + w;
            T* out = y.data + (std::size_t(c) * oh + oy) * ow;
            if (kind == Pooling::Max) {
                for (int ox = 0; ox < ow; ++ox)
                    out[ox] = std::max(std::max(r0[2 * ox], r0[2 * ox + 1]), std::max(r1[2 * ox], r1[2 * ox + 1]));
            } else {
                for (int ox = 0; ox < ow; ++ox)
                    out[ox] = T(0.25) * ((r0[2 * ox] + r0[2 * ox + 1]) + (r1[2 * ox] + r1[2 * ox + 1]));
            }
        }
}

template <typename T>
void pool2x2_backward(TensorView<T> dx, ConstView<T> dy, ConstView<T> x, Pooling kind) {
    check_pool_shapes(x.shape, dy.shape, "pool2x2_backward");
    NST_REQUIRE(dx.shape == x.shape, "pool2x2_backward: dx " + dx.shape.str() + " vs x " + x.shape.str());
    const int channels = x.shape.c, h = x.shape.h, w = x.shape.w, oh = dy.shape.h, ow = dy.shape.w;
#pragma omp parallel for collapse(2) schedule(static)
    for (int c = 0; c < channels; ++c)
        for (int oy = 0; oy < oh; ++oy) {
            const T* g = dy.data + (std::size_t(c) * oh + oy) * ow;
            const std::size_t row0 = (std::size_t(c) * h + 2 * oy) * w;
            T* d0 = dx.data + row0;
            T* d1 = d0 + w;
            if (kind == Pooling::Avg) {
                for (int ox = 0; ox < ow; ++ox)
                    d0[2 * ox] = d0[2 * ox + 1] = d1[2 * ox] = d1[2 * ox + 1] = T(0.25) * g[ox];
            } else {
                // The first maximum in row-major order (a, b / c, d) takes the gradient, as
                // PyTorch's sequential `if (v > best)` scan: a wins ties with everything,
                // b beats a strictly, c beats a and b strictly, d beats all three strictly.
                // Branch-free so that the loop vectorises.
                const T* x0 = x.data + row0;
                const T* x1 = x0 + w;
                for (int ox = 0; ox < ow; ++ox) {
                    const T a = x0[2 * ox], b = x0[2 * ox + 1], cc = x1[2 * ox], d = x1[2 * ox + 1];
                    const bool take_d = d > a && d > b && d > cc;
                    const bool take_c = !take_d && cc > a && cc > b;
                    const bool take_b = !take_d && !take_c && b > a;
                    const bool take_a = !take_d && !take_c && !take_b;
                    d0[2 * ox] = take_a ? g[ox] : T(0);
                    d0[2 * ox + 1] = take_b ? g[ox] : T(0);
                    d1[2 * ox] = take_c ? g[ox] : T(0);
                    d1[2 * ox + 1] = take_d ? g[ox] : T(0);
                }
            }
            // An odd width leaves a last column outside every window.
            for (int xx = 2 * ow; xx < w; ++xx) d0[xx] = d1[xx] = T(0);
        }
    // An odd height leaves a last row outside every window.
    if (h > 2 * oh)
        for (int c = 0; c < channels; ++c) {
            T* d = dx.data + (std::size_t(c) * h + 2 * oh) * w;
            std::fill(d, d + w, T(0));
        }
}

template void pool2x2_forward<float>(TensorView<float>, ConstView<float>, Pooling);
template void pool2x2_forward<double>(TensorView<double>, ConstView<double>, Pooling);
template void pool2x2_backward<float>(TensorView<float>, ConstView<float>, ConstView<float>, Pooling);
template void pool2x2_backward<double>(TensorView<double>, ConstView<double>, ConstView<double>, Pooling);

}  // namespace nst::cpu
