// SPDX-License-Identifier: MIT
// loss/adain_loss.h, AdaIN's mean/std style loss, in double: the value against the formula
// written out here (torch.var's unbiased / biased variance, nn.MSELoss's mean over N C for the
// port, the sum over C divided by N for the official code), and the gradient against central
// differences along random directions (rel 1e-7), for both conventions.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "core/rng.h"
#include "loss/adain_loss.h"
#include "test_util.h"

using namespace nst;

TEST_CASE("adain loss: value by the formula and gradient by central differences") {
    const Shape s{2, 3, 5, 4};
    const Shape st{2, 3, 1, 1};
    std::vector<double> f(s.numel());
    for (std::size_t i = 0; i < f.size(); ++i) f[i] = 3.0 * rng::normal(5, 1, i) + 0.5;
    std::vector<float> tm(st.numel()), ts(st.numel());
    for (std::size_t i = 0; i < tm.size(); ++i) {
        tm[i] = float(rng::uniform(5, 2, i) - 0.5);
        ts[i] = float(0.5 + 3 * rng::uniform(5, 3, i));
    }
    for (bool port : {true, false}) {
        CAPTURE(port);
        const AdainLossConstants k = adain_loss_constants(port);
        CHECK(k.unbiased == port);
        CHECK(k.eps == (port ? 1e-5 : 1e-6));
        const double weight = port ? 10.0 : 1e-2;
        auto loss = [&](const std::vector<double>& x) {
            return cpu::adain_style_loss<double>({x.data(), s}, {tm.data(), st}, {ts.data(), st}, k, weight, {});
        };
        // The formula: per plane mean and sigma = sqrt(var + eps), var unbiased (port) or biased.
        long double expect = 0;
        const int hw = s.h * s.w;
        for (int p = 0; p < s.n * s.c; ++p) {
            long double m = 0, q = 0;
            for (int i = 0; i < hw; ++i) m += f[std::size_t(p * hw + i)];
            m /= hw;
            for (int i = 0; i < hw; ++i) q += (f[std::size_t(p * hw + i)] - m) * (f[std::size_t(p * hw + i)] - m);
            const long double sigma = std::sqrt(q / (port ? hw - 1 : hw) + k.eps);
            expect += (m - tm[std::size_t(p)]) * (m - tm[std::size_t(p)]) +
                      (sigma - ts[std::size_t(p)]) * (sigma - ts[std::size_t(p)]);
        }
        expect *= weight / (port ? double(s.n * s.c) : double(s.n));
        CHECK(std::fabs(loss(f) - double(expect)) <= 1e-13 * double(expect));
        std::vector<double> g(f.size(), 0.5);  // adds onto what is there
        const double v = cpu::adain_style_loss<double>({f.data(), s}, {tm.data(), st}, {ts.data(), st}, k, weight,
                                                       {g.data(), s});
        CHECK(v == loss(f));
        for (double& x : g) x -= 0.5;
        for (std::uint64_t d = 0; d < 3; ++d) {
            std::vector<double> dir(f.size());
            for (std::size_t i = 0; i < dir.size(); ++i) dir[i] = rng::uniform(6, 10 + d, i) - 0.5;
            double analytic = 0;
            for (std::size_t i = 0; i < g.size(); ++i) analytic += g[i] * dir[i];
            const double numeric = test::directional_difference(loss, f, dir, 1e-5);
            CHECK(std::fabs(analytic - numeric) <= 1e-7 * std::fabs(numeric));
        }
    }
}
