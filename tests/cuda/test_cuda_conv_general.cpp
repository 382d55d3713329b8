// SPDX-License-Identifier: MIT
// cuda::ConvCudnn (any kernel, stride and zero padding; batched) against direct convolution
// loops in double written here: forward, backward to the data (the transposed convolution) and
// backward to the filter, which must add onto what the filter gradient held.
//
// Tolerance, relative L2: 1e-5. cuDNN in fp32 without TF32 sums in another order than the
// double loops, ~1e-7 relative for fan-ins of a few hundred; on the emulated backend the
// convolution is computed in double and rounded once. A wrong stride, padding or filter
// orientation gives errors of order 1.
#include <doctest/doctest.h>

#include <cstdio>
#include <vector>

#include "cuda/conv_cudnn_general.h"
#include "cuda_test_util.h"
#include "engine/engine.h"
#include "test_util.h"

using namespace nst;
using namespace nst::test::gpu;
using nst::test::rel_l2;

TEST_CASE("cuda conv general: forward and both backward passes vs double loops") {
    struct Case {
        int n, in, out, h, w, k, stride, pad;
    };
    const Case cases[] = {{2, 3, 4, 13, 11, 9, 1, 4}, {2, 4, 5, 12, 9, 3, 2, 1}, {1, 2, 3, 10, 10, 3, 1, 0},
                          {2, 3, 2, 11, 8, 5, 3, 2}, {1, 1, 1, 1, 1, 1, 1, 0}};
    const std::size_t workspace = nst::CudaOptions{}.workspace_limit;
    std::uint64_t seed = 900;
    double worst = 0;
    for (const Case& c : cases) {
        INFO("N " << c.n << "  I " << c.in << "  O " << c.out << "  " << c.h << "x" << c.w << "  k " << c.k
                  << "  stride " << c.stride << "  pad " << c.pad);
        const cuda::ConvGeometryCudnn g{c.out, c.in, c.k, c.stride, c.pad};
        cuda::ConvCudnn conv(context(), "test", g, workspace);
        const Shape xs{c.n, c.in, c.h, c.w};
        const Shape ys = conv.output_shape(xs);
        REQUIRE(ys == (Shape{c.n, c.out, (c.h + 2 * c.pad - c.k) / c.stride + 1, (c.w + 2 * c.pad - c.k) / c.stride + 1}));
        const Shape ws{c.out, c.in, c.k, c.k};
        const Tensor<float> x = test_image(xs, seed++, 2.0, -1.0);
        const Tensor<float> w = test_image(ws, seed++, 2.0, -1.0);
        const Tensor<float> dy = test_image(ys, seed++, 2.0, -1.0);
        const Tensor<float> dw0 = test_image(ws, seed++, 2.0, -1.0);

        std::vector<double> y_ref(ys.numel(), 0.0), dx_ref(xs.numel(), 0.0), dw_ref(ws.numel());
        for (std::size_t i = 0; i < dw_ref.size(); ++i) dw_ref[i] = dw0[i];
        for (int n = 0; n < c.n; ++n)
            for (int o = 0; o < c.out; ++o)
                for (int oy = 0; oy < ys.h; ++oy)
                    for (int ox = 0; ox < ys.w; ++ox) {
                        const std::size_t yi = ((std::size_t(n) * c.out + o) * ys.h + oy) * ys.w + ox;
                        for (int i = 0; i < c.in; ++i)
                            for (int r = 0; r < c.k; ++r)
                                for (int s = 0; s < c.k; ++s) {
                                    const int iy = oy * c.stride + r - c.pad, ix = ox * c.stride + s - c.pad;
                                    if (iy < 0 || iy >= c.h || ix < 0 || ix >= c.w) continue;
                                    const std::size_t xi = ((std::size_t(n) * c.in + i) * c.h + iy) * c.w + ix;
                                    const std::size_t wi = ((std::size_t(o) * c.in + i) * c.k + r) * c.k + s;
                                    y_ref[yi] += double(w[wi]) * double(x[xi]);
                                    dx_ref[xi] += double(w[wi]) * double(dy[yi]);
                                    dw_ref[wi] += double(dy[yi]) * double(x[xi]);
                                }
                    }

        const std::size_t bytes = conv.prepare(xs);
        Buffer ws_buf(std::max<std::size_t>(bytes, 1), Device::Cuda);
        const Tensor<float> xd = upload(x.cview()), wd = upload(w.cview()), dyd = upload(dy.cview());
        Tensor<float> yd(ys, Device::Cuda), dxd(xs, Device::Cuda);
        Tensor<float> dwd = upload(dw0.cview());
        conv.forward(yd.view(), xd.cview(), wd.data(), ws_buf.data(), bytes);
        conv.backward_data(dxd.view(), dyd.cview(), wd.data(), ws_buf.data(), bytes);
        conv.backward_filter(dwd.data(), dyd.cview(), xd.cview(), ws_buf.data(), bytes);
        const Tensor<float> y = download(yd.cview()), dx = download(dxd.cview()), dw = download(dwd.cview());
        const double ey = rel_l2(y.data(), y_ref.data(), y.numel());
        const double edx = rel_l2(dx.data(), dx_ref.data(), dx.numel());
        const double edw = rel_l2(dw.data(), dw_ref.data(), dw.numel());
        CHECK(ey < 1e-5);
        CHECK(edx < 1e-5);
        CHECK(edw < 1e-5);
        worst = std::max({worst, ey, edx, edw});
    }
    std::printf("cuda conv general: worst rel L2 vs double loops %.2e\n", worst);
}
