// SPDX-License-Identifier: MIT
// `nst train --method wct-decoder --level N` end to end on tiny generated images: the model is a
// wct-decoder of the level (nst.level, the training metadata), the CPU step's gradient equals the
// loss function's (engine/wct_decoder_loss.h, tested against central differences in
// test_wct_train.cpp), a few Adam steps on one batch lower the loss, the trained decoder runs in
// `nst stylize --method wct`, and bad settings fail with exit 2 / 3, nothing written.
#include <doctest/doctest.h>

#include <filesystem>

#include "engine/wct_decoder_loss.h"
#include "engine/wct_train_step.h"
#include "nn/net_model.h"
#include "nn/wct_net.h"
#include "test_util.h"

using namespace nst;

TEST_CASE("train wct cli: a short run writes a decoder of the level that stylize runs") {
    const std::string dir = test::temp_dir("cli_wct_train");
    const std::string data = dir + "/content";
    std::filesystem::create_directories(data);
    test::smooth_png(data, "a.png", 40, 30, 1);
    test::smooth_png(data, "b.png", 24, 36, 2);
    const std::string out = dir + "/d2.safetensors";
    const test::RunResult r =
        test::run_nst({"train", "--method", "wct-decoder", "--level", "2", "--dataset", data, "--encoder", "random:1",
                       "--output", out, "--image-size", "16", "--batch-size", "2", "--iterations", "2", "--quiet"});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const NetModel m = load_model(out);
    CHECK(m.desc.arch == "wct-decoder");
    CHECK(m.metadata.at("nst.level") == "2");
    CHECK(m.metadata.at("nst.io") == "rgb01");
    CHECK(m.metadata.at("nst.train.method") == "wct-decoder");
    CHECK(m.metadata.at("nst.train.level") == "2");
    CHECK(m.metadata.at("nst.train.feature_weight") == "1");
    CHECK(m.metadata.at("nst.train.iteration") == "2");

    // The encoder the run used, written out, and the decoder in stylize.
    NetModel enc = random_vgg_normalised(1);
    save_model(dir + "/enc.safetensors", enc);
    const std::string png = test::smooth_png(dir, "c.png", 20, 20, 3);
    const test::RunResult s = test::run_nst({"stylize", "--method", "wct", "--model", out, "--encoder",
                                             dir + "/enc.safetensors", "--content", png, "--style", png, "--output",
                                             dir + "/o.png"});
    INFO(s.err);
    CHECK(s.exit_code == 0);

    // Errors: a level the image size does not fit, an encoder too shallow, an unknown level.
    const std::string keep = dir + "/keep.safetensors";
    test::write_file(keep, "keep");
    auto args = [&](std::vector<std::string> extra) {
        std::vector<std::string> a = {"train", "--method", "wct-decoder", "--dataset", data, "--output", keep,
                                      "--iterations", "1", "--quiet"};
        a.insert(a.end(), extra.begin(), extra.end());
        return a;
    };
    test::check_cli_error(args({"--level", "5", "--encoder", "random:1", "--image-size", "24"}), 2, keep, "level 5");
    test::check_cli_error(args({"--level", "6", "--encoder", "random:1", "--image-size", "32"}), 2, keep, "--level");
    save_model(dir + "/adain_enc.safetensors", [] {
        NetModel e;
        e.desc = encoder_prefix(vgg_normalised_desc(), 4);
        e.desc.arch = "adain-encoder";
        e.params = init_params(e.desc, 1);
        return e;
    }());
    test::check_cli_error(args({"--level", "5", "--encoder", dir + "/adain_enc.safetensors", "--image-size", "32"}), 3,
                          keep, "relu4_1");
}

TEST_CASE("train wct: the step's gradient is the loss's and Adam lowers the loss") {
    TrainConfig c;
    c.method = TrainMethod::WctDecoder;
    c.wct.level = 2;
    c.desc = wct_decoder_desc(2);
    c.sample.image_size = 8;
    c.sample.seed = 5;
    c.batch_size = 2;
    c.learning_rate = 1e-3;
    const NetModel enc = random_vgg_normalised(3);
    std::unique_ptr<TrainStep> step = make_wct_train_step(c, enc);
    const Tensor<float> x = test::random_tensor<float>(Shape{2, 3, 8, 8}, 9, 0, 1);
    TrainBatch batch;
    batch.content = x.cview();
    const LossTerms t0 = step->evaluate(batch);
    // The same loss on fresh networks from the same parameters.
    cpu::Network<float> e(encoder_prefix(enc.desc, 2), enc.params.data());
    const std::vector<float> p0 = init_params(c.desc, 5);
    cpu::Network<float> d(c.desc, p0.data());
    std::vector<float> g(p0.size(), 0.f);
    const WctDecoderLoss l = wct_decoder_loss<float>(e, d, x.cview(), 1.0, g.data());
    CHECK(t0.total == doctest::Approx(l.pixel + l.feature).epsilon(1e-12));
    const std::vector<float> sg = step->gradient();
    CHECK(test::rel_l2(sg.data(), g.data(), g.size()) == 0.0);
    double last = t0.total;
    for (int i = 0; i < 5; ++i) {
        step->update(c.learning_rate);
        last = step->evaluate(batch).total;
    }
    MESSAGE("loss " << t0.total << " -> " << last << " after 5 Adam steps");
    CHECK(last < t0.total);
}
