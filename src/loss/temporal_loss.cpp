// SPDX-License-Identifier: MIT
// Temporal loss on the CPU (temporal_loss.h), the twin of kernels/temporal_loss.cu: one pass
// over the rows of x, each element gathering its terms over all targets, so value and gradient
// come out together and rows run in parallel without races (fixed-order sums).
#include "loss/temporal_loss.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/error.h"
#include "loss/fixed_order_sum.h"

namespace nst {

namespace {

// The reference code's pixel scale: loadcaffe-style RGB in [0, 1] times 256 (video.md §1.1).
constexpr double kReferenceScale = 256;
// torchvision's per-channel std (spec §4; io/preprocess.cpp holds the map itself).
constexpr double kTorchStd[3] = {0.229, 0.224, 0.225};

}  // namespace

std::vector<double> temporal_channel_scales(PreprocessKind kind, double caffe_scale, double gamma, int channels,
                                            int h, int w) {
    NST_REQUIRE(channels > 0 && h > 0 && w > 0, "temporal_channel_scales: empty image");
    NST_REQUIRE(std::isfinite(gamma) && gamma >= 0, "temporal_channel_scales: weight must be finite and >= 0");
    const double d = double(channels) * double(h) * double(w);
    std::vector<double> s(static_cast<std::size_t>(channels));
    if (kind == PreprocessKind::Caffe) {
        NST_REQUIRE(caffe_scale > 0, "temporal_channel_scales: caffe scale must be > 0");
        const double u = kReferenceScale / caffe_scale;
        std::fill(s.begin(), s.end(), gamma * u * u / d);
    } else {
        NST_REQUIRE(channels == 3, "temporal_channel_scales: torchvision images have 3 channels");
        for (int c = 0; c < 3; ++c) {
            const double u = kReferenceScale * kTorchStd[c];
            s[std::size_t(c)] = gamma * u * u / d;
        }
    }
    return s;
}

namespace cpu {

template <typename T>
double temporal_loss(ConstView<T> x,  // (1, C, H, W)
                     const std::vector<TemporalTarget<T>>& targets, const std::vector<double>& channel_scale,
                     TensorView<T> dx) {
    NST_REQUIRE(x.device == Device::Host, "temporal_loss: host tensors only");
    NST_REQUIRE(x.shape.n == 1, "temporal_loss: one image, got " + x.shape.str());
    const int c_count = x.shape.c, h = x.shape.h, w = x.shape.w;
    NST_REQUIRE(channel_scale.size() == std::size_t(c_count), "temporal_loss: " +
                std::to_string(channel_scale.size()) + " channel scales for " + x.shape.str());
    const Shape plane{1, 1, h, w};
    for (const TemporalTarget<T>& t : targets) {
        NST_REQUIRE(t.warped.shape == x.shape, "temporal_loss: warped frame " + t.warped.shape.str() +
                    " vs image " + x.shape.str());
        NST_REQUIRE(t.weight.shape == plane, "temporal_loss: weight map " + t.weight.shape.str() + " vs " +
                    plane.str());
        NST_REQUIRE(t.warped.device == Device::Host && t.weight.device == Device::Host,
                    "temporal_loss: host tensors only");
    }
    const bool grad = !dx.empty();
    if (grad) NST_REQUIRE(dx.shape == x.shape, "temporal_loss: gradient " + dx.shape.str() + " vs image " + x.shape.str());
    if (targets.empty() || x.numel() == 0) return 0.0;

    const std::size_t rows = std::size_t(c_count) * std::size_t(h);
    const std::size_t rows_per_chunk = std::max<std::size_t>(1, detail::kMinSumChunk / std::size_t(w));
    return detail::fixed_order_sum(rows, [&](std::size_t r) {
        const std::size_t c = r / std::size_t(h);
        const double s = channel_scale[c];
        const std::size_t row = r * std::size_t(w);                         // offset in x
        const std::size_t wrow = (r - c * std::size_t(h)) * std::size_t(w);  // offset in the maps
        double acc = 0;
        for (int j = 0; j < w; ++j) {
            const double v = double(x.data[row + j]);
            double g = 0, sq = 0;
            for (const TemporalTarget<T>& t : targets) {
                const double cw = double(t.weight.data[wrow + j]);
                const double d = v - double(t.warped.data[row + j]);
                g += cw * d;
                sq += cw * d * d;
            }
            acc += s * sq;
            if (grad) dx.data[row + j] += T(2 * s * g);
        }
        return acc;
    }, rows_per_chunk);
}

template <typename T>
void long_term_weights(const std::vector<ConstView<T>>& maps, const std::vector<TensorView<T>>& out) {
    NST_REQUIRE(out.size() == maps.size(), "long_term_weights: " + std::to_string(out.size()) + " outputs for " +
                std::to_string(maps.size()) + " maps");
    if (maps.empty()) return;
    const Shape shape = maps[0].shape;
    NST_REQUIRE(shape.n == 1 && shape.c == 1, "long_term_weights: a map is one plane, got " + shape.str());
    for (std::size_t j = 0; j < maps.size(); ++j) {
        NST_REQUIRE(maps[j].shape == shape && out[j].shape == shape,
                    "long_term_weights: map " + maps[j].shape.str() + " / output " + out[j].shape.str() + " vs " +
                        shape.str());
        NST_REQUIRE(maps[j].device == Device::Host && out[j].device == Device::Host,
                    "long_term_weights: host tensors only");
    }
    const std::size_t n = shape.numel();
    // Farthest first: out[j] reads only maps[0..j], so writing it in place over maps[j] leaves
    // the nearer maps the later steps read untouched.
    for (std::size_t j = maps.size(); j-- > 0;) {
#pragma omp parallel for schedule(static) if (n > detail::kMinSumChunk)
        for (std::size_t p = 0; p < n; ++p) {
            double nearer = 0;
            for (std::size_t k = 0; k < j; ++k) nearer += double(maps[k].data[p]);
            out[j].data[p] = T(std::max(double(maps[j].data[p]) - nearer, 0.0));
        }
    }
}

template double temporal_loss<float>(ConstView<float>, const std::vector<TemporalTarget<float>>&,
                                     const std::vector<double>&, TensorView<float>);
template double temporal_loss<double>(ConstView<double>, const std::vector<TemporalTarget<double>>&,
                                      const std::vector<double>&, TensorView<double>);
template void long_term_weights<float>(const std::vector<ConstView<float>>&, const std::vector<TensorView<float>>&);
template void long_term_weights<double>(const std::vector<ConstView<double>>&,
                                        const std::vector<TensorView<double>>&);

}  // namespace cpu

}  // namespace nst
