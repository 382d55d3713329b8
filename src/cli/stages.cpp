// SPDX-License-Identifier: MIT
#include "cli/stages.h"
#include "cli/split.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/error.h"
#include "io/image.h"

namespace nst::cli {

namespace {

constexpr int kMaxSize = 16384;  // the --image-size range
constexpr int kMaxStages = 64;   // more would be a typo (a factor of 1.0001), not a plan

int parse_int(const std::string& item, const std::string& option) {
    std::size_t used = 0;
    long v = 0;
    try {
        v = std::stol(item, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (item.empty() || used != item.size() || v < -1000000000L || v > 1000000000L)
        throw_usage(option + ": '" + item + "' is not an integer");
    return int(v);
}

void check_size(int n) {
    if (n < 1 || n > kMaxSize) throw_usage("--scales: each size must be in 1.." + std::to_string(kMaxSize) + ", got " +
                                           std::to_string(n));
}

// START:FACTOR:END, counted down from END so that END is always reached exactly.
std::vector<int> geometric_sizes(const std::string& text) {
    const std::vector<std::string> parts = split(text, ':');
    if (parts.size() != 3) throw_usage("--scales: expected S1,S2,... or START:FACTOR:END, got '" + text + "'");
    const int start = parse_int(parts[0], "--scales START");
    const int end = parse_int(parts[2], "--scales END");
    std::size_t used = 0;
    double factor = 0;
    try {
        factor = std::stod(parts[1], &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (parts[1].empty() || used != parts[1].size() || !std::isfinite(factor) || !(factor > 1))
        throw_usage("--scales: FACTOR must be a number > 1, got '" + parts[1] + "'");
    check_size(start);
    check_size(end);
    if (start > end) throw_usage("--scales: START " + parts[0] + " is larger than END " + parts[2]);
    std::vector<int> sizes;
    for (int i = 0;; ++i) {
        const int n = int(std::lround(end / std::pow(factor, i)));
        if (n < start) break;
        // Rounding can repeat a size when FACTOR is close to 1; a repeat adds nothing.
        if (sizes.empty() || n != sizes.back()) sizes.push_back(n);
        if (int(sizes.size()) > kMaxStages)
            throw_usage("--scales: more than " + std::to_string(kMaxStages) + " stages; use a larger FACTOR");
    }
    std::reverse(sizes.begin(), sizes.end());
    return sizes;
}

std::vector<int> listed_sizes(const std::string& text) {
    std::vector<int> sizes;
    for (const std::string& item : split(text, ',')) {
        const int n = parse_int(item, "--scales");
        check_size(n);
        if (!sizes.empty() && n <= sizes.back())
            throw_usage("--scales: sizes must increase strictly (" + std::to_string(sizes.back()) + " then " +
                        std::to_string(n) + ")");
        sizes.push_back(n);
    }
    if (int(sizes.size()) > kMaxStages) throw_usage("--scales: more than " + std::to_string(kMaxStages) + " stages");
    return sizes;
}

}  // namespace

std::vector<Stage> parse_stages(const std::string& scales, const std::string& iterations, int image_size,
                                bool image_size_given) {
    if (!scales.empty() && image_size_given)
        throw_usage("--image-size and --scales: give one of them (--scales sets each stage's size)");
    const std::vector<int> sizes = scales.empty()                                  ? std::vector<int>{image_size}
                                   : scales.find(':') != std::string::npos ? geometric_sizes(scales)
                                                                           : listed_sizes(scales);
    std::vector<int> counts;
    for (const std::string& item : split(iterations, ',')) {
        const int n = parse_int(item, "--num-iterations");
        if (n < 0) throw_usage("--num-iterations: must be >= 0");
        counts.push_back(n);
    }
    if (counts.size() != 1 && counts.size() != sizes.size())
        throw_usage("--num-iterations: " + std::to_string(counts.size()) + " counts for " +
                    std::to_string(sizes.size()) + " stages (give one count, or one per stage)");
    std::vector<Stage> stages;
    for (std::size_t k = 0; k < sizes.size(); ++k) stages.push_back({sizes[k], counts.size() == 1 ? counts[0] : counts[k]});
    return stages;
}

Tensor<float> upsample_init(const Tensor<float>& x_prev, const Problem& next) {
    Tensor<float> rgb(x_prev.shape());
    next.pre.to_image(rgb.view(), x_prev.cview());
    // Clamped like an image file read back, so a stage starts where `--init <stage file>` would.
    for (std::size_t i = 0; i < rgb.numel(); ++i) rgb[i] = std::min(1.0f, std::max(0.0f, rgb[i]));
    const Shape shape = next.spec.content.shape();
    Tensor<float> x = to_network(std::move(rgb), next.pre, shape.h, shape.w);
    color_init_image(next.color, next.pre, x);
    return x;
}

}  // namespace nst::cli
