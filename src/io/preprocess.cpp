// SPDX-License-Identifier: MIT
// RGB [0, 1] <-> network input space (spec §4). Arithmetic is in double so that to_image undoes
// to_network to within one float rounding. Each pixel's three channels are read before any is
// written, which makes the caffe B/R swap safe when x and rgb are the same buffer.
#include "io/preprocess.h"

#include <algorithm>

namespace nst {

namespace {

// caffe: mean of the B, G, R channels in 0..255 units.
constexpr double kCaffeMeanBgr[3] = {103.939, 116.779, 123.68};
// torchvision: ImageNet statistics of the R, G, B channels in 0..1 units.
constexpr double kTorchMean[3] = {0.485, 0.456, 0.406};
constexpr double kTorchStd[3] = {0.229, 0.224, 0.225};

void check_pair(const Preprocessor& p, const TensorView<float>& out, const ConstView<float>& in) {
    NST_REQUIRE(p.kind != PreprocessKind::Caffe || p.caffe_scale > 0.f, "caffe scale must be positive");
    NST_REQUIRE(out.device == Device::Host && in.device == Device::Host, "preprocessing runs on host tensors");
    NST_REQUIRE(in.shape.c == 3, "preprocessing needs 3 channels, got " + in.shape.str());
    NST_REQUIRE(out.shape == in.shape, "preprocessing: shapes differ: " + out.shape.str() + " vs " + in.shape.str());
}

// image_space: the iterate is the image; a copy unless the two views are one buffer.
void copy_image(TensorView<float> out, ConstView<float> in) {
    if (out.data != in.data) std::copy(in.begin(), in.end(), out.begin());
}

}  // namespace

void Preprocessor::affine(int src[3], double a[3], double b[3]) const {
    for (int c = 0; c < 3; ++c) {
        if (kind == PreprocessKind::Caffe) {  // channel c is BGR's c: S * rgb_{2-c} - mean_c
            src[c] = 2 - c;
            a[c] = caffe_scale;
            b[c] = -kCaffeMeanBgr[c];
        } else {
            src[c] = c;
            a[c] = 1.0 / kTorchStd[c];
            b[c] = -kTorchMean[c] / kTorchStd[c];
        }
    }
}

void Preprocessor::to_network(TensorView<float> x, ConstView<float> rgb) const {
    check_pair(*this, x, rgb);
    if (image_space) return copy_image(x, rgb);
    const std::size_t plane = rgb.shape.plane();
    const double s = caffe_scale;
    for (int n = 0; n < rgb.shape.n; ++n) {
        const float* in = rgb.data + std::size_t(n) * 3 * plane;
        float* out = x.data + std::size_t(n) * 3 * plane;
        for (std::size_t i = 0; i < plane; ++i) {
            const double r = in[i], g = in[plane + i], b = in[2 * plane + i];
            if (kind == PreprocessKind::Caffe) {
                out[i] = float(s * b - kCaffeMeanBgr[0]);
                out[plane + i] = float(s * g - kCaffeMeanBgr[1]);
                out[2 * plane + i] = float(s * r - kCaffeMeanBgr[2]);
            } else {
                out[i] = float((r - kTorchMean[0]) / kTorchStd[0]);
                out[plane + i] = float((g - kTorchMean[1]) / kTorchStd[1]);
                out[2 * plane + i] = float((b - kTorchMean[2]) / kTorchStd[2]);
            }
        }
    }
}

void Preprocessor::to_image(TensorView<float> rgb, ConstView<float> x) const {
    check_pair(*this, rgb, x);
    if (image_space) return copy_image(rgb, x);
    const std::size_t plane = x.shape.plane();
    const double s = caffe_scale;
    for (int n = 0; n < x.shape.n; ++n) {
        const float* in = x.data + std::size_t(n) * 3 * plane;
        float* out = rgb.data + std::size_t(n) * 3 * plane;
        for (std::size_t i = 0; i < plane; ++i) {
            const double x0 = in[i], x1 = in[plane + i], x2 = in[2 * plane + i];
            if (kind == PreprocessKind::Caffe) {
                // x0 is blue, x2 red.
                out[i] = float((x2 + kCaffeMeanBgr[2]) / s);
                out[plane + i] = float((x1 + kCaffeMeanBgr[1]) / s);
                out[2 * plane + i] = float((x0 + kCaffeMeanBgr[0]) / s);
            } else {
                out[i] = float(x0 * kTorchStd[0] + kTorchMean[0]);
                out[plane + i] = float(x1 * kTorchStd[1] + kTorchMean[1]);
                out[2 * plane + i] = float(x2 * kTorchStd[2] + kTorchMean[2]);
            }
        }
    }
}

}  // namespace nst
