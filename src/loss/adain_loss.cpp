// SPDX-License-Identifier: MIT
#include "loss/adain_loss.h"

#include <cmath>
#include <vector>

#include "core/error.h"

namespace nst {

AdainLossConstants adain_loss_constants(bool port) {
    AdainLossConstants k;
    k.unbiased = port;
    k.eps = port ? 1e-5 : 1e-6;
    k.mean_over_channels = port;
    return k;
}

namespace cpu {

template <typename T>
double adain_style_loss(ConstView<T> f, ConstView<float> target_mean, ConstView<float> target_std,
                        const AdainLossConstants& k, double weight, TensorView<T> df) {
    const Shape st{f.shape.n, f.shape.c, 1, 1};
    NST_REQUIRE(target_mean.shape == st && target_std.shape == st, "adain_style_loss: targets " +
                                                                       target_mean.shape.str() + " for " + f.shape.str());
    NST_REQUIRE(df.empty() || df.shape == f.shape, "adain_style_loss: gradient " + df.shape.str());
    const std::size_t hw = f.shape.plane();
    NST_REQUIRE(hw >= (k.unbiased ? 2u : 1u), "adain_style_loss: a plane needs two values for the unbiased variance");
    const int planes = f.shape.n * f.shape.c;
    const double scale = weight / (k.mean_over_channels ? double(planes) : double(f.shape.n));
    const double d = double(hw) - (k.unbiased ? 1.0 : 0.0);
    std::vector<double> value(std::size_t(planes), 0.0);  // per plane, summed in order below
#pragma omp parallel for schedule(static)
    for (int p = 0; p < planes; ++p) {
        const T* x = f.data + std::size_t(p) * hw;
        double sum = 0;
        for (std::size_t i = 0; i < hw; ++i) sum += x[i];
        const double mu = sum / double(hw);
        double sq = 0;
        for (std::size_t i = 0; i < hw; ++i) sq += (x[i] - mu) * (x[i] - mu);
        const double sigma = std::sqrt(sq / d + k.eps);
        const double dmu = mu - double(target_mean.data[p]), dsigma = sigma - double(target_std.data[p]);
        value[std::size_t(p)] = dmu * dmu + dsigma * dsigma;
        if (df.empty()) continue;
        const double a = scale * 2 * dmu / double(hw), b = scale * 2 * dsigma / (d * sigma);
        T* g = df.data + std::size_t(p) * hw;
        for (std::size_t i = 0; i < hw; ++i) g[i] += T(a + b * (double(x[i]) - mu));
    }
    double total = 0;
    for (double v : value) total += v;
    return scale * total;
}

template double adain_style_loss<float>(ConstView<float>, ConstView<float>, ConstView<float>,
                                        const AdainLossConstants&, double, TensorView<float>);
template double adain_style_loss<double>(ConstView<double>, ConstView<float>, ConstView<float>,
                                         const AdainLossConstants&, double, TensorView<double>);

}  // namespace cpu
}  // namespace nst
