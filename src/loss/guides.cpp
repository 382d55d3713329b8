// SPDX-License-Identifier: MIT
// Pixel masks to layer guides (guides.h): VGG19's geometry applied to the mask, layer by layer.
#include "loss/guides.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "nn/vgg19_layers.h"

namespace nst {

GuidePropagation parse_guide_propagation(const std::string& name) {
    if (name == "simple") return GuidePropagation::Simple;
    if (name == "inside") return GuidePropagation::Inside;
    if (name == "all") return GuidePropagation::All;
    throw_usage("--mask-propagation: unknown mode '" + name + "' (choose simple, inside or all)");
}

const char* guide_propagation_name(GuidePropagation p) {
    switch (p) {
        case GuidePropagation::Simple: return "simple";
        case GuidePropagation::Inside: return "inside";
        case GuidePropagation::All: return "all";
    }
    return "?";
}

namespace {

// A plane of h x w doubles, row-major.
struct Plane {
    int h = 0, w = 0;
    std::vector<double> v;
    double& at(int i, int j) { return v[std::size_t(i) * w + j]; }
    double at(int i, int j) const { return v[std::size_t(i) * w + j]; }
};

void binarize(Plane& p) {
    for (double& x : p.v) x = x >= 0.5 ? 1.0 : 0.0;
}

// Binary erosion (all neighbours in) or dilation (any neighbour in) over a (2r+1)^2 square;
// neighbours outside the plane are ignored, as a conv's zero padding carries no region.
Plane morph(const Plane& in, int r, bool erode) {
    Plane out{in.h, in.w, std::vector<double>(in.v.size())};
    for (int i = 0; i < in.h; ++i)
        for (int j = 0; j < in.w; ++j) {
            bool all = true, any = false;
            for (int di = -r; di <= r; ++di)
                for (int dj = -r; dj <= r; ++dj) {
                    const int y = i + di, x = j + dj;
                    if (y < 0 || y >= in.h || x < 0 || x >= in.w) continue;
                    const bool b = in.at(y, x) != 0;
                    all = all && b;
                    any = any || b;
                }
            out.at(i, j) = (erode ? all : any) ? 1.0 : 0.0;
        }
    return out;
}

// 2x2 stride-2 pooling of the guide (odd last row/column dropped, as the network's pools).
Plane pool(const Plane& in, GuidePropagation mode) {
    Plane out{in.h / 2, in.w / 2, {}};
    out.v.resize(std::size_t(out.h) * out.w);
    for (int i = 0; i < out.h; ++i)
        for (int j = 0; j < out.w; ++j) {
            const double a = in.at(2 * i, 2 * j), b = in.at(2 * i, 2 * j + 1), c = in.at(2 * i + 1, 2 * j),
                         d = in.at(2 * i + 1, 2 * j + 1);
            double v = 0;
            switch (mode) {
                case GuidePropagation::Simple: v = 0.25 * ((a + b) + (c + d)); break;
                case GuidePropagation::Inside: v = std::min(std::min(a, b), std::min(c, d)); break;
                case GuidePropagation::All: v = std::max(std::max(a, b), std::max(c, d)); break;
            }
            out.at(i, j) = v;
        }
    return out;
}

}  // namespace

Tensor<double> propagate_guide(ConstView<float> mask, int layer, const GuideOptions& options) {
    NST_REQUIRE(mask.device == Device::Host, "propagate_guide: host mask only");
    NST_REQUIRE(mask.shape.n == 1 && mask.shape.c == 1 && mask.shape.h > 0 && mask.shape.w > 0,
                "propagate_guide: mask must be (1, 1, H, W), got " + mask.shape.str());
    NST_REQUIRE(layer >= 0 && layer < kNumLayers, "propagate_guide: layer index out of range");
    Plane p{mask.shape.h, mask.shape.w, std::vector<double>(mask.data, mask.data + mask.numel())};
    const bool binary = options.mode != GuidePropagation::Simple || options.grow != 0;
    if (binary) binarize(p);
    if (options.grow != 0) p = morph(p, std::abs(options.grow), options.grow < 0);
    const auto& table = vgg19_layers();
    for (int k = 0; k <= layer; ++k) {
        switch (table[k].kind) {
            case LayerKind::Conv:
                if (options.mode != GuidePropagation::Simple) p = morph(p, 1, options.mode == GuidePropagation::Inside);
                break;
            case LayerKind::Relu: break;
            case LayerKind::Pool: p = pool(p, options.mode); break;
        }
    }
    Tensor<double> out(Shape{1, 1, p.h, p.w});
    std::copy(p.v.begin(), p.v.end(), out.data());
    return out;
}

bool mask_is_empty(ConstView<float> mask, const GuideOptions& options) {
    const bool binary = options.mode != GuidePropagation::Simple || options.grow != 0;
    for (float v : mask)
        if (binary ? v >= 0.5f : v > 0.0f) return false;
    return true;
}

bool normalize_guide(Tensor<double>& guide) {
    double sq = 0;
    for (double v : guide) sq += v * v;
    if (!(sq > 0) || guide.numel() == 0) {
        for (double& v : guide) v = 0;
        return false;
    }
    const double s = 1.0 / std::sqrt(sq / double(guide.numel()));
    for (double& v : guide) v *= s;
    return true;
}

}  // namespace nst
