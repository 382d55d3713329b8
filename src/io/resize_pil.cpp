// SPDX-License-Identifier: MIT
// --resize pil-bilinear: PIL's Image.resize(BILINEAR) on an 8-bit RGB image, which is what
// torchvision's Resize does to a PIL image (neural-style-pt, the authors' notebook, the PyTorch
// tutorial). Written from the filter's documented definition:
//   - separable: a horizontal pass, its result rounded to 8 bits, then a vertical pass (each pass
//     only when that side changes);
//   - output pixel i of a side samples the input around centre (i + 0.5) * scale with scale =
//     in / out; the triangle kernel's support is 1 input pixel, widened to `scale` when
//     downsampling (antialiasing), so a 16x reduction averages ~32 input pixels;
//   - the taps are input pixels j in [round(centre - support), round(centre + support)), each
//     weighted by triangle((j + 0.5 - centre) / max(scale, 1)), then divided by their sum;
//   - 8-bit arithmetic: weights become fixed point with 22 fraction bits (rounded half away from
//     zero), the sum starts at one half and is shifted down and clamped to 0..255.
// Samples are read as 8-bit levels (round(255 v)), so an 8-bit image reproduces PIL exactly;
// the result is level / 255 as float.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "core/error.h"
#include "io/image.h"

namespace nst {

namespace {

constexpr int kPrecisionBits = 22;  // 32 bits - 8 for the sample - 2 of headroom

struct Taps {
    std::vector<int> first, count;       // per output pixel: first input pixel, number of taps
    std::vector<std::int32_t> weights;   // per output pixel, `stride` fixed-point weights
    int stride = 0;
};

double triangle(double x) {
    x = std::fabs(x);
    return x < 1.0 ? 1.0 - x : 0.0;
}

Taps make_taps(int in_size, int out_size) {
    const double scale = double(in_size) / out_size;
    const double filter_scale = std::max(scale, 1.0);
    const double support = 1.0 * filter_scale;
    Taps t;
    t.stride = int(std::ceil(support)) * 2 + 1;
    t.first.resize(std::size_t(out_size));
    t.count.resize(std::size_t(out_size));
    t.weights.assign(std::size_t(out_size) * std::size_t(t.stride), 0);
    std::vector<double> k(std::size_t(t.stride));
    for (int i = 0; i < out_size; ++i) {
        const double centre = (i + 0.5) * scale;
        // (int)(v + 0.5) as PIL rounds the bounds (v may be negative: C truncation toward zero).
        const int lo = std::max(0, int(centre - support + 0.5));
        const int hi = std::min(in_size, int(centre + support + 0.5));
        const int n = std::max(0, hi - lo);
        double sum = 0;
        for (int j = 0; j < n; ++j) {
            k[std::size_t(j)] = triangle((j + lo - centre + 0.5) / filter_scale);
            sum += k[std::size_t(j)];
        }
        for (int j = 0; j < n; ++j) {
            const double v = sum != 0.0 ? k[std::size_t(j)] / sum : k[std::size_t(j)];
            const double fixed = v * double(1 << kPrecisionBits);
            t.weights[std::size_t(i) * t.stride + j] = std::int32_t(v < 0 ? fixed - 0.5 : fixed + 0.5);
        }
        t.first[std::size_t(i)] = lo;
        t.count[std::size_t(i)] = n;
    }
    return t;
}

std::uint8_t clip8(std::int32_t acc) {
    const std::int32_t v = acc >> kPrecisionBits;  // arithmetic shift: floor, as PIL's table lookup
    return std::uint8_t(std::clamp(v, 0, 255));
}

// One pass over a plane of 8-bit samples: `along_rows` resamples each row (width in_w -> out),
// otherwise each column (height in_h -> out).
std::vector<std::uint8_t> pass(const std::vector<std::uint8_t>& src, int h, int w, int out, bool along_rows) {
    const Taps t = make_taps(along_rows ? w : h, out);
    const int oh = along_rows ? h : out, ow = along_rows ? out : w;
    std::vector<std::uint8_t> dst(std::size_t(oh) * std::size_t(ow));
    for (int y = 0; y < oh; ++y)
        for (int x = 0; x < ow; ++x) {
            const int i = along_rows ? x : y;
            const std::int32_t* k = &t.weights[std::size_t(i) * t.stride];
            std::int32_t acc = 1 << (kPrecisionBits - 1);
            for (int j = 0; j < t.count[std::size_t(i)]; ++j) {
                const int s = t.first[std::size_t(i)] + j;
                const std::uint8_t v = along_rows ? src[std::size_t(y) * w + s] : src[std::size_t(s) * w + x];
                acc += std::int32_t(v) * k[j];
            }
            dst[std::size_t(y) * ow + x] = clip8(acc);
        }
    return dst;
}

}  // namespace

Tensor<float> resize_pil_bilinear(ConstView<float> rgb, int out_h, int out_w) {
    NST_REQUIRE(rgb.device == Device::Host, "resize_pil_bilinear needs a host tensor");
    NST_REQUIRE(!rgb.empty() && out_h > 0 && out_w > 0, "resize_pil_bilinear needs non-empty sizes");
    const Shape in = rgb.shape;
    Tensor<float> out(Shape{in.n, in.c, out_h, out_w});
    const std::size_t planes = std::size_t(in.n) * std::size_t(in.c);
    for (std::size_t p = 0; p < planes; ++p) {
        std::vector<std::uint8_t> plane(in.plane());
        const float* src = rgb.data + p * in.plane();
        for (std::size_t i = 0; i < plane.size(); ++i)
            plane[i] = std::uint8_t(std::lround(std::clamp(double(src[i]), 0.0, 1.0) * 255.0));
        int h = in.h, w = in.w;
        if (out_w != w) {  // PIL: horizontal first
            plane = pass(plane, h, w, out_w, true);
            w = out_w;
        }
        if (out_h != h) {
            plane = pass(plane, h, w, out_h, false);
            h = out_h;
        }
        float* dst = out.data() + p * out.shape().plane();
        for (std::size_t i = 0; i < plane.size(); ++i) dst[i] = float(plane[i]) / 255.0f;
    }
    return out;
}

void target_size_truncated(int in_h, int in_w, int n, SizeRule rule, int& out_h, int& out_w) {
    NST_REQUIRE(in_h > 0 && in_w > 0, "target_size needs a non-empty image");
    if (n <= 0) throw_usage("invalid image size " + std::to_string(n) + ": must be a positive number of pixels");
    double h = 0, w = 0;
    switch (rule) {
        case SizeRule::Max: {
            // neural-style-pt: int((float(N) / max(size)) * side) for both sides, in double.
            const double f = double(n) / double(std::max(in_h, in_w));
            h = std::trunc(f * in_h);
            w = std::trunc(f * in_w);
            break;
        }
        case SizeRule::Short: {
            // torchvision Resize(N): the shorter side N, the other int(N * long / short).
            const int s = std::min(in_h, in_w), l = std::max(in_h, in_w);
            const double other = std::trunc(double(n) * double(l) / double(s));
            h = in_h <= in_w ? n : other;
            w = in_h <= in_w ? other : n;
            break;
        }
        case SizeRule::Area: {
            const double s = double(n) / std::sqrt(double(in_h) * double(in_w));
            h = std::trunc(in_h * s);
            w = std::trunc(in_w * s);
            break;
        }
    }
    if (!(h < 16384.0 * 16384.0) || !(w < 16384.0 * 16384.0)) throw_input("target image size too large");
    out_h = std::max(1, int(h));
    out_w = std::max(1, int(w));
    if ((long long)out_h * out_w > kMaxImagePixels)
        throw_input("target image size " + std::to_string(out_w) + "x" + std::to_string(out_h) +
                    " is above the limit of " + std::to_string(kMaxImagePixels) + " pixels");
}

}  // namespace nst
