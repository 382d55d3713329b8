// SPDX-License-Identifier: MIT
// `nst train --method adain` end to end on tiny generated images: the model's metadata (arch,
// io, the encoder's checksum, the schedule), the trace (one line per iteration, the decayed
// learning rate), resuming from a checkpoint giving the uninterrupted run's bits, the style
// sampler's independence, and the errors (exit codes, nothing written).
#include <doctest/doctest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "engine/adain_train_step.h"
#include "engine/engine.h"
#include "engine/train_checkpoint.h"
#include "nn/adain_net.h"
#include "nn/model_checksum.h"
#include "nn/net_model.h"
#include "test_util.h"

using namespace nst;

namespace {

struct Dirs {
    std::string dir, content, style;
};

// Three content images and two style images of different sizes and aspect ratios.
Dirs make_dirs(const std::string& name) {
    Dirs d;
    d.dir = test::temp_dir(name);
    d.content = d.dir + "/content";
    d.style = d.dir + "/style";
    std::filesystem::create_directories(d.content);
    std::filesystem::create_directories(d.style);
    test::smooth_png(d.content, "a.png", 40, 30, 1);
    test::smooth_png(d.content, "b.png", 24, 36, 2);
    test::smooth_png(d.content, "c.png", 32, 32, 3);
    test::smooth_png(d.style, "s1.png", 28, 44, 4);
    test::smooth_png(d.style, "s2.png", 36, 26, 5);
    return d;
}

std::vector<std::string> train_args(const Dirs& d, const std::string& out, std::vector<std::string> extra) {
    std::vector<std::string> a = {"train", "--method", "adain", "--dataset", d.content, "--style-dataset", d.style,
                                  "--encoder", "random:1", "--output", out, "--image-size", "16", "--resize-size",
                                  "24", "--batch-size", "2", "--quiet"};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
}

}  // namespace

TEST_CASE("train adain cli: a short run writes a decoder with its encoder's checksum and a trace") {
    const Dirs d = make_dirs("cli_adain_train");
    const std::string out = d.dir + "/decoder.safetensors", trace = d.dir + "/trace.jsonl";
    const test::RunResult r = test::run_nst(train_args(d, out, {"--iterations", "3", "--trace", trace, "--lr-decay",
                                                                "0.5"}));
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const NetModel m = load_model(out);
    CHECK(m.desc.arch == "adain-decoder");
    CHECK(m.metadata.at("nst.io") == "rgb01");
    CHECK(m.metadata.at("nst.adain.encoder_checksum") == params_checksum(random_adain_encoder(1).params));
    CHECK(m.metadata.at("nst.train.method") == "adain");
    CHECK(m.metadata.at("nst.train.loss_convention") == "port");
    CHECK(m.metadata.at("nst.train.style_weight") == "10");
    CHECK(m.metadata.at("nst.train.lr") == "0.0001");
    CHECK(m.metadata.at("nst.train.lr_decay") == "0.5");
    CHECK(m.metadata.at("nst.train.resize_mode") == "squash");
    CHECK(m.metadata.at("nst.train.iteration") == "3");
    // The trace: one line per iteration, lr = 1e-4 / (1 + 0.5 i) for iteration i (0-based).
    std::istringstream lines(test::read_file(trace));
    std::string line;
    int i = 0;
    for (; std::getline(lines, line); ++i) {
        const nlohmann::json j = nlohmann::json::parse(line);
        CHECK(j.at("iter").get<int>() == i + 1);
        CHECK(j.at("lr").get<double>() == doctest::Approx(1e-4 / (1 + 0.5 * i)).epsilon(1e-12));
        CHECK(j.at("style").get<double>() > 0);
        CHECK(j.at("content").get<double>() > 0);
    }
    CHECK(i == 3);
}

TEST_CASE("train adain cli: resuming from a checkpoint gives the uninterrupted run's bits") {
    const Dirs d = make_dirs("cli_adain_resume");
    const std::string whole = d.dir + "/whole.safetensors", part = d.dir + "/part.safetensors",
                      ckpt = d.dir + "/ckpt.safetensors";
    // Four iterations of two over three content and two style images: epochs of both samplers
    // turn over inside the run.
    test::RunResult r = test::run_nst(train_args(d, whole, {"--iterations", "4", "--loss-convention", "official"}));
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    r = test::run_nst(train_args(d, part, {"--iterations", "2", "--loss-convention", "official", "--checkpoint-every",
                                           "2", "--checkpoint", ckpt}));
    REQUIRE(r.exit_code == 0);
    CHECK(load_train_checkpoint(ckpt).iteration == 2);
    // Other settings are refused: the checkpoint names the convention it was made with.
    test::check_cli_error(train_args(d, part, {"--iterations", "4", "--resume", ckpt}), 2, part, "loss_convention");
    r = test::run_nst(train_args(d, part, {"--iterations", "4", "--loss-convention", "official", "--resume", ckpt}));
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const NetModel a = load_model(whole), b = load_model(part);
    CHECK(a.params == b.params);
    CHECK(a.metadata.at("nst.train.style_weight") == "0.01");
    CHECK(a.params != init_params(a.desc, 42));  // it trained
}

TEST_CASE("train adain cli: bad settings are refused before anything is written") {
    const Dirs d = make_dirs("cli_adain_errors");
    const std::string out = d.dir + "/decoder.safetensors";
    auto args = [&](std::vector<std::string> extra) {
        std::vector<std::string> a = train_args(d, out, {"--iterations", "1"});
        a.insert(a.end(), extra.begin(), extra.end());
        return a;
    };
    // Options of the other method.
    test::check_cli_error(args({"--style", d.content + "/a.png"}), 2, out, "--style");
    test::check_cli_error(args({"--weights", "random16:3"}), 2, out, "--weights");
    test::check_cli_error({"train", "--style", d.content + "/a.png", "--dataset", d.content, "--style-dataset",
                           d.style, "--output", out, "--weights", "random16:3", "--quiet"},
                          2, out, "--style-dataset");
    test::check_cli_error({"train", "--method", "adain", "--dataset", d.content, "--encoder", "random", "--output",
                           out, "--quiet"},
                          2, out, "--style-dataset");
    test::check_cli_error({"train", "--method", "adain", "--dataset", d.content, "--style-dataset", d.style,
                           "--output", out, "--quiet"},
                          2, out, "--encoder");
    test::check_cli_error({"train", "--dataset", d.content, "--output", out, "--quiet"}, 2, out, "--style");
    test::check_cli_error(args({"--method", "wct"}), 2, out, "--method");
    // Values.
    test::check_cli_error(args({"--image-size", "20"}), 2, out, "--image-size");
    test::check_cli_error(args({"--resize-size", "8"}), 2, out, "--resize-size");
    test::check_cli_error(args({"--resize", "crop"}), 2, out, "--resize");
    test::check_cli_error(args({"--loss-convention", "lua"}), 2, out, "--loss-convention");
    test::check_cli_error(args({"--lr-decay", "-1"}), 2, out, "--lr-decay");
    test::check_cli_error(args({"--encoder", "random:x"}), 2, out, "--encoder");
    // Files.
    test::check_cli_error(args({"--style-dataset", d.dir + "/nowhere"}), 3, out, "--style-dataset");
    test::check_cli_error(args({"--encoder", d.dir + "/missing.safetensors"}), 3, out, "missing.safetensors");
    // A decoder given as the encoder.
    const std::string decoder = d.dir + "/real_decoder.safetensors";
    NetModel dec;
    dec.desc = adain_decoder_desc();
    dec.params = init_params(dec.desc, 1);
    dec.metadata["nst.io"] = "rgb01";
    save_model(decoder, dec);
    test::check_cli_error(args({"--encoder", decoder}), 3, out, "not an adain-encoder");
    // The CUDA step where it cannot run: a runtime error, as the perceptual method's.
    if (cuda_device_count() == 0) test::check_cli_error(args({"--backend", "cuda"}), 4, out, "CUDA");
}

TEST_CASE("train adain cli: stylize refuses an encoder other than the one the decoder was trained with") {
    const Dirs d = make_dirs("adain_cli_encoder_mismatch");
    const std::string dec = d.dir + "/decoder.safetensors";
    REQUIRE(test::run_nst(train_args(d, dec, {"--iterations", "1"})).exit_code == 0);
    // The trained-with encoder (random:1) runs; another of the same shape (random:2) is refused.
    const std::string enc1 = d.dir + "/enc1.safetensors", enc2 = d.dir + "/enc2.safetensors";
    save_model(enc1, random_adain_encoder(1));
    save_model(enc2, random_adain_encoder(2));
    const std::string content = d.content + "/a.png", style = d.style + "/s1.png";
    const std::string ok = d.dir + "/ok.png", out = d.dir + "/out.png";
    const auto args = [&](const std::string& enc, const std::string& o) {
        return std::vector<std::string>{"stylize", "--model", dec, "--encoder", enc, "--content", content,
                                        "--style", style, "--style-size", "0", "--output", o, "--quiet"};
    };
    CHECK(test::run_nst(args(enc1, ok)).exit_code == 0);
    CHECK(std::filesystem::exists(ok));
    test::check_cli_error(args(enc2, out), 3, out, "was trained with the encoder");
}
