// SPDX-License-Identifier: MIT
// `nst stylize` and `nst train` end to end, and the size handling of engine/stylize.h: outputs
// have the input's size at any size, folders map to folders, bad input fails cleanly.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "engine/stylize.h"
#include "engine/train_checkpoint.h"
#include "io/image.h"
#include "nn/net_model.h"
#include "nn/network.h"
#include "nn/transformer_net.h"
#include "test_errors.h"
#include "test_util.h"

using namespace nst;

namespace {

// A width-8 pytorch-examples TransformerNet with torch's initialisation, written as a model file.

}  // namespace

TEST_CASE("stylize: reflection padding to a multiple of 4 mirrors without repeating the edge") {
    Tensor<float> x(Shape{1, 1, 1, 5});
    for (int i = 0; i < 5; ++i) x[i] = float(i);
    const Tensor<float> p = reflect_pad_to_multiple(x.cview(), 4);
    REQUIRE(p.shape() == Shape{1, 1, 4, 8});
    // torch.nn.ReflectionPad2d((0, 3, 0, 3)) on [0 1 2 3 4]: rows 0 1 2 3 4 3 2 1; rows reflect the
    // single row (a 1-pixel axis repeats it).
    const float row[8] = {0, 1, 2, 3, 4, 3, 2, 1};
    for (int y = 0; y < 4; ++y)
        for (int i = 0; i < 8; ++i) CHECK(p.view().at(0, 0, y, i) == row[i]);
    const Tensor<float> c = crop_top_left(p.cview(), 1, 5);
    CHECK(std::equal(c.begin(), c.end(), x.begin()));
}

TEST_CASE("stylize: at a multiple of 4 the output is the network's output clamped") {
    const NetDesc desc = transformer_net_desc(TransformerLayout::PytorchExamples, 8);
    const std::vector<float> params = init_params(desc, 4);
    cpu::Network<float> net(desc, params.data()), ref(desc, params.data());
    const Tensor<float> rgb = test::random_tensor<float>(Shape{1, 3, 20, 16}, 5, 0, 1);
    const Tensor<float> out = stylize_image(net, ModelIo::Rgb255, rgb.cview());
    Tensor<float> x = rgb.clone();
    for (auto& v : x) v *= 255;
    const ConstView<float> y = ref.forward(x.cview(), false);
    REQUIRE(y.shape == out.shape());
    double worst = 0;
    for (std::size_t i = 0; i < y.numel(); ++i)
        worst = std::max(worst, double(std::abs(out[i] - std::clamp(y[i] / 255.f, 0.f, 1.f))));
    CHECK(worst == 0);
}

TEST_CASE("stylize: caffe-bgr models get BGR minus the mean in and give it back") {
    const NetDesc desc = transformer_net_desc(TransformerLayout::JcjohnsonInstanceNorm, 4);
    const std::vector<float> params = init_params(desc, 6);
    cpu::Network<float> net(desc, params.data()), ref(desc, params.data());
    // Over 40 px a side: the layout's 40-px reflection pad needs it.
    const int h = 44, w = 48;
    const Tensor<float> rgb = test::random_tensor<float>(Shape{1, 3, h, w}, 7, 0, 1);
    const Tensor<float> out = stylize_image(net, ModelIo::CaffeBgr, rgb.cview());
    // The reference, written out: x_c = 255 rgb_{2-c} - mean_c; rgb_c = (y_{2-c} + mean_{2-c}) / 255.
    const double mean[3] = {103.939, 116.779, 123.68};
    Tensor<float> x(rgb.shape());
    for (int c = 0; c < 3; ++c)
        for (int i = 0; i < h; ++i)
            for (int j = 0; j < w; ++j)
                x.view().at(0, c, i, j) = float(255.0 * rgb.view().at(0, 2 - c, i, j) - mean[c]);
    const ConstView<float> y = ref.forward(x.cview(), false);
    REQUIRE(y.shape == out.shape());
    double worst = 0;
    for (int c = 0; c < 3; ++c)
        for (int i = 0; i < h; ++i)
            for (int j = 0; j < w; ++j) {
                const double want = std::clamp((double(y.at(0, 2 - c, i, j)) + mean[2 - c]) / 255.0, 0.0, 1.0);
                worst = std::max(worst, std::abs(out.view().at(0, c, i, j) - want));
            }
    CHECK(worst < 1e-6);
}

TEST_CASE("stylize cli: odd sizes keep their size and a folder gives a folder") {
    const std::string dir = test::temp_dir("cli_stylize");
    const std::string model = test::transformer_model_file(dir, 3);
    const std::string content = test::smooth_png(dir, "odd.png", 37, 29, 1);
    const test::RunResult r = test::run_nst({"stylize", "--model", model, "--content", content, "--output",
                                             dir + "/out.png", "--quiet"});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const Tensor<float> out = load_image(dir + "/out.png");
    CHECK(out.shape() == Shape{1, 3, 37, 29});

    const std::string in = dir + "/in";
    std::filesystem::create_directories(in + "/sub");
    test::smooth_png(in, "a.png", 18, 23, 2);
    test::smooth_png(in + "/sub", "b.png", 9, 13, 3);
    test::write_file(in + "/readme.txt", "not an image");
    const test::RunResult f =
        test::run_nst({"stylize", "--model", model, "--content", in, "--output", dir + "/outdir", "--quiet"});
    INFO(f.err);
    REQUIRE(f.exit_code == 0);
    CHECK(load_image(dir + "/outdir/a.png").shape() == Shape{1, 3, 18, 23});
    CHECK(load_image(dir + "/outdir/sub/b.png").shape() == Shape{1, 3, 9, 13});
    CHECK(!test::file_exists(dir + "/outdir/readme.png"));
}

TEST_CASE("stylize cli: bad input fails with one line and leaves the output alone") {
    const std::string dir = test::temp_dir("cli_stylize_errors");
    const std::string model = test::transformer_model_file(dir, 3);
    const std::string content = test::smooth_png(dir, "c.png", 16, 16, 1);
    const std::string out = dir + "/out.png";
    test::check_cli_error({"stylize", "--model", dir + "/missing.safetensors", "--content", content, "--output", out},
                          3, out, "missing.safetensors");
    test::check_cli_error({"stylize", "--model", model, "--content", dir + "/none.png", "--output", out}, 3, out);
    test::check_cli_error({"stylize", "--model", model, "--content", content, "--output", out, "--backend", "tpu"}, 2,
                          out, "--backend");
    test::check_cli_error({"stylize", "--model", model, "--content", content, "--output", dir + "/out.txt"}, 2,
                          dir + "/out.txt", "--output");
    std::filesystem::create_directories(dir + "/folder");
    test::smooth_png(dir + "/folder", "x.png", 8, 8, 2);
    test::check_cli_error({"stylize", "--model", model, "--content", dir + "/folder", "--output", out}, 2, out,
                          "is a file");
}

TEST_CASE("train cli: a short run lowers the loss and its model stylises a held-out image") {
    const std::string dir = test::temp_dir("cli_train");
    const std::string data = dir + "/data";
    std::filesystem::create_directories(data);
    // 40 px copies of four shared images; tubingen is held out for stylisation.
    const char* files[] = {"starry_night.jpg", "shipwreck.jpg", "seated-nude.jpg", "composition_vii.jpg"};
    for (const char* f : files) {
        const Tensor<float> img = load_image(test::shared_image(f));
        int h = 0, w = 0;
        target_size(img.shape().h, img.shape().w, 40, SizeRule::Short, h, w);
        save_image(data + "/" + std::string(f) + ".png", resize_image(img.cview(), h, w).cview());
    }
    test::write_file(data + "/broken.jpg", "not a jpeg");
    const std::string model = dir + "/model.safetensors", trace = dir + "/trace.jsonl";
    const test::RunResult r = test::run_nst(
        {"train", "--style", test::shared_image("the_scream.jpg"), "--dataset", data, "--output", model,
         "--weights", "random16:3", "--width", "8", "--image-size", "32", "--batch-size", "2", "--iterations", "20",
         "--style-size", "48", "--lr", "1e-2", "--content-weight", "1", "--style-weight", "1e3", "--trace", trace,
         "--print-every", "10"});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(test::contains(r.err, "skipped 1 unreadable file"));
    CHECK(test::contains(r.err, "ETA"));
    const std::string t = test::read_file(trace);
    CHECK(test::count_lines(t) == 20);
    // The mean of the last five totals against the first five's (batches differ, so means).
    std::vector<double> totals;
    for (std::size_t pos = 0; (pos = t.find("\"total\": ", pos)) != std::string::npos; pos += 9)
        totals.push_back(std::stod(t.substr(pos + 9)));
    REQUIRE(totals.size() == 20);
    double first = 0, last = 0;
    for (int i = 0; i < 5; ++i) {
        first += totals[i];
        last += totals[15 + i];
    }
    MESSAGE("mean total of iterations 1-5: " << first / 5 << ", 16-20: " << last / 5);
    CHECK(last < 0.7 * first);
    const NetModel m = load_model(model);
    CHECK(m.metadata.at("nst.train.iteration") == "20");

    const std::string held_out = dir + "/tubingen.png";
    {
        const Tensor<float> img = load_image(test::shared_image("tubingen.jpg"));
        save_image(held_out, resize_image(img.cview(), 51, 67).cview());
    }
    const test::RunResult s =
        test::run_nst({"stylize", "--model", model, "--content", held_out, "--output", dir + "/styled.png"});
    INFO(s.err);
    REQUIRE(s.exit_code == 0);
    CHECK(load_image(dir + "/styled.png").shape() == Shape{1, 3, 51, 67});
}

TEST_CASE("train cli: bad settings and datasets are refused before anything is written") {
    const std::string dir = test::temp_dir("cli_train_errors");
    const std::string style = test::smooth_png(dir, "style.png", 24, 24, 1);
    const std::string data = dir + "/data", empty = dir + "/empty";
    std::filesystem::create_directories(data);
    std::filesystem::create_directories(empty);
    test::smooth_png(data, "a.png", 40, 40, 2);
    const std::string out = dir + "/model.safetensors";
    auto args = [&](std::vector<std::string> extra) {
        std::vector<std::string> a = {"train", "--style", style, "--dataset", data, "--output", out,
                                      "--weights", "random16:3", "--width", "8", "--image-size", "32",
                                      "--iterations", "1", "--quiet"};
        a.insert(a.end(), extra.begin(), extra.end());
        return a;
    };
    test::check_cli_error(args({"--dataset", empty}), 3, out, "no readable image");
    test::check_cli_error(args({"--dataset", dir + "/nowhere"}), 3, out, "no such folder");
    test::check_cli_error(args({"--image-size", "30"}), 2, out, "--image-size");
    test::check_cli_error(args({"--epochs", "1"}), 2, out, "--epochs and --iterations");
    test::check_cli_error(args({"--lr", "0"}), 2, out, "--lr");
    test::check_cli_error(args({"--loss-preset", "gatys"}), 2, out, "--loss-preset");
    test::check_cli_error(args({"--style-layers", "relu9_1"}), 2, out, "--style-layers");
    test::check_cli_error(args({"--style", dir + "/missing.png"}), 3, out, "missing.png");
    test::check_cli_error(args({"--batch-size", "4096", "--image-size", "512", "--memory-limit", "1G"}), 2, out,
                          "--batch-size");
    test::check_cli_error(args({"--resume", style}), 3, out, "checkpoint");
}

TEST_CASE("train cli: the jcjohnson layout and preset train and stylise") {
    const std::string dir = test::temp_dir("cli_train_jcjohnson");
    // Over 40 px a side: the layout's 40-px reflection pad needs it.
    test::smooth_png(dir, "a.png", 48, 52, 1);
    test::smooth_png(dir, "b.png", 50, 47, 2);
    const std::string style = test::smooth_png(dir, "style.png", 30, 30, 3);
    const std::string model = dir + "/model.safetensors";
    const test::RunResult r = test::run_nst({"train", "--style", style, "--dataset", dir, "--output", model,
                                             "--weights", "random16:3", "--arch", "jcjohnson", "--width", "4",
                                             "--loss-preset", "jcjohnson", "--image-size", "44", "--batch-size",
                                             "2", "--iterations", "2", "--quiet"});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const NetModel m = load_model(model);
    CHECK(m.metadata.at("nst.io") == "caffe-bgr");
    CHECK(m.metadata.at("nst.train.tv_weight") == "9.9999999999999995e-07");
    const test::RunResult s = test::run_nst(
        {"stylize", "--model", model, "--content", dir + "/b.png", "--output", dir + "/out.png", "--quiet"});
    INFO(s.err);
    REQUIRE(s.exit_code == 0);
    CHECK(load_image(dir + "/out.png").shape() == Shape{1, 3, 50, 47});
}

TEST_CASE("train cli: SIGTERM stops with exit 4 and keeps the checkpoint") {
    const std::string dir = test::temp_dir("cli_train_signal");
    test::smooth_png(dir, "a.png", 36, 36, 1);
    const std::string style = test::smooth_png(dir, "style.png", 24, 24, 2);
    const std::string model = dir + "/model.safetensors", ckpt = dir + "/ckpt.safetensors";
    // A background job of a non-interactive shell ignores SIGINT, so the test sends SIGTERM.
    const std::string cmd = "'" + std::string(NST_EXE) + "' train --style '" + style + "' --dataset '" + dir +
                            "' --output '" + model + "' --checkpoint '" + ckpt +
                            "' --weights random16:3 --width 4 --image-size 16 --batch-size 1 --iterations 100000"
                            " --style-layers relu1_2 --content-layers relu1_2 --checkpoint-every 2 --quiet"
                            " 2>'" + dir + "/err' & pid=$!; while [ ! -f '" + ckpt +
                            "' ]; do sleep 0.05; done; kill -TERM $pid; wait $pid; echo $? >'" + dir + "/rc'";
    REQUIRE(std::system(cmd.c_str()) == 0);
    CHECK(test::read_file(dir + "/rc") == "4\n");
    const std::string err = test::read_file(dir + "/err");
    INFO(err);
    CHECK(test::count_lines(err.substr(err.find("nst: error: "))) == 1);
    CHECK(test::contains(err, "interrupted by SIGTERM"));
    CHECK(test::contains(err, "is kept"));
    CHECK(!test::file_exists(model));
    const TrainCheckpoint c = load_train_checkpoint(ckpt);
    CHECK(c.iteration % 2 == 0);
    CHECK(c.iteration >= 2);
}
