// SPDX-License-Identifier: MIT
// The trainer's method plumbing (engine/train.h): checkpoints written before the method, decay
// and resize settings existed resume as the perceptual method with a constant rate, the
// learning-rate schedule, and the style dataset required by adain and refused by perceptual.
#include <doctest/doctest.h>

#include "engine/adain_train_step.h"
#include "engine/train.h"
#include "engine/train_checkpoint.h"
#include "engine/train_step_cpu.h"
#include "io/image.h"
#include "nn/adain_net.h"
#include "nn/transformer_net.h"
#include "nn/weights.h"
#include "test_util.h"

using namespace nst;

namespace {

const VggWeights& weights() {
    static const VggWeights w = random_weights(31, VggArch::Vgg16);
    return w;
}

TrainConfig perceptual(long long iterations) {
    TrainConfig c;
    c.desc = transformer_net_desc(TransformerLayout::PytorchExamples, 4);
    c.loss.content_layers = parse_layer_list("relu2_2", "--content-layers", VggArch::Vgg16);
    c.loss.style_layers = parse_layer_list("relu1_2,relu2_2", "--style-layers", VggArch::Vgg16);
    c.loss.content_weight = 1;
    c.loss.style_weight = 1e3;
    c.loss.preprocess = PreprocessKind::Caffe;
    c.sample.image_size = 16;
    c.batch_size = 1;
    c.iterations = iterations;
    c.learning_rate = 1e-3;
    return c;
}

}  // namespace

TEST_CASE("train methods: a checkpoint of the perceptual trainer without the new keys resumes bit-identically") {
    const std::string dir = test::temp_dir("train_methods_legacy");
    test::smooth_png(dir, "a.png", 24, 20, 1);
    test::smooth_png(dir, "b.png", 20, 28, 2);
    const ImageDataset data(dir);
    const Tensor<float> style = load_image(test::smooth_png(test::temp_dir("train_methods_style"), "s.png", 20, 20, 3));
    cpu::VggNet<float> net(weights(), Pooling::Max);
    Trainer whole(perceptual(3), data, net, style.cview());
    whole.run();
    const std::string ckpt = dir + "/../legacy.safetensors";
    TrainConfig head = perceptual(2);
    head.checkpoint_every = 2;
    head.checkpoint_path = ckpt;
    Trainer(head, data, net, style.cview()).run();
    // As issue #12's trainer wrote it: none of the keys added for the other methods.
    TrainCheckpoint c = load_train_checkpoint(ckpt);
    for (const char* k : {"nst.train.method", "nst.train.lr_decay", "nst.train.resize", "nst.train.resize_mode"})
        CHECK(c.model.metadata.erase(k) == 1);
    save_train_checkpoint(ckpt, c);
    Trainer tail(perceptual(3), data, net, style.cview());
    tail.resume(ckpt);
    tail.run();
    CHECK(tail.model().params == whole.model().params);
    // A decayed run is another run.
    TrainConfig decayed = perceptual(3);
    decayed.lr_decay = 0.5;
    Trainer other(decayed, data, net, style.cview());
    CHECK_THROWS_WITH_AS(other.resume(ckpt), doctest::Contains("nst.train.lr_decay"), Error);
}

TEST_CASE("train methods: the schedule and the style dataset") {
    TrainConfig c = perceptual(1);
    c.learning_rate = 1e-4;
    c.lr_decay = 5e-5;
    CHECK(train_learning_rate(c, 0) == 1e-4);
    CHECK(train_learning_rate(c, 20000) == doctest::Approx(5e-5).epsilon(1e-15));
    c.lr_decay = -1;
    CHECK_THROWS_WITH_AS(check_train_config(c), doctest::Contains("--lr-decay"), Error);

    const std::string dir = test::temp_dir("train_methods_style_dataset");
    test::smooth_png(dir, "a.png", 24, 24, 1);
    const ImageDataset data(dir);
    cpu::VggNet<float> net(weights(), Pooling::Max);
    const Tensor<float> style = load_image(dir + "/a.png");
    const TrainConfig p = perceptual(1);
    CHECK_THROWS_WITH_AS(Trainer(p, data, make_cpu_train_step(p, net, style.cview()), &data),
                         doctest::Contains("--style-dataset"), Error);
    TrainConfig a;
    a.method = TrainMethod::Adain;
    a.desc = adain_decoder_desc();
    a.sample.image_size = a.style_sample.image_size = 16;
    a.batch_size = 1;
    a.iterations = 1;
    a.learning_rate = 1e-4;
    CHECK_THROWS_WITH_AS(Trainer(a, data, make_adain_train_step(a, random_adain_encoder(1))),
                         doctest::Contains("--style-dataset"), Error);
    Trainer t(a, data, make_adain_train_step(a, random_adain_encoder(1)), &data);
    t.run();
    CHECK(t.model().metadata.at("nst.train.method") == "adain");
    CHECK(t.model().metadata.at("nst.io") == "rgb01");
}
