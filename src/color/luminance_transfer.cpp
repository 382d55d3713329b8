// SPDX-License-Identifier: MIT
#include "color/luminance_transfer.h"

#include <algorithm>
#include <cmath>

#include "color/luma.h"
#include "core/error.h"

namespace nst::color {

LuminanceMatch parse_luminance_match(const std::string& name, const std::string& option) {
    if (name == "meanstd") return LuminanceMatch::MeanStd;
    if (name == "mean") return LuminanceMatch::Mean;
    if (name == "none") return LuminanceMatch::None;
    throw_usage(option + ": unknown mode '" + name + "' (choose meanstd, mean or none)");
}

const char* luminance_match_name(LuminanceMatch mode) {
    switch (mode) {
        case LuminanceMatch::MeanStd: return "meanstd";
        case LuminanceMatch::Mean: return "mean";
        case LuminanceMatch::None: return "none";
    }
    return "?";
}

LuminanceStats luminance_stats(ConstView<float> rgb) {
    NST_REQUIRE(rgb.device == Device::Host && rgb.shape.n == 1 && rgb.shape.c == 3 && rgb.shape.plane() > 0,
                "luminance_stats: expected a non-empty host (1, 3, H, W) image, got " + rgb.shape.str());
    const std::size_t n = rgb.shape.plane();
    auto y = [&](std::size_t i) { return luma(rgb.data[i], rgb.data[n + i], rgb.data[2 * n + i]); };
    LuminanceStats s;
    double sum = 0;
    for (std::size_t i = 0; i < n; ++i) sum += y(i);
    s.mean = sum / double(n);
    double sq = 0;  // two passes: no cancellation for nearly constant images
    for (std::size_t i = 0; i < n; ++i) sq += (y(i) - s.mean) * (y(i) - s.mean);
    s.std = std::sqrt(sq / double(n));
    return s;
}

void match_luminance(TensorView<float> style, ConstView<float> content, LuminanceMatch mode) {
    const LuminanceStats c = luminance_stats(content), s = luminance_stats(style);
    // meanstd with σ_S = 0 uses scale 1, i.e. the mean shift (see the header). "Zero" is below
    // kConstantStd: a constant image's σ is double rounding (~1e-17), not 0, while the smallest
    // σ a real image has (one 16-bit step at one of 2^28 pixels) is about 1e-9.
    const double scale = mode == LuminanceMatch::MeanStd && s.std > kConstantStd ? c.std / s.std : 1.0;
    const std::size_t n = style.shape.plane();
    for (std::size_t i = 0; i < n; ++i) {
        const double l = luma(style.data[i], style.data[n + i], style.data[2 * n + i]);
        const double matched = mode == LuminanceMatch::None ? l : scale * (l - s.mean) + c.mean;
        const float v = float(std::clamp(matched, 0.0, 1.0));
        style.data[i] = style.data[n + i] = style.data[2 * n + i] = v;
    }
}

}  // namespace nst::color
