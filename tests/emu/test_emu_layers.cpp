// SPDX-License-Identifier: MIT
// The feed-forward network's layer kernels under emulation (kernels/instance_norm.cu,
// resample.cu, pooling.cu, conv_bias.cu) against references written here from the layers'
// definitions: forward by the formula, backward as the transposed (scatter) form of the forward
// (the kernels gather), all in double; and against their CPU twins (nn/instance_norm.h,
// nn/resample.h, nn/pooling.h), which sum in other orders, to the same bounds.
//
// Copies and selects (padding, upsampling, max pooling forward, the cropped add) must be
// bit-identical. Everything else is compared as max |kernel - reference| / max |reference| per
// tensor: the kernels' float results of double sums are within a few float ulps (~1e-7) of the
// double references; sums of a few floats in float (pad / upsample / pool backward) likewise.
// The bound 2e-6 leaves room for that and nothing else: an indexing error gives O(1).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "cuda_emu.h"
#include "emu_test_util.h"
#include "kernels/conv_bias.h"
#include "kernels/instance_norm.h"
#include "kernels/pooling.h"
#include "kernels/resample.h"
#include "nn/instance_norm.h"
#include "nn/pooling.h"
#include "nn/resample.h"

using nst::emu_test::Guarded;
using nst::emu_test::describe_difference;
using nst::emu_test::fill_normal;
using nst::emu_test::fill_uniform;

namespace {

constexpr double kTol = 2e-6;

// max |a - ref| / max |ref| (0 when ref is all zeros and a equals it).
template <typename A>
double rel_max_err(const A& a, const std::vector<double>& ref) {
    double err = 0, scale = 0;
    for (std::size_t i = 0; i < ref.size(); ++i) {
        err = std::max(err, std::fabs(double(a[i]) - ref[i]));
        scale = std::max(scale, std::fabs(ref[i]));
    }
    if (!(err == err)) return INFINITY;  // NaN
    return scale > 0 ? err / scale : err;
}

struct Nchw {
    int n, c, h, w;
    std::size_t numel() const { return std::size_t(n) * c * h * w; }
    std::size_t plane() const { return std::size_t(h) * w; }
};

}  // namespace

TEST_CASE("emu: instance norm forward and backward vs double reference") {
    const Nchw shapes[] = {{1, 1, 1, 1}, {2, 3, 5, 7}, {2, 4, 33, 31}, {1, 2, 64, 70}};
    std::uint64_t stream = 1200;
    for (const Nchw& s : shapes)
        for (bool affine : {false, true})
            for (bool relu : {false, true}) {
                INFO("N C H W = " << s.n << " " << s.c << " " << s.h << " " << s.w << "  affine " << affine
                                  << "  relu " << relu);
                const std::size_t n = s.numel(), plane = s.plane(), planes = std::size_t(s.n) * s.c;
                Guarded<float> x(n), y(n, 0, NAN), mean(planes, 0, NAN), inv(planes, 0, NAN), gamma(std::size_t(s.c)),
                    beta(std::size_t(s.c)), dy(n), dx(n, 0, NAN), dgamma(std::size_t(s.c)), dbeta(std::size_t(s.c));
                // A large common offset: the two-pass variance must not cancel.
                fill_normal(x.data(), n, stream++, 3.0);
                for (std::size_t i = 0; i < n; ++i) x[i] += 100.f;
                fill_uniform(gamma.data(), gamma.size(), stream++, 0.5, 1.5);
                fill_normal(beta.data(), beta.size(), stream++, 0.5);
                fill_normal(dy.data(), n, stream++);
                fill_normal(dgamma.data(), dgamma.size(), stream++);  // += onto existing gradients
                fill_normal(dbeta.data(), dbeta.size(), stream++);
                const double eps = 1e-5;
                const float* g = affine ? gamma.data() : nullptr;
                const float* b = affine ? beta.data() : nullptr;

                nst::kernels::instance_norm_forward(y.data(), mean.data(), inv.data(), x.data(), g, b, s.n, s.c, plane,
                                                    eps, relu, nullptr);
                std::vector<double> y_ref(n), mean_ref(planes), inv_ref(planes), dx_ref(n);
                std::vector<double> dgamma_ref(std::size_t(s.c)), dbeta_ref(std::size_t(s.c));
                for (int c = 0; c < s.c; ++c) {
                    dgamma_ref[std::size_t(c)] = dgamma[std::size_t(c)];
                    dbeta_ref[std::size_t(c)] = dbeta[std::size_t(c)];
                }
                for (std::size_t p = 0; p < planes; ++p) {
                    const int c = int(p % std::size_t(s.c));
                    const float* xp = x.data() + p * plane;
                    double m = 0, v = 0;
                    for (std::size_t i = 0; i < plane; ++i) m += xp[i];
                    m /= double(plane);
                    for (std::size_t i = 0; i < plane; ++i) v += (xp[i] - m) * (xp[i] - m);
                    v /= double(plane);
                    const double is = 1 / std::sqrt(v + eps);
                    mean_ref[p] = m;
                    inv_ref[p] = is;
                    const double gc = affine ? gamma[std::size_t(c)] : 1.0, bc = affine ? beta[std::size_t(c)] : 0.0;
                    // Backward: the ReLU mask follows the kernel's output (its decisions).
                    double sg = 0, sgx = 0;
                    std::vector<double> gi(plane), xhat(plane);
                    for (std::size_t i = 0; i < plane; ++i) {
                        xhat[i] = (xp[i] - m) * is;
                        const double yi = gc * xhat[i] + bc;
                        y_ref[p * plane + i] = relu ? std::max(yi, 0.0) : yi;
                        gi[i] = relu && !(y[p * plane + i] > 0.f) ? 0.0 : double(dy[p * plane + i]);
                        sg += gi[i];
                        sgx += gi[i] * xhat[i];
                    }
                    for (std::size_t i = 0; i < plane; ++i)
                        dx_ref[p * plane + i] = gc * is * (gi[i] - sg / double(plane) - xhat[i] * sgx / double(plane));
                    dgamma_ref[std::size_t(c)] += sgx;
                    dbeta_ref[std::size_t(c)] += sg;
                }
                CHECK(rel_max_err(y, y_ref) < kTol);
                CHECK(rel_max_err(mean, mean_ref) < kTol);
                CHECK(rel_max_err(inv, inv_ref) < kTol);

                // In place (dx aliases dy), with and without parameter gradients.
                Guarded<double> partials(2 * planes, 0, NAN);
                nst::kernels::instance_norm_backward(dx.data(), affine ? dgamma.data() : nullptr,
                                                     affine ? dbeta.data() : nullptr, dy.data(), x.data(), mean.data(),
                                                     inv.data(), g, relu ? y.data() : nullptr, partials.data(), s.n, s.c,
                                                     plane, nullptr);
                REQUIRE(partials.intact());
                CHECK(rel_max_err(dx, dx_ref) < 1e-5);  // float mean / inv_std (rel 6e-8) times a large offset
                if (affine) {
                    CHECK(rel_max_err(dgamma, dgamma_ref) < kTol);
                    CHECK(rel_max_err(dbeta, dbeta_ref) < kTol);
                }
                nst::kernels::instance_norm_backward(dy.data(), nullptr, nullptr, dy.data(), x.data(), mean.data(),
                                                     inv.data(), g, relu ? y.data() : nullptr, nullptr, s.n, s.c, plane,
                                                     nullptr);
                CHECK(describe_difference(dy.data(), dx.data(), n) == "bit-identical");
                REQUIRE((x.intact() && y.intact() && mean.intact() && inv.intact() && dx.intact() && dy.intact() &&
                         dgamma.intact() && dbeta.intact()));
            }
}

TEST_CASE("emu: padding forward and backward vs double reference") {
    const Nchw shapes[] = {{1, 1, 2, 2}, {2, 3, 5, 7}, {1, 2, 9, 40}, {2, 1, 45, 43}};
    std::uint64_t stream = 1300;
    for (const Nchw& s : shapes)
        for (int pad : {1, 4, 40})
            for (bool reflect : {false, true}) {
                if (reflect && (pad >= s.h || pad >= s.w)) continue;
                INFO("N C H W = " << s.n << " " << s.c << " " << s.h << " " << s.w << "  pad " << pad << "  reflect "
                                  << reflect);
                const int ph = s.h + 2 * pad, pw = s.w + 2 * pad, planes = s.n * s.c;
                const std::size_t n = s.numel(), np = std::size_t(planes) * ph * pw;
                Guarded<float> x(n), y(np, 0, NAN), dy(np), dx(n, 0, NAN);
                fill_normal(x.data(), n, stream++);
                fill_normal(dy.data(), np, stream++);
                auto src = [&](int t, int len) {
                    if (t >= 0 && t < len) return t;
                    if (!reflect) return -1;
                    return t < 0 ? -t : 2 * (len - 1) - t;
                };
                std::vector<float> y_ref(np);
                std::vector<double> dx_ref(n, 0.0);
                for (int p = 0; p < planes; ++p)
                    for (int oy = 0; oy < ph; ++oy)
                        for (int ox = 0; ox < pw; ++ox) {
                            const int sy = src(oy - pad, s.h), sx = src(ox - pad, s.w);
                            const std::size_t o = (std::size_t(p) * ph + oy) * pw + ox;
                            if (sy < 0 || sx < 0) {
                                y_ref[o] = 0.f;
                                continue;
                            }
                            const std::size_t i = (std::size_t(p) * s.h + sy) * s.w + sx;
                            y_ref[o] = x[i];
                            dx_ref[i] += dy[o];
                        }
                nst::kernels::pad_forward(y.data(), x.data(), planes, s.h, s.w, pad, reflect, nullptr);
                nst::kernels::pad_backward(dx.data(), dy.data(), planes, s.h, s.w, pad, reflect, nullptr);
                REQUIRE((y.intact() && dx.intact()));
                CHECK(describe_difference(y.data(), y_ref.data(), np) == "bit-identical");
                CHECK(rel_max_err(dx, dx_ref) < kTol);
            }
}

TEST_CASE("emu: nearest upsampling forward and backward vs double reference") {
    const Nchw shapes[] = {{1, 1, 1, 1}, {2, 3, 5, 7}, {1, 4, 33, 20}};
    std::uint64_t stream = 1400;
    for (const Nchw& s : shapes)
        for (int f : {1, 2, 3}) {
            INFO("N C H W = " << s.n << " " << s.c << " " << s.h << " " << s.w << "  factor " << f);
            const int planes = s.n * s.c, oh = s.h * f, ow = s.w * f;
            const std::size_t n = s.numel(), no = std::size_t(planes) * oh * ow;
            Guarded<float> x(n), y(no, 0, NAN), dy(no), dx(n, 0, NAN);
            fill_normal(x.data(), n, stream++);
            fill_normal(dy.data(), no, stream++);
            std::vector<float> y_ref(no);
            std::vector<double> dx_ref(n, 0.0);
            for (int p = 0; p < planes; ++p)
                for (int oy = 0; oy < oh; ++oy)
                    for (int ox = 0; ox < ow; ++ox) {
                        const std::size_t o = (std::size_t(p) * oh + oy) * ow + ox;
                        const std::size_t i = (std::size_t(p) * s.h + oy / f) * s.w + ox / f;
                        y_ref[o] = x[i];
                        dx_ref[i] += dy[o];
                    }
            nst::kernels::upsample_nearest_forward(y.data(), x.data(), planes, s.h, s.w, f, nullptr);
            nst::kernels::upsample_nearest_backward(dx.data(), dy.data(), planes, s.h, s.w, f, nullptr);
            REQUIRE((y.intact() && dx.intact()));
            CHECK(describe_difference(y.data(), y_ref.data(), no) == "bit-identical");
            CHECK(rel_max_err(dx, dx_ref) < kTol);
        }
}

TEST_CASE("emu: cropped residual add forward and source gradient") {
    struct Case {
        Nchw s;
        int sh, sw;
    };
    const Case cases[] = {{{2, 3, 5, 7}, 5, 7}, {{2, 3, 5, 7}, 9, 11}, {{1, 4, 80, 76}, 84, 80}, {{1, 1, 1, 1}, 3, 5}};
    std::uint64_t stream = 1500;
    for (const Case& k : cases)
        for (bool in_place : {false, true}) {
            const Nchw& s = k.s;
            INFO("N C H W = " << s.n << " " << s.c << " " << s.h << " " << s.w << "  source " << k.sh << "x" << k.sw
                              << "  in place " << in_place);
            const int planes = s.n * s.c, top = (k.sh - s.h) / 2, left = (k.sw - s.w) / 2;
            const std::size_t n = s.numel(), ns = std::size_t(planes) * k.sh * k.sw;
            Guarded<float> x(n), src(ns), y(n, 0, NAN), dy(n), ds(ns);
            fill_normal(x.data(), n, stream++);
            fill_normal(src.data(), ns, stream++);
            fill_normal(dy.data(), n, stream++);
            fill_normal(ds.data(), ns, stream++);
            std::vector<float> y_ref(n), ds_ref = ds.to_vector();
            for (int p = 0; p < planes; ++p)
                for (int yy = 0; yy < s.h; ++yy)
                    for (int xx = 0; xx < s.w; ++xx) {
                        const std::size_t i = (std::size_t(p) * s.h + yy) * s.w + xx;
                        const std::size_t j = (std::size_t(p) * k.sh + yy + top) * k.sw + xx + left;
                        y_ref[i] = x[i] + src[j];
                        ds_ref[j] += dy[i];
                    }
            float* out = in_place ? x.data() : y.data();
            nst::kernels::add_cropped_forward(out, x.data(), src.data(), planes, s.h, s.w, k.sh, k.sw, nullptr);
            nst::kernels::add_cropped_backward_source(ds.data(), dy.data(), planes, s.h, s.w, k.sh, k.sw, nullptr);
            REQUIRE((x.intact() && y.intact() && ds.intact()));
            CHECK(describe_difference(out, y_ref.data(), n) == "bit-identical");
            CHECK(describe_difference(ds.data(), ds_ref.data(), ns) == "bit-identical");
        }
}

TEST_CASE("emu: scaled tanh forward and backward vs double reference") {
    const std::size_t sizes[] = {1, 257, 5000};
    std::uint64_t stream = 1600;
    for (std::size_t n : sizes)
        for (double scale : {1.0, 150.0}) {
            INFO("n = " << n << "  scale " << scale);
            Guarded<float> x(n), y(n, 0, NAN), dy(n), dx(n, 0, NAN);
            fill_normal(x.data(), n, stream++, 2.0);
            fill_normal(dy.data(), n, stream++);
            nst::kernels::tanh_forward(y.data(), x.data(), n, scale, nullptr);
            std::vector<double> y_ref(n), dx_ref(n);
            for (std::size_t i = 0; i < n; ++i) {
                y_ref[i] = scale * std::tanh(double(x[i]));
                // From the kernel's output, as the backward is defined.
                const double yi = y[i];
                dx_ref[i] = double(dy[i]) * (scale - yi * yi / scale);
            }
            CHECK(rel_max_err(y, y_ref) < kTol);
            nst::kernels::tanh_backward(dx.data(), dy.data(), y.data(), n, scale, nullptr);
            // dx = dy (scale - y^2 / scale) in float: the difference cancels near |y| = scale,
            // so the error is judged against the larger of the two terms.
            double err = 0, big = 0;
            for (std::size_t i = 0; i < n; ++i) {
                err = std::max(err, std::fabs(double(dx[i]) - dx_ref[i]));
                big = std::max(big, std::fabs(double(dy[i])) * scale);
            }
            CHECK(err / big < kTol);
            REQUIRE((y.intact() && dx.intact()));
        }
}

TEST_CASE("emu: generic pooling forward and backward vs double reference") {
    struct Case {
        Nchw s;
        int k, stride;
        bool ceil;
    };
    const Case cases[] = {{{2, 3, 7, 9}, 3, 2, false}, {{2, 3, 7, 9}, 3, 2, true},  {{1, 2, 8, 8}, 2, 2, false},
                          {{1, 2, 10, 11}, 3, 1, false}, {{1, 1, 5, 5}, 2, 3, true}, {{2, 2, 6, 13}, 4, 3, true}};
    std::uint64_t stream = 1700;
    for (const Case& k : cases)
        for (bool max : {true, false}) {
            const Nchw& s = k.s;
            INFO("N C H W = " << s.n << " " << s.c << " " << s.h << " " << s.w << "  k " << k.k << "  stride "
                              << k.stride << "  ceil " << k.ceil << "  max " << max);
            auto out_size = [&](int in) {
                const int span = in - k.k;
                int o = (k.ceil ? (span + k.stride - 1) / k.stride : span / k.stride) + 1;
                if (k.ceil && (o - 1) * k.stride >= in) --o;  // the last window starts inside
                return o;
            };
            const int oh = out_size(s.h), ow = out_size(s.w), planes = s.n * s.c;
            const std::size_t n = s.numel(), no = std::size_t(planes) * oh * ow;
            Guarded<float> x(n), y(no, 0, NAN), dy(no), dx(n, 0, NAN);
            // Small integers: many ties, to check the first-maximum rule.
            for (std::size_t i = 0; i < n; ++i) x[i] = float(int(5 * nst::rng::uniform(9, stream, i)) - 2);
            ++stream;
            fill_normal(dy.data(), no, stream++);
            std::vector<double> y_ref(no), dx_ref(n, 0.0);
            for (int p = 0; p < planes; ++p)
                for (int oy = 0; oy < oh; ++oy)
                    for (int ox = 0; ox < ow; ++ox) {
                        const int y0 = oy * k.stride, y1 = std::min(y0 + k.k, s.h);
                        const int x0 = ox * k.stride, x1 = std::min(x0 + k.k, s.w);
                        const std::size_t o = (std::size_t(p) * oh + oy) * ow + ox;
                        std::size_t best = 0;
                        double m = -INFINITY, sum = 0;
                        for (int yy = y0; yy < y1; ++yy)
                            for (int xx = x0; xx < x1; ++xx) {
                                const std::size_t i = (std::size_t(p) * s.h + yy) * s.w + xx;
                                if (x[i] > m) {
                                    m = x[i];
                                    best = i;
                                }
                                sum += x[i];
                            }
                        const double count = double((y1 - y0) * (x1 - x0));
                        y_ref[o] = max ? m : sum / count;
                        if (max) {
                            dx_ref[best] += dy[o];
                        } else {
                            for (int yy = y0; yy < y1; ++yy)
                                for (int xx = x0; xx < x1; ++xx)
                                    dx_ref[(std::size_t(p) * s.h + yy) * s.w + xx] += dy[o] / count;
                        }
                    }
            const nst::Pooling kind = max ? nst::Pooling::Max : nst::Pooling::Avg;
            nst::kernels::pool2d_forward(y.data(), x.data(), planes, s.h, s.w, oh, ow, k.k, k.stride, kind, nullptr);
            nst::kernels::pool2d_backward(dx.data(), dy.data(), x.data(), planes, s.h, s.w, oh, ow, k.k, k.stride,
                                          kind, nullptr);
            REQUIRE((y.intact() && dx.intact()));
            CHECK(rel_max_err(y, y_ref) < (max ? 0.0 : kTol) + 1e-300);
            CHECK(rel_max_err(dx, dx_ref) < kTol);
        }
}

TEST_CASE("emu: batched bias add and bias gradient vs double reference") {
    const Nchw shapes[] = {{1, 1, 1, 1}, {2, 3, 5, 7}, {2, 16, 33, 31}};
    std::uint64_t stream = 1800;
    for (const Nchw& s : shapes) {
        INFO("N C H W = " << s.n << " " << s.c << " " << s.h << " " << s.w);
        const std::size_t n = s.numel(), plane = s.plane();
        Guarded<float> x(n), y(n, 0, NAN), bias(std::size_t(s.c)), dy(n), db(std::size_t(s.c));
        fill_normal(x.data(), n, stream++);
        fill_normal(bias.data(), bias.size(), stream++);
        fill_normal(dy.data(), n, stream++);
        fill_normal(db.data(), db.size(), stream++);
        std::vector<float> y_ref(n);
        std::vector<double> db_ref(db.size());
        for (std::size_t c = 0; c < db.size(); ++c) db_ref[c] = db[c];
        for (std::size_t i = 0; i < n; ++i) {
            const std::size_t c = (i / plane) % std::size_t(s.c);
            y_ref[i] = x[i] + bias[c];
            db_ref[c] += dy[i];
        }
        nst::kernels::bias_add_batched(y.data(), x.data(), bias.data(), s.n, s.c, plane, nullptr);
        nst::kernels::bias_grad(db.data(), dy.data(), s.n, s.c, plane, nullptr);
        REQUIRE((y.intact() && db.intact()));
        CHECK(describe_difference(y.data(), y_ref.data(), n) == "bit-identical");
        CHECK(rel_max_err(db, db_ref) < kTol);
    }
}

TEST_CASE("emu: layer kernels vs their cpu twins") {
    using nst::ConstView;
    using nst::Shape;
    using nst::TensorView;
    std::uint64_t stream = 1900;
    auto as_double = [](const std::vector<float>& v) { return std::vector<double>(v.begin(), v.end()); };

    // Instance norm, affine and not (the CPU's public form has no fused ReLU).
    for (bool affine : {false, true}) {
        INFO("instance norm  affine " << affine);
        const Shape s{2, 3, 17, 19};
        const std::size_t n = s.numel(), planes = std::size_t(s.n) * s.c;
        Guarded<float> x(n), y(n), mean(planes), inv(planes), gamma(3), beta(3), dy(n), dx(n), dgamma(3), dbeta(3);
        fill_normal(x.data(), n, stream++, 2.0);
        fill_uniform(gamma.data(), 3, stream++, 0.5, 1.5);
        fill_normal(beta.data(), 3, stream++);
        fill_normal(dy.data(), n, stream++);
        const Shape cs{1, 3, 1, 1}, st{2, 3, 1, 1};
        std::vector<float> y_cpu(n), mean_cpu(planes), inv_cpu(planes), dx_cpu(n), dg_cpu(3, 0.f), db_cpu(3, 0.f);
        const ConstView<float> g = affine ? ConstView<float>(gamma.data(), cs) : ConstView<float>();
        const ConstView<float> b = affine ? ConstView<float>(beta.data(), cs) : ConstView<float>();
        nst::cpu::instance_norm_forward<float>(TensorView<float>(y_cpu.data(), s), TensorView<float>(mean_cpu.data(), st),
                                               TensorView<float>(inv_cpu.data(), st), ConstView<float>(x.data(), s), g,
                                               b, 1e-5);
        nst::cpu::instance_norm_backward<float>(
            TensorView<float>(dx_cpu.data(), s),
            affine ? TensorView<float>(dg_cpu.data(), cs) : TensorView<float>(),
            affine ? TensorView<float>(db_cpu.data(), cs) : TensorView<float>(), ConstView<float>(dy.data(), s),
            ConstView<float>(x.data(), s), ConstView<float>(mean_cpu.data(), st), ConstView<float>(inv_cpu.data(), st), g);
        nst::kernels::instance_norm_forward(y.data(), mean.data(), inv.data(), x.data(), affine ? gamma.data() : nullptr,
                                            affine ? beta.data() : nullptr, s.n, s.c, s.plane(), 1e-5, false, nullptr);
        Guarded<double> partials(2 * planes);
        nst::kernels::instance_norm_backward(dx.data(), affine ? dgamma.data() : nullptr, affine ? dbeta.data() : nullptr,
                                             dy.data(), x.data(), mean.data(), inv.data(),
                                             affine ? gamma.data() : nullptr, nullptr, partials.data(), s.n, s.c,
                                             s.plane(), nullptr);
        CHECK(rel_max_err(y, as_double(y_cpu)) < kTol);
        CHECK(rel_max_err(mean, as_double(mean_cpu)) < kTol);
        CHECK(rel_max_err(inv, as_double(inv_cpu)) < kTol);
        CHECK(rel_max_err(dx, as_double(dx_cpu)) < 1e-5);
        if (affine) {
            CHECK(rel_max_err(dgamma, as_double(dg_cpu)) < kTol);
            CHECK(rel_max_err(dbeta, as_double(db_cpu)) < kTol);
        }
    }

    // Padding (zero and reflect), upsampling, the cropped add, tanh.
    {
        const Shape s{2, 3, 9, 11};
        const int pad = 4;
        const Shape ps{2, 3, 9 + 2 * pad, 11 + 2 * pad};
        const std::size_t n = s.numel(), np = ps.numel();
        for (bool reflect : {false, true}) {
            INFO("pad  reflect " << reflect);
            const nst::PadMode mode = reflect ? nst::PadMode::Reflect : nst::PadMode::Zero;
            Guarded<float> x(n), y(np), dy(np), dx(n);
            fill_normal(x.data(), n, stream++);
            fill_normal(dy.data(), np, stream++);
            std::vector<float> y_cpu(np), dx_cpu(n);
            nst::cpu::pad_forward<float>(TensorView<float>(y_cpu.data(), ps), ConstView<float>(x.data(), s), pad, mode);
            nst::cpu::pad_backward<float>(TensorView<float>(dx_cpu.data(), s), ConstView<float>(dy.data(), ps), pad, mode);
            nst::kernels::pad_forward(y.data(), x.data(), 6, s.h, s.w, pad, reflect, nullptr);
            nst::kernels::pad_backward(dx.data(), dy.data(), 6, s.h, s.w, pad, reflect, nullptr);
            CHECK(describe_difference(y.data(), y_cpu.data(), np) == "bit-identical");
            CHECK(rel_max_err(dx, as_double(dx_cpu)) < kTol);
        }
        {
            INFO("upsample");
            const Shape us{2, 3, 18, 22};
            Guarded<float> x(n), y(us.numel()), dy(us.numel()), dx(n);
            fill_normal(x.data(), n, stream++);
            fill_normal(dy.data(), us.numel(), stream++);
            std::vector<float> y_cpu(us.numel()), dx_cpu(n);
            nst::cpu::upsample_nearest_forward<float>(TensorView<float>(y_cpu.data(), us), ConstView<float>(x.data(), s), 2);
            nst::cpu::upsample_nearest_backward<float>(TensorView<float>(dx_cpu.data(), s), ConstView<float>(dy.data(), us), 2);
            nst::kernels::upsample_nearest_forward(y.data(), x.data(), 6, s.h, s.w, 2, nullptr);
            nst::kernels::upsample_nearest_backward(dx.data(), dy.data(), 6, s.h, s.w, 2, nullptr);
            CHECK(describe_difference(y.data(), y_cpu.data(), us.numel()) == "bit-identical");
            CHECK(rel_max_err(dx, as_double(dx_cpu)) < kTol);
        }
        {
            INFO("cropped add");
            const Shape ss{2, 3, 13, 15};
            Guarded<float> x(n), src(ss.numel()), y(n), dy(n), ds(ss.numel());
            fill_normal(x.data(), n, stream++);
            fill_normal(src.data(), ss.numel(), stream++);
            fill_normal(dy.data(), n, stream++);
            fill_normal(ds.data(), ss.numel(), stream++);
            std::vector<float> y_cpu(n), ds_cpu = ds.to_vector();
            nst::cpu::add_cropped_forward<float>(TensorView<float>(y_cpu.data(), s), ConstView<float>(x.data(), s),
                                                 ConstView<float>(src.data(), ss));
            nst::cpu::add_cropped_backward_source<float>(TensorView<float>(ds_cpu.data(), ss), ConstView<float>(dy.data(), s));
            nst::kernels::add_cropped_forward(y.data(), x.data(), src.data(), 6, s.h, s.w, ss.h, ss.w, nullptr);
            nst::kernels::add_cropped_backward_source(ds.data(), dy.data(), 6, s.h, s.w, ss.h, ss.w, nullptr);
            CHECK(describe_difference(y.data(), y_cpu.data(), n) == "bit-identical");
            CHECK(describe_difference(ds.data(), ds_cpu.data(), ss.numel()) == "bit-identical");
        }
        {
            INFO("tanh");
            Guarded<float> x(n), y(n), dy(n), dx(n);
            fill_normal(x.data(), n, stream++, 2.0);
            fill_normal(dy.data(), n, stream++);
            std::vector<float> y_cpu(n), dx_cpu(n);
            nst::cpu::tanh_forward<float>(TensorView<float>(y_cpu.data(), s), ConstView<float>(x.data(), s), 150.0);
            nst::kernels::tanh_forward(y.data(), x.data(), n, 150.0, nullptr);
            CHECK(rel_max_err(y, as_double(y_cpu)) < kTol);
            // Both backwards from the same output (the kernel's), so only the formula differs.
            nst::cpu::tanh_backward<float>(TensorView<float>(dx_cpu.data(), s), ConstView<float>(dy.data(), s),
                                           ConstView<float>(y.data(), s), 150.0);
            nst::kernels::tanh_backward(dx.data(), dy.data(), y.data(), n, 150.0, nullptr);
            double err = 0, big = 0;
            for (std::size_t i = 0; i < n; ++i) {
                err = std::max(err, std::fabs(double(dx[i]) - double(dx_cpu[i])));
                big = std::max(big, std::fabs(double(dy[i])) * 150.0);
            }
            CHECK(err / big < kTol);
        }
    }

    // Pooling, both kinds, floor and ceil.
    for (bool max : {true, false})
        for (bool ceil_mode : {false, true}) {
            INFO("pool  max " << max << "  ceil " << ceil_mode);
            const Shape s{2, 3, 10, 13};
            const int k = 3, stride = 2;
            const int oh = nst::cpu::pooled_size(s.h, k, stride, ceil_mode), ow = nst::cpu::pooled_size(s.w, k, stride, ceil_mode);
            const Shape os{2, 3, oh, ow};
            const nst::Pooling kind = max ? nst::Pooling::Max : nst::Pooling::Avg;
            Guarded<float> x(s.numel()), y(os.numel()), dy(os.numel()), dx(s.numel());
            for (std::size_t i = 0; i < x.size(); ++i) x[i] = float(int(5 * nst::rng::uniform(9, stream, i)) - 2);
            ++stream;
            fill_normal(dy.data(), dy.size(), stream++);
            std::vector<float> y_cpu(os.numel()), dx_cpu(s.numel());
            nst::cpu::pool2d_forward<float>(TensorView<float>(y_cpu.data(), os), ConstView<float>(x.data(), s), k, stride,
                                            ceil_mode, kind);
            nst::cpu::pool2d_backward<float>(TensorView<float>(dx_cpu.data(), s), ConstView<float>(dy.data(), os),
                                             ConstView<float>(x.data(), s), k, stride, ceil_mode, kind);
            nst::kernels::pool2d_forward(y.data(), x.data(), 6, s.h, s.w, oh, ow, k, stride, kind, nullptr);
            nst::kernels::pool2d_backward(dx.data(), dy.data(), x.data(), 6, s.h, s.w, oh, ow, k, stride, kind, nullptr);
            if (max)
                CHECK(describe_difference(y.data(), y_cpu.data(), os.numel()) == "bit-identical");
            else
                CHECK(rel_max_err(y, as_double(y_cpu)) < kTol);
            CHECK(rel_max_err(dx, as_double(dx_cpu)) < kTol);
        }
}
