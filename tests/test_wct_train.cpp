// SPDX-License-Identifier: MIT
// The WCT decoder's training loss (engine/wct_decoder_loss.h): the decoder's parameter gradient
// against central differences of the loss in double (directional derivatives along random
// directions; level 1: pad + conv to RGB; level 2: ReLU and upsampling in the decoder, pooling in
// the encoder's second pass), the pixel term against a plain recomputation, and the float path
// against the double one. Tolerances: 1e-6 relative for the double derivatives (central
// differences at eps 1e-7, small enough that no ReLU or max-pool decision flips; at 1e-5 some do
// and the level-2 differences move by 1e-3), 1e-4 for float vs double.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "core/rng.h"
#include "engine/wct_decoder_loss.h"
#include "nn/adain_net.h"
#include "nn/net_model.h"
#include "nn/wct_net.h"
#include "test_util.h"

using namespace nst;

namespace {

// init_params with the He-like gain of tests/test_wct_net.cpp on conv weights.
std::vector<float> gained(const NetDesc& desc, std::uint64_t seed) {
    std::vector<float> p = init_params(desc, seed);
    for (const ParamInfo& info : param_layout(desc))
        if (info.name.size() > 7 && info.name.compare(info.name.size() - 7, 7, ".weight") == 0)
            for (std::size_t j = 0; j < info.shape.numel(); ++j) p[info.offset + j] *= 2.5f;
    return p;
}

}  // namespace

TEST_CASE("wct train: decoder loss gradient vs central differences in double") {
    for (const int level : {1, 2}) {
        CAPTURE(level);
        const NetDesc enc_desc = encoder_prefix(adain_encoder_desc(), level);
        const NetDesc dec_desc = wct_decoder_desc(level);
        const std::vector<float> ep = gained(enc_desc, 7), dp = gained(dec_desc, 20 + level);
        cpu::Network<double> enc(enc_desc, ep.data()), dec(dec_desc, dp.data());
        const Shape s{2, 3, 8, 6};
        const Tensor<double> c = test::random_tensor<double>(s, 40 + level, 0, 1);
        const std::size_t np = param_count(dec_desc);
        std::vector<double> grads(np, 0.0);
        const double lambda = 0.7;
        const WctDecoderLoss l = wct_decoder_loss(enc, dec, c.cview(), lambda, grads.data());

        // The pixel term by hand.
        const Tensor<double> f = [&] {
            const ConstView<double> v = enc.forward(c.cview(), false);
            Tensor<double> t(v.shape);
            std::copy(v.begin(), v.end(), t.data());
            return t;
        }();
        const ConstView<double> y = dec.forward(f.cview(), false);
        double pix = 0;
        for (std::size_t i = 0; i < y.numel(); ++i) pix += (y.data[i] - c.data()[i]) * (y.data[i] - c.data()[i]);
        pix /= double(y.numel());
        CHECK(l.pixel == doctest::Approx(pix).epsilon(1e-12));
        CHECK(l.feature > 0);

        // Directional derivatives along three random directions.
        const std::vector<double> base(dec.params(), dec.params() + np);
        auto loss_of = [&](const std::vector<double>& p) {
            std::copy(p.begin(), p.end(), dec.params());
            std::vector<double> g(np, 0.0);
            const WctDecoderLoss v = wct_decoder_loss(enc, dec, c.cview(), lambda, g.data());
            return v.pixel + v.feature;
        };
        for (std::uint64_t k = 0; k < 3; ++k) {
            std::vector<double> v(np);
            for (std::size_t i = 0; i < np; ++i) v[i] = 2 * rng::uniform(91, 10 + k, i) - 1;
            const double fd = test::directional_difference(loss_of, base, v, 1e-7);
            double an = 0;
            for (std::size_t i = 0; i < np; ++i) an += grads[i] * v[i];
            MESSAGE("level " << level << " direction " << k << ": analytic " << an << ", central difference " << fd);
            CHECK(std::fabs(an - fd) <= 1e-6 * std::fabs(fd));
        }
        std::copy(base.begin(), base.end(), dec.params());

        // Float vs double.
        cpu::Network<float> encf(enc_desc, ep.data()), decf(dec_desc, dp.data());
        Tensor<float> cf(s);
        for (std::size_t i = 0; i < cf.numel(); ++i) cf.data()[i] = float(c.data()[i]);
        std::vector<float> gf(np, 0.f);
        const WctDecoderLoss lf = wct_decoder_loss(encf, decf, cf.cview(), lambda, gf.data());
        CHECK(lf.pixel == doctest::Approx(l.pixel).epsilon(1e-4));
        CHECK(lf.feature == doctest::Approx(l.feature).epsilon(1e-4));
        CHECK(test::rel_l2(gf.data(), grads.data(), np) < 1e-4);
    }
}

TEST_CASE("wct train: a decoded size other than the batch's is an input error") {
    const NetDesc enc_desc = encoder_prefix(adain_encoder_desc(), 2);
    const NetDesc dec_desc = wct_decoder_desc(2);
    const std::vector<float> ep = init_params(enc_desc, 1), dp = init_params(dec_desc, 2);
    cpu::Network<float> enc(enc_desc, ep.data()), dec(dec_desc, dp.data());
    const Tensor<float> c = test::random_tensor<float>(Shape{1, 3, 7, 8}, 3, 0, 1);  // 7 rows: not even
    std::vector<float> g(param_count(dec_desc), 0.f);
    CHECK_THROWS_AS(wct_decoder_loss(enc, dec, c.cview(), 1.0, g.data()), Error);
}
