// SPDX-License-Identifier: MIT
// AdaIN's decoder step (engine/adain_train_step.h) learning: thirty Adam steps on one fixed
// content/style pair (smooth generated images, a random encoder) lower the loss, under both
// conventions (measured: port 12.7 -> 3.17, official 2.97 -> 2.27; the official style terms
// weigh 1e-2 and fall slower); the settings the step refuses.
#include <doctest/doctest.h>

#include "engine/adain_train_step.h"
#include "io/image.h"
#include "nn/adain_net.h"
#include "test_util.h"

using namespace nst;

namespace {

TrainConfig config(AdainLossConvention convention) {
    TrainConfig c;
    c.method = TrainMethod::Adain;
    c.desc = adain_decoder_desc();
    c.adain.convention = convention;
    c.adain.style_weight = convention == AdainLossConvention::Port ? 10.0 : 1e-2;
    c.sample.image_size = c.style_sample.image_size = 32;
    c.batch_size = 1;
    c.learning_rate = 1e-3;
    return c;
}

}  // namespace

TEST_CASE("adain train: thirty steps on one pair lower the loss") {
    const std::string dir = test::temp_dir("adain_train_fit");
    const Tensor<float> content = load_image(test::smooth_png(dir, "c.png", 32, 32, 1));
    const Tensor<float> style = load_image(test::smooth_png(dir, "s.png", 32, 32, 2));
    const NetModel enc = random_adain_encoder(5);
    for (AdainLossConvention conv : {AdainLossConvention::Port, AdainLossConvention::Official}) {
        const std::string name = adain_loss_convention_name(conv);
        CAPTURE(name);
        auto step = make_adain_train_step(config(conv), enc);
        const TrainBatch batch{content.cview(), style.cview()};
        double first = 0, last = 0;
        for (int i = 0; i < 30; ++i) {
            const LossTerms t = step->evaluate(batch);
            REQUIRE(std::isfinite(t.total));
            if (i == 0) first = t.total;
            last = t.total;
            step->update(1e-3);
        }
        MESSAGE(name << ": loss " << first << " -> " << last);
        CHECK(last < (conv == AdainLossConvention::Port ? 0.5 : 0.9) * first);
    }
}

TEST_CASE("adain train: sizes and networks the step cannot train are refused") {
    const NetModel enc = random_adain_encoder(1);
    TrainConfig c = config(AdainLossConvention::Port);
    c.sample.image_size = c.style_sample.image_size = 20;
    CHECK_THROWS_WITH_AS(make_adain_train_step(c, enc), doctest::Contains("multiple of 8"), Error);
    c = config(AdainLossConvention::Port);
    c.style_sample.image_size = 24;
    CHECK_THROWS_AS(make_adain_train_step(c, enc), Error);
    c = config(AdainLossConvention::Port);
    NetModel not_encoder = enc;
    not_encoder.desc = adain_decoder_desc();
    CHECK_THROWS_WITH_AS(make_adain_train_step(c, not_encoder), doctest::Contains("not an adain-encoder"), Error);
}
