// SPDX-License-Identifier: MIT
// Whitening and colouring transforms (Li et al., "Universal Style Transfer via Feature
// Transforms", NIPS 2017; research/feedforward.md §6). Per sample, with F the (C, HW) features,
// m the channel means and Fc = F - m:
//   covariance  S = Fc Fc^T / (HW - 1)                          (official test_wct.lua)
//   whitening   W = E_c D_c^-1/2 E_c^T   from S_c = E_c D_c E_c^T
//   colouring   K = E_s D_s^+1/2 E_s^T   from S_s
//   output      y = alpha (K W Fc_c + m_s) + (1 - alpha) F_c
// Conventions (the official code's by default): eigenvalues below `truncation` (1e-5) are dropped
// from both decompositions (their directions contribute nothing, so constant or rank-deficient
// features give finite results), no eps on the diagonal. WctOptions::content_identity adds I to
// the content covariance before whitening, as sunshineatnoon/PytorchWCT does.
// Several styles (an nst extension, as AdaIN's interpolation): the coloured features are blended,
// sum_k w_k (K_k W Fc_c + m_k), i.e. K and m replaced by their weighted sums.
//
// Everything reduces to one affine map per sample, y = M Fc + shift with
//   M = alpha sum_k w_k K_k W + (1 - alpha) I,  shift = alpha sum_k w_k m_k + (1 - alpha) m_c,
// built in double on the host (the eigendecompositions are C x C, C <= 512) and applied to the
// centred float features by one SGEMM, which is what both backends do (cuda/wct_cuda.h).
#pragma once
#include <vector>

#include "core/tensor.h"

namespace nst {

inline constexpr double kWctTruncation = 1e-5;

struct WctOptions {
    double truncation = kWctTruncation;  // eigenvalues below it are dropped (official: 1e-5)
    bool content_identity = false;       // S_c + I before whitening (PytorchWCT)
};

// One sample's channel means and covariance, in double.
struct WctMoments {
    int channels = 0;
    std::vector<double> mean;  // C
    std::vector<double> cov;   // C x C row-major, Fc Fc^T / (HW - 1)
};

// The affine map above for one content sample.
struct WctTransform {
    int channels = 0;
    std::vector<double> matrix;  // C x C row-major (M)
    std::vector<double> shift;   // C
};

// W (power -1/2, content, with +I under content_identity) or K (power +1/2, style): C x C.
std::vector<double> wct_whitening(const WctMoments& content, const WctOptions& options);
std::vector<double> wct_colouring(const WctMoments& style, const WctOptions& options);

// M and shift for one content sample and K styles with weights (normalised to sum 1 here; a usage
// error for an empty list, negative, non-finite or all-zero weights) and alpha in [0, 1] (usage
// error otherwise). Style channel counts must equal the content's.
WctTransform wct_transform(const WctMoments& content, const std::vector<WctMoments>& styles,
                           const std::vector<double>& weights, double alpha, const WctOptions& options);

namespace cpu {

// centred = float(x - mean) per plane, mean in double (kernels::wct_center's twin). planes =
// N C, each of `plane` values. centred may alias x.
void wct_center(float* centred,   // (N, C, H, W)
                double* mean,     // (N C)
                const float* x,   // (N, C, H, W)
                int planes, std::size_t plane);

// y[c, i] += shift[c] in float (kernels::wct_shift's twin).
void wct_shift(float* y,             // (N, C, H, W)
               const float* shift,   // (N C)
               int planes, std::size_t plane);

// Moments of sample n of x (N, C, H, W): centred floats as wct_center gives them, covariance
// accumulated in double. HW >= 2 (input error otherwise: one position has no covariance).
WctMoments wct_moments(ConstView<float> x, int n);

// The whole transform: y = alpha * WCT(content, styles) + (1 - alpha) content per content sample
// (styles are one sample each, shared by the batch). alpha 0 copies the content exactly. y may
// alias content.
void wct_forward(TensorView<float> y,                     // (N, C, H, W)
                 ConstView<float> content,                // (N, C, H, W)
                 const std::vector<WctMoments>& styles,   // K entries, C channels
                 const std::vector<double>& weights,      // K entries
                 double alpha, const WctOptions& options);

}  // namespace cpu
}  // namespace nst
