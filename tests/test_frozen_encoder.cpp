// SPDX-License-Identifier: MIT
// engine/frozen_encoder.h: the encoder cut at its taps runs the whole network's layers (the taps'
// values equal a forward of each prefix as one cpu::Network), and backward with gradients at
// several taps is the gradient of sum_k <R_k, tap_k(x)>, checked by central differences in
// double along random directions. TrainedDecoder's Adam state round-trips.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "core/rng.h"
#include "engine/adain_train_step.h"
#include "engine/frozen_encoder.h"
#include "nn/adain_net.h"
#include "nn/network.h"
#include "test_util.h"

using namespace nst;

namespace {

std::vector<double> rng_vector(std::size_t n, std::uint64_t stream, double lo, double hi) {
    std::vector<double> v(n);
    for (std::size_t i = 0; i < n; ++i) v[i] = lo + (hi - lo) * rng::uniform(77, stream, i);
    return v;
}

}  // namespace

TEST_CASE("frozen encoder: taps equal the prefixes run whole") {
    const NetModel enc = random_adain_encoder(3);
    const std::vector<int> taps = {adain_encoder_relu_layers()[0], adain_encoder_relu_layers()[2],
                                   adain_encoder_relu_layers()[3]};
    FrozenEncoder<double> fe(enc.desc, enc.params.data(), taps);
    const Shape in{2, 3, 16, 16};
    const std::vector<double> x = rng_vector(in.numel(), 1, 0.0, 1.0);
    fe.forward(ConstView<double>(x.data(), in), false);
    for (std::size_t k = 0; k < taps.size(); ++k) {
        cpu::Network<double> whole(slice_desc(enc.desc, 0, taps[k]), enc.params.data());
        const ConstView<double> ref = whole.forward(ConstView<double>(x.data(), in), false);
        REQUIRE(ref.shape == fe.tap(k).shape);
        CHECK(test::rel_l2(fe.tap(k).data, ref.data, ref.numel()) <= 1e-14);
    }
    CHECK(param_offset(enc.desc, 0) == 0);
    CHECK(param_offset(enc.desc, int(enc.desc.layers.size())) == param_count(enc.desc));
}

TEST_CASE("frozen encoder: backward with gradients at every tap matches central differences") {
    const NetModel enc = random_adain_encoder(4);
    const std::array<int, 4> relu = adain_encoder_relu_layers();
    const std::vector<int> taps(relu.begin(), relu.end());
    FrozenEncoder<double> fe(enc.desc, enc.params.data(), taps);
    const Shape in{1, 3, 16, 16};
    const std::vector<double> x = rng_vector(in.numel(), 2, 0.0, 1.0);
    // L(x) = sum_k <R_k, tap_k(x)>, R_k from the rng (none at tap 1: an empty gradient).
    fe.forward(ConstView<double>(x.data(), in), true);
    std::vector<std::vector<double>> R(taps.size());
    std::vector<ConstView<double>> dtaps(taps.size());
    for (std::size_t k = 0; k < taps.size(); ++k) {
        if (k == 1) continue;
        R[k] = rng_vector(fe.tap(k).numel(), 10 + k, -1.0, 1.0);
        dtaps[k] = ConstView<double>(R[k].data(), fe.tap(k).shape);
    }
    std::vector<double> dx(in.numel());
    fe.backward(dtaps, TensorView<double>(dx.data(), in));
    auto loss = [&](const std::vector<double>& xp) {
        FrozenEncoder<double> f(enc.desc, enc.params.data(), taps);
        f.forward(ConstView<double>(xp.data(), in), false);
        double s = 0;
        for (std::size_t k = 0; k < taps.size(); ++k)
            for (std::size_t i = 0; i < R[k].size(); ++i) s += R[k][i] * f.tap(k).data[i];
        return s;
    };
    for (std::uint64_t dir = 0; dir < 3; ++dir) {
        const std::vector<double> v = rng_vector(in.numel(), 20 + dir, -1.0, 1.0);
        double analytic = 0;
        for (std::size_t i = 0; i < v.size(); ++i) analytic += dx[i] * v[i];
        const double numeric = test::directional_difference(loss, x, v, 1e-6);
        CHECK(std::fabs(analytic - numeric) <= 1e-6 * std::fabs(numeric) + 1e-9);
    }
}

TEST_CASE("frozen encoder: the trained decoder's state round-trips") {
    const NetDesc desc = adain_decoder_desc();
    TrainedDecoder<float> a(desc, init_params(desc, 1), 1e-4);
    for (std::size_t i = 0; i < a.param_count(); i += 1000) a.grads()[i] = 1e-3f * float(i % 7) - 2e-3f;
    a.update(1e-4);
    const TrainAdamState s = a.adam_state();
    TrainedDecoder<float> b(desc, init_params(desc, 2), 1e-4);
    b.restore(a.params(), s);
    CHECK(b.params() == a.params());
    CHECK(b.adam_state().m == s.m);
    CHECK(b.adam_state().step == 1);
}
