// SPDX-License-Identifier: MIT
// --size-rule: which side of the content image --image-size N fixes (spec §1).
#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>

#include "core/error.h"
#include "io/image.h"

namespace nst {

SizeRule parse_size_rule(const std::string& name) {
    if (name == "max") return SizeRule::Max;
    if (name == "short") return SizeRule::Short;
    if (name == "area") return SizeRule::Area;
    throw_usage("invalid --size-rule '" + name + "': expected max, short or area");
}

namespace {

// round(a * n / b) to nearest, halves up, in exact integer arithmetic (a, b, n < 2^31).
std::int64_t scaled_side(std::int64_t a, std::int64_t n, std::int64_t b) { return (2 * a * n + b) / (2 * b); }

int checked_side(double v) {
    if (!(v < double(INT_MAX))) throw_input("target image size too large");
    return std::max(1, int(v));
}

}  // namespace

void target_size(int in_h, int in_w, int n, SizeRule rule, int& out_h, int& out_w) {
    NST_REQUIRE(in_h > 0 && in_w > 0, "target_size needs a non-empty image");
    if (n <= 0) throw_usage("invalid image size " + std::to_string(n) + ": must be a positive number of pixels");

    std::int64_t h = 0, w = 0;
    switch (rule) {
        case SizeRule::Max:
        case SizeRule::Short: {
            // The side the rule names becomes n; the other keeps the aspect ratio.
            const bool h_is_ruled = (rule == SizeRule::Max) == (in_h >= in_w);
            if (h_is_ruled) {
                h = n;
                w = scaled_side(in_w, n, in_h);
            } else {
                w = n;
                h = scaled_side(in_h, n, in_w);
            }
            break;
        }
        case SizeRule::Area: {
            // sqrt(h * w) = n: both sides scale by n / sqrt(in_h * in_w).
            const double s = double(n) / std::sqrt(double(in_h) * double(in_w));
            h = std::int64_t(std::floor(in_h * s + 0.5));
            w = std::int64_t(std::floor(in_w * s + 0.5));
            break;
        }
    }
    out_h = checked_side(double(h));
    out_w = checked_side(double(w));
    const long long pixels = (long long)out_h * out_w;
    if (pixels > kMaxImagePixels)
        throw_input("target image size " + std::to_string(out_w) + "x" + std::to_string(out_h) +
                    " is above the limit of " + std::to_string(kMaxImagePixels) + " pixels");
}

}  // namespace nst
