// SPDX-License-Identifier: MIT
// Convolution and transposed convolution of any kernel, stride and padding on a batch
// (nn/convolution.h). Two engines:
//   - im2col + BLAS GEMM, in row bands of the output so that the column matrix stays near
//     kColBudget bytes (conv1's 9x9 x 3 columns at 512 px would take 250 MB in one piece). It is
//     exact, serves every geometry, and is the double-precision reference.
//   - nn/conv2d's Winograd F(2x2, 3x3) for 3x3 stride-1 convolutions in float: reflection
//     padding is made explicit (one copy of the input) and the padded image convolved unpadded.
// Reflection padding goes through an explicit padded copy in both engines, and its gradient
// through the padded copy folded back (pad_backward), so the engines only ever zero-pad.
#include <cblas.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "nn/convolution_impl.h"
#include "nn/resample.h"

namespace nst::cpu {

namespace detail {

namespace {

constexpr std::size_t kColBudget = std::size_t(8) << 20;

void gemm(bool ta, bool tb, int m, int n, int k, const float* a, int lda, const float* b, int ldb, float beta, float* c,
          int ldc) {
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, 1.0f, a, lda,
                b, ldb, beta, c, ldc);
}
void gemm(bool ta, bool tb, int m, int n, int k, const double* a, int lda, const double* b, int ldb, double beta,
          double* c, int ldc) {
    cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, 1.0, a, lda,
                b, ldb, beta, c, ldc);
}

// The geometry of one zero-padded convolution of an image (h, w) into (ho, wo).
struct Geo {
    int channels, h, w, k, s, p, ho, wo;
    std::size_t col_rows() const { return std::size_t(channels) * k * k; }
};

// Output rows per band so that the column matrix (col_rows x rows wo) stays near the budget.
int band_rows(const Geo& g, std::size_t elem) {
    const std::size_t per_row = g.col_rows() * std::size_t(g.wo) * elem;
    return int(std::clamp<std::size_t>(kColBudget / std::max<std::size_t>(per_row, 1), 1, std::size_t(g.ho)));
}

// The output columns [lo, hi) whose source column ox s - p + kx lies inside the image.
void inside_columns(const Geo& g, int kx, int& lo, int& hi) {
    const int first = g.p - kx, last = g.w - 1 + g.p - kx;  // bounds of ox s
    lo = first <= 0 ? 0 : std::min((first + g.s - 1) / g.s, g.wo);
    hi = last < 0 ? lo : std::clamp(last / g.s + 1, lo, g.wo);
}

// col[(i k + ky) k + kx][(oy - oy0) wo + ox] = x[i][oy s - p + ky][ox s - p + kx] (0 outside).
template <typename T>
void im2col(T* col, const T* x, const Geo& g, int oy0, int oy1) {
    const std::size_t band = std::size_t(oy1 - oy0) * g.wo;
    const int kk = g.k * g.k;
#pragma omp parallel for schedule(static) collapse(2)
    for (int i = 0; i < g.channels; ++i)
        for (int kq = 0; kq < kk; ++kq) {
            const int ky = kq / g.k, kx = kq % g.k;
            const T* xi = x + std::size_t(i) * g.h * g.w;
            T* dst = col + (std::size_t(i) * kk + kq) * band;
            int lo, hi;
            inside_columns(g, kx, lo, hi);
            for (int oy = oy0; oy < oy1; ++oy) {
                T* d = dst + std::size_t(oy - oy0) * g.wo;
                const int sy = oy * g.s - g.p + ky;
                if (sy < 0 || sy >= g.h) {
                    std::fill(d, d + g.wo, T(0));
                    continue;
                }
                const T* srow = xi + std::size_t(sy) * g.w - g.p + kx;
                std::fill(d, d + lo, T(0));
                if (g.s == 1) {
                    std::memcpy(d + lo, srow + lo, std::size_t(hi - lo) * sizeof(T));
                } else if (g.s == 2) {  // a constant stride the compiler vectorises (permutes)
#pragma omp simd
                    for (int ox = lo; ox < hi; ++ox) d[ox] = srow[2 * std::ptrdiff_t(ox)];
                } else {
                    for (int ox = lo; ox < hi; ++ox) d[ox] = srow[std::ptrdiff_t(ox) * g.s];
                }
                std::fill(d + hi, d + g.wo, T(0));
            }
        }
}

// The adjoint of im2col: x[i][oy s - p + ky][ox s - p + kx] += col[...] (inside the image).
template <typename T>
void col2im_add(T* x, const T* col, const Geo& g, int oy0, int oy1) {
    const std::size_t band = std::size_t(oy1 - oy0) * g.wo;
    const int kk = g.k * g.k;
#pragma omp parallel for schedule(static)
    for (int i = 0; i < g.channels; ++i) {
        T* xi = x + std::size_t(i) * g.h * g.w;
        for (int kq = 0; kq < kk; ++kq) {
            const int ky = kq / g.k, kx = kq % g.k;
            const T* src = col + (std::size_t(i) * kk + kq) * band;
            int lo, hi;
            inside_columns(g, kx, lo, hi);
            for (int oy = oy0; oy < oy1; ++oy) {
                const int sy = oy * g.s - g.p + ky;
                if (sy < 0 || sy >= g.h) continue;
                const T* s = src + std::size_t(oy - oy0) * g.wo;
                T* drow = xi + std::size_t(sy) * g.w - g.p + kx;
                if (g.s == 1) {
#pragma omp simd
                    for (int ox = lo; ox < hi; ++ox) drow[ox] += s[ox];
                } else {
                    for (int ox = lo; ox < hi; ++ox) drow[std::ptrdiff_t(ox) * g.s] += s[ox];
                }
            }
        }
    }
}

// The band loop of the im2col paths: output rows [oy0, oy1) at a time, so that the column buffer
// (channels k k, rows x wo) stays within band_rows' budget. f(col, oy0, oy1, n), n = (oy1 - oy0) wo.
template <typename T, typename F>
void for_each_band(const Geo& g, F&& f) {
    const int rows = band_rows(g, sizeof(T));
    T* col = scratch<T>(ConvScratch::Col, g.col_rows() * std::size_t(rows) * g.wo);
    for (int oy0 = 0; oy0 < g.ho; oy0 += rows) {
        const int oy1 = std::min(g.ho, oy0 + rows);
        f(col, oy0, oy1, (oy1 - oy0) * g.wo);
    }
}

// y (O, ho, wo) = conv(x) (+ b, relu) by im2col + GEMM. w: (O, channels k k) row-major.
template <typename T>
void gemm_forward(T* y, const T* x, const T* w, const T* b, int out, const Geo& g, bool relu) {
    const std::size_t plane = std::size_t(g.ho) * g.wo;
    for_each_band<T>(g, [&](T* col, int oy0, int oy1, int n) {
        im2col(col, x, g, oy0, oy1);
        T* yb = y + std::size_t(oy0) * g.wo;
        gemm(false, false, out, n, int(g.col_rows()), w, int(g.col_rows()), col, n, T(0), yb, int(plane));
        if (b || relu) {
#pragma omp parallel for schedule(static)
            for (int o = 0; o < out; ++o) {
                T* yo = yb + std::size_t(o) * plane;
                const T bias = b ? b[o] : T(0);
                if (relu) {
#pragma omp simd
                    for (int j = 0; j < n; ++j) yo[j] = std::max(yo[j] + bias, T(0));
                } else {
#pragma omp simd
                    for (int j = 0; j < n; ++j) yo[j] += bias;
                }
            }
        }
    });
}

// dx (channels, h, w) = conv^T(dy (out, ho, wo)): GEMM with the transposed weights, then col2im.
// Assigns dx.
template <typename T>
void gemm_backward_data(T* dx, const T* dy, const T* w, int out, const Geo& g) {
    std::fill(dx, dx + std::size_t(g.channels) * g.h * g.w, T(0));
    const std::size_t plane = std::size_t(g.ho) * g.wo;
    for_each_band<T>(g, [&](T* col, int oy0, int oy1, int n) {
        gemm(true, false, int(g.col_rows()), n, out, w, int(g.col_rows()), dy + std::size_t(oy0) * g.wo, int(plane),
             T(0), col, n);
        col2im_add(dx, col, g, oy0, oy1);
    });
}

// dw (out, channels k k) += dy (out, ho, wo) col(x)^T.
template <typename T>
void gemm_backward_weights(T* dw, const T* dy, const T* x, int out, const Geo& g) {
    const std::size_t plane = std::size_t(g.ho) * g.wo;
    for_each_band<T>(g, [&](T* col, int oy0, int oy1, int n) {
        im2col(col, x, g, oy0, oy1);
        gemm(false, true, out, int(g.col_rows()), n, dy + std::size_t(oy0) * g.wo, int(plane), col, n, T(1), dw,
             int(g.col_rows()));
    });
}

// db (out) += sums of dy (N, out, ho, wo) over n, y, x, in double.
template <typename T>
void add_bias_grad(T* db, ConstView<T> dy) {
    const int out = dy.shape.c;
    const std::size_t plane = dy.shape.plane();
#pragma omp parallel for schedule(static)
    for (int o = 0; o < out; ++o) {
        double s = 0;
        for (int n = 0; n < dy.shape.n; ++n) {
            const T* d = dy.data + (std::size_t(n) * out + o) * plane;
            for (std::size_t j = 0; j < plane; ++j) s += double(d[j]);
        }
        db[o] += T(s);
    }
}

template <typename T>
TensorView<T> image(TensorView<T> t, int n) {
    Shape s = t.shape;
    s.n = 1;
    return {t.data + std::size_t(n) * s.numel(), s, t.device};
}

int conv_out(int in, int k, int s, int p) { return in + 2 * p < k ? 0 : (in + 2 * p - k) / s + 1; }

void check_conv(const Shape& y, const Shape& x, const Shape& w, const ConvGeometry& g, const char* what) {
    NST_REQUIRE(g.kernel > 0 && g.stride > 0 && g.pad >= 0, std::string(what) + ": bad geometry");
    NST_REQUIRE(w.n == y.c && w.c == x.c && w.h == g.kernel && w.w == g.kernel && x.n == y.n,
                std::string(what) + ": weights " + w.str() + " do not fit x " + x.str() + " -> y " + y.str());
    NST_REQUIRE(y.h == conv_out(x.h, g.kernel, g.stride, g.pad) && y.w == conv_out(x.w, g.kernel, g.stride, g.pad) &&
                    y.h > 0 && y.w > 0,
                std::string(what) + ": y " + y.str() + " is not the output size of x " + x.str());
    NST_REQUIRE(g.pad_mode == PadMode::Zero || (g.pad < x.h && g.pad < x.w),
                std::string(what) + ": reflection padding needs pad < H and pad < W");
}

}  // namespace

template <typename T>
ConvFilters<T> make_conv_filters(ConstView<T> w, const ConvGeometry& g, bool for_backward) {
    ConvFilters<T> f;
    if (!winograd_applies<T>(g.kernel, g.stride)) return f;
    f.forward = WinogradFilter<T>(w);
    if (for_backward) f.backward = WinogradFilter<T>(flip_weights(w).cview());
    return f;
}

template <typename T>
void conv2d_forward_with(TensorView<T> y, ConstView<T> x, ConstView<T> w, ConstView<T> b, const ConvGeometry& g,
                         const ConvFilters<T>* f, bool relu) {
    check_conv(y.shape, x.shape, w.shape, g, "conv2d_forward");
    NST_REQUIRE(b.empty() || b.numel() == std::size_t(y.shape.c), "conv2d_forward: bias must be (1, O, 1, 1)");
    const int in = x.shape.c, out = y.shape.c;
    const bool direct = direct_applies<T>(g.kernel, g.stride);
    // Reflection padding, and any padding of the direct kernel, is made explicit.
    const bool explicit_pad = g.pad > 0 && (g.pad_mode == PadMode::Reflect || direct);
    const int p = explicit_pad ? 0 : g.pad;
    const Shape xs{1, in, x.shape.h + (explicit_pad ? 2 * g.pad : 0), x.shape.w + (explicit_pad ? 2 * g.pad : 0)};
    const bool wino = !direct && winograd_applies<T>(g.kernel, g.stride) && (p == 0 || p == 1);
    ConvFilters<T> local;
    if (wino && (!f || f->forward.empty())) {
        local.forward = WinogradFilter<T>(w);
        f = &local;
    }
    for (int n = 0; n < x.shape.n; ++n) {
        ConstView<T> xn = image(x, n);
        TensorView<T> yn = image(y, n);
        if (explicit_pad) {
            T* xp = scratch<T>(ConvScratch::Padded, xs.numel());
            pad_forward(TensorView<T>(xp, xs), xn, g.pad, g.pad_mode);
            xn = ConstView<T>(xp, xs);
        }
        if constexpr (std::is_same_v<T, float>) {
            if (direct) {
                direct_conv_valid(yn.data, xn.data, w.data, b.empty() ? nullptr : b.data, in, out, g.kernel, xs.h, xs.w,
                                  relu);
                continue;
            }
        }
        if (wino) {
            ConvEpilogue<T> ep;
            ep.bias = b.empty() ? nullptr : b.data;
            ep.relu = relu;
            winograd_forward(yn, xn, f->forward, ep, /*unpadded=*/p == 0);
        } else {
            const Geo geo{in, xs.h, xs.w, g.kernel, g.stride, p, y.shape.h, y.shape.w};
            gemm_forward(yn.data, xn.data, w.data, b.empty() ? nullptr : b.data, out, geo, relu);
        }
    }
}

template <typename T>
void conv2d_backward_data_with(TensorView<T> dx, ConstView<T> dy, ConstView<T> w, const ConvGeometry& g,
                               const ConvFilters<T>* f) {
    check_conv(dy.shape, dx.shape, w.shape, g, "conv2d_backward_data");
    const int in = dx.shape.c, out = dy.shape.c;
    const bool direct = direct_applies<T>(g.kernel, g.stride);
    const bool explicit_pad = g.pad > 0 && (g.pad_mode == PadMode::Reflect || direct);
    const bool reflect = explicit_pad;  // the gradient of the padded input is folded back
    const int p = explicit_pad ? 0 : g.pad;
    const Shape xs{1, in, dx.shape.h + (explicit_pad ? 2 * g.pad : 0), dx.shape.w + (explicit_pad ? 2 * g.pad : 0)};
    const bool wino = !direct && winograd_applies<T>(g.kernel, g.stride) && (p == 0 || p == 1);
    // The direct kernel's form of the data gradient: the unpadded convolution of dy zero-padded
    // by k - 1 with the flipped weights wf[i][o][ky][kx] = w[o][i][k-1-ky][k-1-kx].
    std::vector<T> flipped;
    if (direct) {
        const int k = g.kernel;
        flipped.resize(w.numel());
        for (int o = 0; o < out; ++o)
            for (int i = 0; i < in; ++i)
                for (int q = 0; q < k * k; ++q)
                    flipped[(std::size_t(i) * out + o) * k * k + q] = w.data[(std::size_t(o) * in + i) * k * k + k * k - 1 - q];
    }
    ConvFilters<T> local;
    if (wino && (!f || f->backward.empty())) {
        local.backward = WinogradFilter<T>(flip_weights(w).cview());
        f = &local;
    }
    for (int n = 0; n < dy.shape.n; ++n) {
        ConstView<T> dyn = image(dy, n);
        TensorView<T> dxn = image(dx, n);
        TensorView<T> dst = reflect ? TensorView<T>(scratch<T>(ConvScratch::PaddedGrad, xs.numel()), xs) : dxn;
        if constexpr (std::is_same_v<T, float>) {
            if (direct) {
                const int e = g.kernel - 1;
                const Shape ds{1, out, dyn.shape.h + 2 * e, dyn.shape.w + 2 * e};
                T* dyp = scratch<T>(ConvScratch::PaddedDy, ds.numel());
                pad_forward(TensorView<T>(dyp, ds), dyn, e, PadMode::Zero);
                direct_conv_valid(dst.data, dyp, flipped.data(), nullptr, out, in, g.kernel, ds.h, ds.w, false);
                if (explicit_pad) pad_backward(dxn, ConstView<T>(dst), g.pad, g.pad_mode);
                continue;
            }
        }
        if (wino) {
            // The data gradient of a 3x3 stride-1 convolution is the "same" convolution with the
            // flipped filter of dy zero-padded to the input's size: by one pixel when the forward
            // pass was unpadded, not at all when it zero-padded by one.
            if (p == 0) {
                const Shape ds{1, out, dyn.shape.h + 2, dyn.shape.w + 2};
                T* dyp = scratch<T>(ConvScratch::PaddedDy, ds.numel());
                pad_forward(TensorView<T>(dyp, ds), dyn, 1, PadMode::Zero);
                dyn = ConstView<T>(dyp, ds);
            }
            winograd_forward(dst, dyn, f->backward, ConvEpilogue<T>{});
        } else {
            const Geo geo{in, xs.h, xs.w, g.kernel, g.stride, p, dy.shape.h, dy.shape.w};
            gemm_backward_data(dst.data, dyn.data, w.data, out, geo);
        }
        if (reflect) pad_backward(dxn, ConstView<T>(dst), g.pad, g.pad_mode);
    }
}

template ConvFilters<float> make_conv_filters<float>(ConstView<float>, const ConvGeometry&, bool);
template ConvFilters<double> make_conv_filters<double>(ConstView<double>, const ConvGeometry&, bool);
template void conv2d_forward_with<float>(TensorView<float>, ConstView<float>, ConstView<float>, ConstView<float>,
                                         const ConvGeometry&, const ConvFilters<float>*, bool);
template void conv2d_forward_with<double>(TensorView<double>, ConstView<double>, ConstView<double>, ConstView<double>,
                                          const ConvGeometry&, const ConvFilters<double>*, bool);
template void conv2d_backward_data_with<float>(TensorView<float>, ConstView<float>, ConstView<float>,
                                               const ConvGeometry&, const ConvFilters<float>*);
template void conv2d_backward_data_with<double>(TensorView<double>, ConstView<double>, ConstView<double>,
                                                const ConvGeometry&, const ConvFilters<double>*);

void shifted_weight_grad(TensorView<float> dw, ConstView<float> dy, ConstView<float> x, const ConvGeometry& g);

// Used by the transposed convolution below.
template <typename T>
void conv_backward_weights_batch(TensorView<T> dw, ConstView<T> dy, ConstView<T> x, const ConvGeometry& g) {
    const int in = x.shape.c, out = dy.shape.c;
    if constexpr (std::is_same_v<T, float>) {
        if (direct_applies<T>(g.kernel, g.stride)) {
            // The whole padded batch at once: the kernel's tasks each sweep all images.
            const Shape ps{x.shape.n, in, x.shape.h + 2 * g.pad, x.shape.w + 2 * g.pad};
            const T* xp = x.data;
            if (g.pad > 0) {
                T* buf = scratch<T>(ConvScratch::Padded, ps.numel());
                pad_forward(TensorView<T>(buf, ps), x, g.pad, g.pad_mode);
                xp = buf;
            }
            direct_weight_grad(dw.data, dy.data, xp, x.shape.n, in, out, g.kernel, ps.h, ps.w);
            return;
        }
        if (g.stride == 1) {
            shifted_weight_grad(dw, dy, x, g);
            return;
        }
    }
    const bool reflect = g.pad_mode == PadMode::Reflect && g.pad > 0;
    const int p = reflect ? 0 : g.pad;
    const Shape xs{1, in, x.shape.h + (reflect ? 2 * g.pad : 0), x.shape.w + (reflect ? 2 * g.pad : 0)};
    for (int n = 0; n < x.shape.n; ++n) {
        ConstView<T> xn = image(x, n);
        if (reflect) {
            T* xp = scratch<T>(ConvScratch::Padded, xs.numel());
            pad_forward(TensorView<T>(xp, xs), xn, g.pad, PadMode::Reflect);
            xn = ConstView<T>(xp, xs);
        }
        const Geo geo{in, xs.h, xs.w, g.kernel, g.stride, p, dy.shape.h, dy.shape.w};
        gemm_backward_weights(dw.data, image(dy, n).data, xn.data, out, geo);
    }
}

// The weight gradient of a stride-1 convolution in float without a column matrix. With dy
// widened to the padded input's row length wp (zeros in the extra k - 1 columns), the input seen
// through offset ky wp + kx with row length wp is a plain strided matrix, so
//   dW[:, :, ky, kx] += dy' (O x ho wp) xp[off ...]^T (ho wp x I),
// one GEMM per kernel position into a (k k, O, I) buffer that is scattered into dw once. The
// products of the extra columns are zero; the last position reads k - 2 values past the padded
// plane, kept zero in the buffer.
//
// Threads take (kernel position, half of the output channels) tasks, each running its GEMMs
// single-threaded over the whole batch: three parallel regions per layer instead of OpenBLAS's
// synchronisation inside k^2 N small GEMMs, which on a loaded machine (a thread descheduled at
// each barrier) cost more than the arithmetic.
void shifted_weight_grad(TensorView<float> dw, ConstView<float> dy, ConstView<float> x, const ConvGeometry& g) {
    const int batch = x.shape.n, in = x.shape.c, out = dy.shape.c, k = g.kernel, ho = dy.shape.h, wo = dy.shape.w;
    const Shape ps{1, in, x.shape.h + 2 * g.pad, x.shape.w + 2 * g.pad};
    const int wp = ps.w;
    const std::size_t x_plane = ps.plane(), x_image = ps.numel(), cols = std::size_t(ho) * wp;
    const std::size_t slack = std::size_t(k);
    float* xp = scratch<float>(ConvScratch::Padded, batch * x_image + slack);
    float* dyw = scratch<float>(ConvScratch::PaddedDy, std::size_t(batch) * out * cols);
    const int kk = k * k;
    float* acc = scratch<float>(ConvScratch::Col, std::size_t(kk) * out * in);
    std::fill(xp + batch * x_image, xp + batch * x_image + slack, 0.0f);
    if (g.pad > 0) {
        pad_forward(TensorView<float>(xp, Shape{batch, in, ps.h, ps.w}), x, g.pad, g.pad_mode);
    } else {
        std::copy(x.data, x.data + x.numel(), xp);
    }
#pragma omp parallel for schedule(static) collapse(2)
    for (int n = 0; n < batch; ++n)
        for (int o = 0; o < out; ++o) {
            const float* src = dy.data + (std::size_t(n) * out + o) * ho * wo;
            float* d = dyw + (std::size_t(n) * out + o) * cols;
            for (int r = 0; r < ho; ++r) {
                std::copy(src + std::size_t(r) * wo, src + std::size_t(r + 1) * wo, d + std::size_t(r) * wp);
                std::fill(d + std::size_t(r) * wp + wo, d + std::size_t(r + 1) * wp, 0.0f);
            }
        }
    const int halves = out >= 16 ? 2 : 1;
    const int rows = (out + halves - 1) / halves;
#pragma omp parallel for schedule(dynamic)
    for (int task = 0; task < kk * halves; ++task) {
        const int q = task / halves, o0 = (task % halves) * rows, m = std::min(rows, out - o0);
        const std::size_t off = std::size_t(q / k) * wp + std::size_t(q % k);
        float* c = acc + (std::size_t(q) * out + o0) * in;
        for (int n = 0; n < batch; ++n)
            gemm(false, true, m, in, int(cols), dyw + (std::size_t(n) * out + o0) * cols, int(cols),
                 xp + n * x_image + off, int(x_plane), n == 0 ? 0.0f : 1.0f, c, in);
    }
#pragma omp parallel for schedule(static)
    for (int o = 0; o < out; ++o)
        for (int i = 0; i < in; ++i)
            for (int q = 0; q < kk; ++q)
                dw.data[(std::size_t(o) * in + i) * kk + q] += acc[(std::size_t(q) * out + o) * in + i];
}

}  // namespace detail

template <typename T>
void conv2d_forward(TensorView<T> y, ConstView<T> x, ConstView<T> w, ConstView<T> b, const ConvGeometry& g) {
    detail::conv2d_forward_with<T>(y, x, w, b, g, nullptr);
}

template <typename T>
void conv2d_backward_data(TensorView<T> dx, ConstView<T> dy, ConstView<T> w, const ConvGeometry& g) {
    detail::conv2d_backward_data_with<T>(dx, dy, w, g, nullptr);
}

template <typename T>
void conv2d_backward_params(TensorView<T> dw, TensorView<T> db, ConstView<T> dy, ConstView<T> x,
                            const ConvGeometry& g) {
    detail::check_conv(dy.shape, x.shape, dw.shape, g, "conv2d_backward_params");
    NST_REQUIRE(db.empty() || db.numel() == std::size_t(dy.shape.c), "conv2d_backward_params: db must be (1, O, 1, 1)");
    detail::conv_backward_weights_batch(dw, dy, x, g);
    if (!db.empty()) detail::add_bias_grad(db.data, dy);
}

namespace {

// The transposed convolution is the data gradient of the convolution with weights (I, O, k, k)
// mapping O channels at (ho, wo) to I channels at (h, w).
ConvGeometry transpose_geometry(const Shape& w, int stride, int pad) {
    ConvGeometry g;
    g.kernel = w.h;
    g.stride = stride;
    g.pad = pad;
    return g;
}

void check_transpose(const Shape& y, const Shape& x, const Shape& w, int stride, int pad, const char* what) {
    NST_REQUIRE(w.h == w.w && w.n == x.c && w.c == y.c && x.n == y.n,
                std::string(what) + ": weights " + w.str() + " do not fit x " + x.str() + " -> y " + y.str());
    const int extra_h = y.h - ((x.h - 1) * stride - 2 * pad + w.h), extra_w = y.w - ((x.w - 1) * stride - 2 * pad + w.w);
    NST_REQUIRE(extra_h >= 0 && extra_h < std::max(stride, 1) && extra_w >= 0 && extra_w < std::max(stride, 1),
                std::string(what) + ": y " + y.str() + " is not an output size of x " + x.str());
}

}  // namespace

template <typename T>
void conv_transpose2d_forward(TensorView<T> y, ConstView<T> x, ConstView<T> w, ConstView<T> b, int stride, int pad) {
    check_transpose(y.shape, x.shape, w.shape, stride, pad, "conv_transpose2d_forward");
    NST_REQUIRE(b.empty() || b.numel() == std::size_t(y.shape.c), "conv_transpose2d_forward: bias must be (1, O, 1, 1)");
    const int out = y.shape.c, in = x.shape.c;
    const detail::Geo geo{out, y.shape.h, y.shape.w, w.shape.h, stride, pad, x.shape.h, x.shape.w};
    for (int n = 0; n < x.shape.n; ++n) {
        T* yn = detail::image(y, n).data;
        detail::gemm_backward_data(yn, detail::image(x, n).data, w.data, in, geo);
        if (!b.empty()) {
            const std::size_t plane = y.shape.plane();
#pragma omp parallel for schedule(static)
            for (int o = 0; o < out; ++o)
                for (std::size_t j = 0; j < plane; ++j) yn[std::size_t(o) * plane + j] += b[std::size_t(o)];
        }
    }
}

template <typename T>
void conv_transpose2d_backward_data(TensorView<T> dx, ConstView<T> dy, ConstView<T> w, int stride, int pad) {
    check_transpose(dy.shape, dx.shape, w.shape, stride, pad, "conv_transpose2d_backward_data");
    conv2d_forward<T>(dx, dy, w, ConstView<T>(), transpose_geometry(w.shape, stride, pad));
}

template <typename T>
void conv_transpose2d_backward_params(TensorView<T> dw, TensorView<T> db, ConstView<T> dy, ConstView<T> x, int stride,
                                      int pad) {
    check_transpose(dy.shape, x.shape, dw.shape, stride, pad, "conv_transpose2d_backward_params");
    // As a convolution: x plays its output gradient, dy its input.
    detail::conv_backward_weights_batch(dw, x, dy, transpose_geometry(dw.shape, stride, pad));
    if (!db.empty()) detail::add_bias_grad(db.data, dy);
}

#define NST_CONV_INSTANTIATE(T)                                                                                      \
    template void conv2d_forward<T>(TensorView<T>, ConstView<T>, ConstView<T>, ConstView<T>, const ConvGeometry&);  \
    template void conv2d_backward_data<T>(TensorView<T>, ConstView<T>, ConstView<T>, const ConvGeometry&);          \
    template void conv2d_backward_params<T>(TensorView<T>, TensorView<T>, ConstView<T>, ConstView<T>,               \
                                            const ConvGeometry&);                                                  \
    template void conv_transpose2d_forward<T>(TensorView<T>, ConstView<T>, ConstView<T>, ConstView<T>, int, int);   \
    template void conv_transpose2d_backward_data<T>(TensorView<T>, ConstView<T>, ConstView<T>, int, int);           \
    template void conv_transpose2d_backward_params<T>(TensorView<T>, TensorView<T>, ConstView<T>, ConstView<T>, int, \
                                                      int);
NST_CONV_INSTANTIATE(float)
NST_CONV_INSTANTIATE(double)
#undef NST_CONV_INSTANTIATE

}  // namespace nst::cpu
