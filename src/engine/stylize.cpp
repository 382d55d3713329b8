// SPDX-License-Identifier: MIT
#include "engine/stylize.h"

#include <algorithm>

#include "core/error.h"

namespace nst {

namespace {

// Index i of an axis of n, reflected into [0, n) without repeating the edge pixel.
int reflect(int i, int n) {
    if (n == 1) return 0;
    const int period = 2 * (n - 1);
    i %= period;
    if (i < 0) i += period;
    return i < n ? i : period - i;
}

int round_up(int v, int m) { return (v + m - 1) / m * m; }

}  // namespace

Tensor<float> reflect_pad_to_multiple(ConstView<float> x, int multiple) {
    NST_REQUIRE(multiple >= 1, "padding multiple must be positive");
    const Shape s = x.shape;
    const Shape o{s.n, s.c, round_up(s.h, multiple), round_up(s.w, multiple)};
    Tensor<float> out(o);
    for (int n = 0; n < s.n; ++n)
        for (int c = 0; c < s.c; ++c)
            for (int y = 0; y < o.h; ++y) {
                const int sy = reflect(y, s.h);
                for (int xx = 0; xx < o.w; ++xx) out.view().at(n, c, y, xx) = x.at(n, c, sy, reflect(xx, s.w));
            }
    return out;
}

Tensor<float> crop_top_left(ConstView<float> x, int h, int w) {
    NST_REQUIRE(h <= x.shape.h && w <= x.shape.w, "crop larger than the image");
    Tensor<float> out(Shape{x.shape.n, x.shape.c, h, w});
    for (int n = 0; n < x.shape.n; ++n)
        for (int c = 0; c < x.shape.c; ++c)
            for (int y = 0; y < h; ++y)
                std::copy(&x.at(n, c, y, 0), &x.at(n, c, y, 0) + w, &out.view().at(n, c, y, 0));
    return out;
}

Tensor<float> stylize_image(const ForwardFn& forward, ModelIo io, ConstView<float> rgb) {
    NST_REQUIRE(rgb.shape.n == 1 && rgb.shape.c == 3, "stylize takes one RGB image");
    const int h = rgb.shape.h, w = rgb.shape.w;
    Tensor<float> x = reflect_pad_to_multiple(rgb, kTransformerMultiple);
    for (auto& v : x) v *= 255.f;
    rgb255_to_model_io(io, x.view());
    const Tensor<float> out_full = forward(x.cview());
    const ConstView<float> y = out_full.cview();
    if (y.shape.c != 3 || y.shape.h < h || y.shape.w < w)
        throw_input("the model's output " + y.shape.str() + " does not cover the " + std::to_string(w) + "x" +
                    std::to_string(h) + " input");
    Tensor<float> out = crop_top_left(y, h, w);
    model_io_to_rgb255(io, out.view());
    for (auto& v : out) v = std::clamp(v / 255.f, 0.f, 1.f);
    return out;
}

Tensor<float> stylize_image(cpu::Network<float>& net, ModelIo io, ConstView<float> rgb) {
    return stylize_image(
        [&](ConstView<float> x) {
            const ConstView<float> y = net.forward(x, false);
            Tensor<float> out(y.shape);
            std::copy(y.begin(), y.end(), out.begin());
            return out;
        },
        io, rgb);
}

}  // namespace nst
