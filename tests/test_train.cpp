// SPDX-License-Identifier: MIT
// Training (engine/train.h): a short run lowers the loss, the same seed gives the same bytes,
// resuming from a checkpoint gives the uninterrupted run's bits, and a stopped run keeps its
// last checkpoint. Small everything: a width-8 TransformerNet, 32 px crops, random VGG16 weights.
#include <doctest/doctest.h>

#include <algorithm>
#include <csignal>
#include <filesystem>

#include "core/interrupt.h"
#include "engine/train.h"
#include "engine/train_checkpoint.h"
#include "io/image.h"
#include "nn/transformer_net.h"
#include "optim/adam.h"
#include "test_errors.h"
#include "test_util.h"

using namespace nst;

namespace {

// Small copies (shorter side 48 px) of the shared images: decoding them costs nothing.
std::string small_dataset(const std::string& name, int count = 4) {
    const std::string dir = test::temp_dir(name);
    const char* files[] = {"tubingen.jpg", "starry_night.jpg", "shipwreck.jpg", "seated-nude.jpg", "the_scream.jpg"};
    for (int i = 0; i < count; ++i) {
        const Tensor<float> img = load_image(test::shared_image(files[i]));
        int h = 0, w = 0;
        target_size(img.shape().h, img.shape().w, 48, SizeRule::Short, h, w);
        save_image(dir + "/" + std::to_string(i) + ".png", resize_image(img.cview(), h, w).cview());
    }
    return dir;
}

// VGG16, the paper's loss network, with He-normal random weights (drawn once).
const VggWeights& loss_weights() {
    static const VggWeights w = random_weights(31, VggArch::Vgg16);
    return w;
}

TrainConfig small_config(long long iterations) {
    TrainConfig c;
    c.desc = transformer_net_desc(TransformerLayout::PytorchExamples, 8);
    c.loss.content_layers = parse_layer_list("relu2_2", "--content-layers", VggArch::Vgg16);
    c.loss.style_layers = parse_layer_list("relu1_2,relu2_2,relu3_3,relu4_3", "--style-layers", VggArch::Vgg16);
    c.loss.content_weight = 1;
    c.loss.style_weight = 1e3;
    c.loss.preprocess = PreprocessKind::Caffe;
    c.sample.image_size = 32;
    c.sample.seed = 5;
    c.batch_size = 2;
    c.iterations = iterations;
    c.learning_rate = 1e-2;
    return c;
}

struct Fixture {
    std::string data_dir;
    ImageDataset dataset;
    cpu::VggNet<float> net{loss_weights(), Pooling::Max};
    Tensor<float> style = load_image(test::shared_image("starry_night.jpg"));
    explicit Fixture(const std::string& name) : data_dir(small_dataset(name)), dataset(data_dir) {
        int h = 0, w = 0;
        target_size(style.shape().h, style.shape().w, 40, SizeRule::Short, h, w);
        style = resize_image(style.cview(), h, w);
    }
};

}  // namespace

TEST_CASE("train: twenty steps on one batch lower the loss") {
    // One image and centre crops: every step sees the same batch, so the loss must fall.
    const std::string dir = small_dataset("train_lowers", 1);
    const ImageDataset dataset(dir);
    cpu::VggNet<float> net(loss_weights(), Pooling::Max);
    const Tensor<float> style = resize_image(load_image(test::shared_image("starry_night.jpg")).cview(), 40, 64);
    TrainConfig c = small_config(20);
    c.sample.crop = CropMode::Center;
    Trainer t(c, dataset, net, style.cview());
    std::vector<double> totals;
    t.run([&](const TrainProgress& p) { totals.push_back(p.terms.total); });
    REQUIRE(totals.size() == 20);
    MESSAGE("loss " << totals.front() << " -> " << totals.back());
    CHECK(totals.back() < 0.5 * totals.front());
    CHECK(t.iteration() == 20);
    const NetModel m = t.model();
    CHECK(m.metadata.at("nst.io") == "rgb255");
    CHECK(m.metadata.at("nst.train.iteration") == "20");
    CHECK(m.params.size() == param_count(c.desc));
}

TEST_CASE("train: the same seed gives the same checkpoint bytes and resuming gives the same bits") {
    Fixture f("train_resume");
    const std::string dir = test::temp_dir("train_resume_out");
    auto run = [&](long long iterations, int every, const std::string& ckpt, const std::string& resume) {
        TrainConfig c = small_config(iterations);
        c.checkpoint_every = every;
        c.checkpoint_path = ckpt;
        Trainer t(c, f.dataset, f.net, f.style.cview());
        if (!resume.empty()) t.resume(resume);
        t.run();
        return t.model().params;
    };
    // Three iterations, twice: byte-identical checkpoints.
    run(3, 3, dir + "/a3.safetensors", "");
    run(3, 3, dir + "/b3.safetensors", "");
    CHECK(test::read_file(dir + "/a3.safetensors") == test::read_file(dir + "/b3.safetensors"));
    // Six iterations straight through, and three more from the checkpoint at three.
    const std::vector<float> straight = run(6, 6, dir + "/straight.safetensors", "");
    const std::vector<float> resumed = run(6, 6, dir + "/resumed.safetensors", dir + "/a3.safetensors");
    REQUIRE(straight.size() == resumed.size());
    CHECK(std::equal(straight.begin(), straight.end(), resumed.begin()));
    // Adam's moments too: the two final checkpoints are the same file.
    CHECK(test::read_file(dir + "/straight.safetensors") == test::read_file(dir + "/resumed.safetensors"));
    const TrainCheckpoint c = load_train_checkpoint(dir + "/resumed.safetensors");
    CHECK(c.iteration == 6);
    CHECK(c.adam_step == 6);
    // And it moved: not the initial parameters.
    CHECK(!std::equal(straight.begin(), straight.end(), init_params(small_config(1).desc, 5).begin()));
}

TEST_CASE("train: resuming with other settings is a usage error") {
    Fixture f("train_resume_mismatch");
    const std::string dir = test::temp_dir("train_resume_mismatch_out");
    TrainConfig c = small_config(2);
    c.checkpoint_every = 2;
    c.checkpoint_path = dir + "/ckpt.safetensors";
    Trainer(c, f.dataset, f.net, f.style.cview()).run();
    TrainConfig other = small_config(4);
    other.batch_size = 3;
    Trainer t(other, f.dataset, f.net, f.style.cview());
    const std::string msg = test::error_of([&] { t.resume(dir + "/ckpt.safetensors"); }, ExitCode::Usage);
    CHECK(test::contains(msg, "nst.train.batch_size=2"));
    // A model file is not a checkpoint.
    test::write_file(dir + "/junk.safetensors", "xx");
    test::error_of([&] { t.resume(dir + "/junk.safetensors"); }, ExitCode::Input);
}

TEST_CASE("train: a signal stops the run and keeps the last checkpoint intact") {
    Fixture f("train_interrupt");
    const std::string dir = test::temp_dir("train_interrupt_out");
    const std::string ckpt = dir + "/ckpt.safetensors";
    TrainConfig c = small_config(10);
    c.checkpoint_every = 2;
    c.checkpoint_path = ckpt;
    Trainer t(c, f.dataset, f.net, f.style.cview());
    std::string at_four;
    const TrainResult r = t.run([&](const TrainProgress& p) {
        if (p.iteration == 5) {
            at_four = test::read_file(ckpt);
            request_interrupt(SIGINT);
        }
    });
    request_interrupt(0);
    CHECK(r.interrupted_by == SIGINT);
    CHECK(r.iteration == 5);
    CHECK(r.last_checkpoint == 4);
    CHECK(test::read_file(ckpt) == at_four);
    CHECK(load_train_checkpoint(ckpt).iteration == 4);
}

TEST_CASE("train: Adam's exported state continues bit-identically") {
    const std::size_t n = 5;
    std::vector<float> x(n), y(n);
    for (std::size_t i = 0; i < n; ++i) x[i] = y[i] = float(i) - 2.f;
    auto grad = [](const std::vector<float>& p, int t) {
        std::vector<float> g(p.size());
        for (std::size_t i = 0; i < p.size(); ++i) g[i] = p[i] * float(i + 1) + 0.1f * float(t);
        return g;
    };
    cpu::Adam<float> straight(n, {1e-2});
    for (int t = 0; t < 6; ++t) straight.step(x.data(), grad(x, t).data());
    cpu::Adam<float> first(n, {1e-2});
    for (int t = 0; t < 3; ++t) first.step(y.data(), grad(y, t).data());
    cpu::Adam<float> second(n, {1e-2});
    second.set_state(first.iterations(), first.first_moment().data(), first.second_moment().data());
    for (int t = 3; t < 6; ++t) second.step(y.data(), grad(y, t).data());
    CHECK(second.iterations() == 6);
    CHECK(std::equal(x.begin(), x.end(), y.begin()));
    CHECK(std::equal(straight.second_moment().begin(), straight.second_moment().end(),
                     second.second_moment().begin()));
}
