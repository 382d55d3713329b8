// SPDX-License-Identifier: MIT
// Synthetic clips for the clip tests (test_clip.cpp, test_clip_video.cpp).
#pragma once
#include <algorithm>
#include <cmath>

#include "core/tensor.h"

namespace nst::test {

// A moving pattern (1, 3, h, w): smooth colour waves that travel with t plus a bright square
// that moves 3 px right and 2 px down per frame, so every frame differs.
inline Tensor<float> moving_frame(int h, int w, int t) {
    Tensor<float> f(Shape{1, 3, h, w});
    const std::size_t plane = std::size_t(h) * w;
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            const std::size_t i = std::size_t(y) * w + x;
            const bool square = x >= 4 + 3 * t && x < 14 + 3 * t && y >= 3 + 2 * t && y < 13 + 2 * t;
            f[i] = square ? 0.95f : float(0.5 + 0.4 * std::sin(0.21 * x + 0.35 * t));
            f[plane + i] = float(0.5 + 0.4 * std::cos(0.17 * y - 0.25 * t));
            f[2 * plane + i] = square ? 0.1f : float(0.5 + 0.3 * std::sin(0.09 * (x + y) + 0.5 * t));
        }
    return f;
}

// What an 8-bit file holds for a float frame: round(clamp(v) * 255) / 255.
inline Tensor<float> quantised(const Tensor<float>& f) {
    Tensor<float> q(f.shape());
    for (std::size_t i = 0; i < f.numel(); ++i)
        q[i] = float(std::floor(std::min(1.f, std::max(0.f, f[i])) * 255.0 + 0.5) / 255.0);
    return q;
}

}  // namespace nst::test
