// SPDX-License-Identifier: MIT
// Colour histogram matching by an affine map (Gatys, Bethge, Hertzmann & Shechtman 2016,
// arXiv 1606.05897 §5.2; the authors' `match_color` in NeuralImageSynthesis). The *target*
// image is recoloured so that its colour mean and covariance become the *source*'s:
//
//   out = A (x − μ_t) + μ_s,   A Σ_t Aᵀ = Σ_s,   then clipped to [0, 1]
//
// with Σ the population covariance (÷N) of the RGB values in [0, 1] plus eps·I — on both
// covariances, as NIS does, so that a grey image (rank-1 covariance) still has an inverse
// square root. The three choices of A:
//   chol: A = L_s L_t⁻¹                         (lower Cholesky factors, Σ = L Lᵀ)
//   pca:  A = Σ_s^½ Σ_t^−½                       (Σ^½ = V Λ^½ Vᵀ; what the NIS notebooks call)
//   sym:  A = Σ_t^−½ (Σ_t^½ Σ_s Σ_t^½)^½ Σ_t^−½  (the symmetric, Monge–Kantorovich solution)
// All statistics and A are computed in double; pixels are stored as float.
#pragma once
#include <string>

#include "color/mat3.h"
#include "core/tensor.h"

namespace nst::color {

enum class MatchMode { Chol, Pca, Sym };
constexpr double kDefaultMatchEps = 1e-5;

MatchMode parse_match_mode(const std::string& name, const std::string& option);  // usage error
const char* match_mode_name(MatchMode mode);

struct ColorStats {
    Vec3 mean{};  // per channel R, G, B
    Mat3 cov{};   // population covariance, ÷N (no eps)
};

ColorStats color_stats(ConstView<float> rgb);  // rgb: (1, 3, H, W)

// False when every pixel has the same colour (zero variance in every channel): such an image
// has no colour distribution to match to or from, so callers report it as an input error.
bool has_color_variation(ConstView<float> rgb);  // rgb: (1, 3, H, W)
// Throws nst::Error(Input) "<what>: has no colour variation ..." unless has_color_variation.
void require_color_variation(ConstView<float> rgb, const std::string& what);

// out = a·x + b per pixel.
struct ColorMap {
    Mat3 a{};
    Vec3 b{};
};

// The map taking the target's statistics to the source's, eps·I added to both covariances.
// Throws nst::Error(Input) when a covariance + eps·I is not positive definite (only possible
// with eps = 0 and a grey or two-colour image).
ColorMap match_color_map(const ColorStats& target, const ColorStats& source, MatchMode mode,
                         double eps = kDefaultMatchEps);

// out = clip(a·rgb + b, 0, 1); out may alias rgb. Both (1, 3, H, W).
void apply_color_map(TensorView<float> out, ConstView<float> rgb, const ColorMap& map);

// The target recoloured to the source's colour statistics, at the target's size.
// target: (1, 3, H, W), source: (1, 3, h, w), both RGB in [0, 1].
Tensor<float> match_color(ConstView<float> target, ConstView<float> source, MatchMode mode,
                          double eps = kDefaultMatchEps);

}  // namespace nst::color
