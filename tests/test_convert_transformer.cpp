// SPDX-License-Identifier: MIT
// `nst weights convert` of feed-forward models and VGG16, on checkpoints torch.save wrote
// (tests/make_convert_inputs.py): a pytorch/examples TransformerNet in the legacy serialisation
// with the pre-0.4 running_mean / running_var keys and in the zip one (.model) converts to an nst
// model that gives PyTorch's output (float64 network) to rel L2 <= 1e-5 through load_model and
// cpu::Network<float>; VGG16 from torchvision and Caffe names converts to the canonical file;
// a jcjohnson/fast-neural-style Torch7 .t7 instance-norm model (written by the generator's own
// Torch7 serialiser) converts to a transformer-net-jcjohnson model that gives PyTorch's output;
// broken and wrong-architecture inputs fail with exit 3 and one line, and clobber nothing; model
// files refuse VGG weights, missing / misshapen / unexpected tensors and unknown architectures.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "convert/convert_nets.h"
#include "convert_inputs.h"
#include "core/rng.h"
#include "core/error.h"
#include "io/npy.h"
#include "nn/net_model.h"
#include "nn/network.h"
#include "nn/safetensors.h"
#include "nn/transformer_net.h"
#include "test_util.h"

using namespace nst;
using nst::test::convert_inputs;
using nst::test::convert_inputs_unavailable;
using nst::test::run_nst;

namespace {

void check_input_error(const test::RunResult& r, const std::string& mention) {
    INFO("stderr: " << r.err);
    CHECK(r.exit_code == 3);
    CHECK(r.err.rfind("nst: error: ", 0) == 0);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK(r.err.find(mention) != std::string::npos);
}

// load_model's error for a file, or "" when it loads.
std::string load_error(const std::string& path) {
    try {
        load_model(path);
    } catch (const Error& e) {
        CHECK(e.code() == ExitCode::Input);
        const std::string m = e.what();
        CHECK(m.find('\n') == std::string::npos);
        CHECK(m.find(path) != std::string::npos);
        return m;
    }
    return "";
}

void write_prefix(const std::string& src, const std::string& dst, std::size_t n) {
    const std::string b = test::read_file(src);
    test::write_file(dst, b.substr(0, std::min(n, b.size())));
}

}  // namespace

TEST_CASE("convert transformer: legacy and zip checkpoints give PyTorch's output" *
          doctest::skip(convert_inputs_unavailable())) {
    const std::string& in = convert_inputs();
    const std::string dir = test::temp_dir("convert_tn");
    const NpyArray x = load_npy(in + "/tn_x.npy");
    const NpyArray ref = load_npy(in + "/tn_ref.npy");
    REQUIRE(x.shape.size() == 4);
    const Shape xs{int(x.shape[0]), int(x.shape[1]), int(x.shape[2]), int(x.shape[3])};
    std::vector<float> first;
    for (const char* file : {"tn_legacy.pth", "tn_zip.model"}) {
        const std::string name = file;
        CAPTURE(name);
        const std::string out = dir + "/" + name + ".safetensors";
        const test::RunResult r = run_nst({"weights", "convert", in + "/" + name, out});
        INFO("stdout: " << r.out << "stderr: " << r.err);
        REQUIRE(r.exit_code == 0);
        CHECK(r.out.find("transformer-net, width 32, 1679235 parameters in 62 tensors") != std::string::npos);
        // The legacy file's 30 running-statistics keys are dropped and counted.
        CHECK((r.out.find("dropped     30 legacy") != std::string::npos) == (name == "tn_legacy.pth"));

        const NetModel m = load_model(out);
        CHECK(m.desc.arch == "transformer-net");
        CHECK(m.metadata.at("nst.kind") == "model");
        CHECK(m.metadata.at("nst.io") == "rgb255");
        CHECK(m.metadata.at("nst.width") == "32");
        CHECK(m.metadata.at("nst.source").find(name) != std::string::npos);
        REQUIRE(m.params.size() == 1679235);
        if (first.empty()) first = m.params;
        CHECK(m.params == first);  // both containers hold the same network

        cpu::Network<float> net(m.desc, m.params.data());
        const ConstView<float> y = net.forward(ConstView<float>(x.data.data(), xs), false);
        REQUIRE(std::vector<std::int64_t>{y.shape.n, y.shape.c, y.shape.h, y.shape.w} == ref.shape);
        const double e = test::rel_l2(y.data, ref.data.data(), ref.data.size());
        CHECK(e <= 1e-5);
        MESSAGE(name << ": converted model vs PyTorch, relative L2 " << e);
    }

    // `weights info` describes a model, native or as it would be converted.
    test::RunResult r = run_nst({"weights", "info", dir + "/tn_legacy.pth.safetensors", "--json"});
    REQUIRE(r.exit_code == 0);
    nlohmann::json j = nlohmann::json::parse(r.out);
    CHECK(j["native"] == true);
    CHECK(j["arch"] == "transformer-net");
    CHECK(j["width"] == "32");
    CHECK(j["parameters"] == 1679235);
    CHECK(j["tensors"] == 62);
    CHECK(j["io"].get<std::string>().rfind("rgb255", 0) == 0);
    r = run_nst({"weights", "info", in + "/tn_legacy.pth", "--json"});
    REQUIRE(r.exit_code == 0);
    j = nlohmann::json::parse(r.out);
    CHECK(j["native"] == false);
    CHECK(j["parameters"] == 1679235);
    r = run_nst({"weights", "info", in + "/tn_zip.model"});
    REQUIRE(r.exit_code == 0);
    CHECK(r.out.find("res5.in2.bias") != std::string::npos);
    std::filesystem::remove_all(dir);
}

TEST_CASE("convert transformer: broken and wrong-architecture inputs fail and clobber nothing" *
          doctest::skip(convert_inputs_unavailable())) {
    const std::string& in = convert_inputs();
    const std::string dir = test::temp_dir("convert_tn_bad");
    const std::string out = dir + "/out.safetensors";
    write_prefix(in + "/tn_legacy.pth", dir + "/cut_legacy.pth", std::filesystem::file_size(in + "/tn_legacy.pth") / 2);
    write_prefix(in + "/tn_zip.model", dir + "/cut_zip.model", std::filesystem::file_size(in + "/tn_zip.model") - 100);
    const struct {
        std::vector<std::string> args;
        const char* mention;
    } cases[] = {
        {{in + "/tn_missing_zip.pth"}, "missing tensor res3.in2.bias (128) of TransformerNet"},
        {{in + "/tn_wrong_shape_zip.pth"}, "tensor res2.conv1.conv2d.weight has shape (128, 128, 5, 5), TransformerNet"},
        {{in + "/tn_extra_zip.pth"}, "unexpected tensor style_embedding.weight"},
        {{dir + "/cut_legacy.pth"}, "cut_legacy.pth"},
        {{dir + "/cut_zip.model"}, "cut_zip.model"},
        {{in + "/tv_zip.pth", "--arch", "transformer-net"}, "holds a VGG19, not a TransformerNet"},
        {{in + "/tn_zip.model", "--arch", "vgg19"}, "holds a TransformerNet (pytorch/examples), not a VGG19"},
        {{in + "/tn_zip.model", "--arch", "vgg16"}, "not a VGG16"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.args[0]);
        test::write_file(out, "previous");
        std::vector<std::string> args = {"weights", "convert", c.args[0], out};
        args.insert(args.end(), c.args.begin() + 1, c.args.end());
        check_input_error(run_nst(args), c.mention);
        CHECK(test::read_file(out) == "previous");
    }
    // Options that describe VGG weights do not apply to a model (usage error, nothing written).
    test::write_file(out, "previous");
    CHECK(run_nst({"weights", "convert", in + "/tn_zip.model", out, "--preprocess", "caffe"}).exit_code == 2);
    CHECK(run_nst({"weights", "convert", in + "/tn_zip.model", out, "--arch", "resnet"}).exit_code == 2);
    CHECK(test::read_file(out) == "previous");
    std::filesystem::remove_all(dir);
}

TEST_CASE("convert vgg16: torchvision and Caffe names give the canonical VGG16 file" *
          doctest::skip(convert_inputs_unavailable())) {
    const std::string& in = convert_inputs();
    const std::string dir = test::temp_dir("convert_vgg16");
    const char* const names[] = {"conv1_1", "conv1_2", "conv2_1", "conv2_2", "conv3_1", "conv3_2", "conv3_3",
                                 "conv4_1", "conv4_2", "conv4_3", "conv5_1", "conv5_2", "conv5_3"};
    const int out_ch[] = {64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512};
    for (const auto& [file, preprocess] : {std::pair<std::string, std::string>{"vgg16_tv_zip.pth", "torchvision"},
                                           {"VGG_ILSVRC_16_layers.caffemodel", "caffe"}}) {
        CAPTURE(file);
        const std::string out = dir + "/" + file + ".safetensors";
        const test::RunResult r = run_nst({"weights", "convert", in + "/" + file, out});
        INFO("stderr: " << r.err);
        REQUIRE(r.exit_code == 0);
        const SafetensorsFile f = read_safetensors(out);
        CHECK(f.metadata.at("nst.arch") == "vgg16");
        CHECK(f.metadata.at("nst.preprocess") == preprocess);
        CHECK(f.metadata.at("nst.normalized") == "false");
        CHECK(f.metadata.at("nst.source").find(file) != std::string::npos);
        REQUIRE(f.tensors.size() == 26);
        int in_ch = 3;
        for (int k = 0; k < 13; ++k) {
            CAPTURE(k);
            const SafetensorsTensor* w = f.find(std::string(names[k]) + ".weight");
            const SafetensorsTensor* b = f.find(std::string(names[k]) + ".bias");
            REQUIRE(w);
            REQUIRE(b);
            CHECK(w->shape == std::vector<std::int64_t>{out_ch[k], in_ch, 3, 3});
            CHECK(b->shape == std::vector<std::int64_t>{out_ch[k]});
            // The generator's constants: conv k's weight k + 1, its bias -(k + 1) / 8.
            CHECK(std::all_of(w->data.begin(), w->data.end(), [&](float v) { return v == float(k + 1); }));
            CHECK(std::all_of(b->data.begin(), b->data.end(), [&](float v) { return v == float(-(k + 1) / 8.0); }));
            in_ch = out_ch[k];
        }
        const test::RunResult info = run_nst({"weights", "info", out, "--json"});
        REQUIRE(info.exit_code == 0);
        const nlohmann::json j = nlohmann::json::parse(info.out);
        CHECK(j["arch"] == "vgg16");
        CHECK(j["parameters"] == 14714688);
        std::filesystem::remove(out);
    }
    // A VGG16 is not a model, nor a VGG19.
    check_input_error(run_nst({"weights", "convert", in + "/vgg16_tv_zip.pth", dir + "/o.safetensors", "--arch",
                               "transformer-net"}),
                      "holds a VGG16, not a TransformerNet");
    std::filesystem::remove_all(dir);
}

TEST_CASE("model files: save and load round trip and refuse what is not a model") {
    const std::string dir = test::temp_dir("model_files");
    NetModel m;
    m.desc = transformer_net_desc(TransformerLayout::PytorchExamples, 4);
    m.params = init_params(m.desc, 3);
    m.metadata = {{"nst.io", "rgb255"}, {"nst.source", "test"}};
    const std::string good = dir + "/m.safetensors";
    save_model(good, m);
    const NetModel back = load_model(good);
    CHECK(back.params == m.params);
    CHECK(back.desc.arch == "transformer-net");
    CHECK(back.metadata.at("nst.kind") == "model");
    CHECK(back.metadata.at("nst.width") == "4");
    CHECK(param_count(back.desc) == param_count(m.desc));

    NetModel jc;
    jc.desc = transformer_net_desc(TransformerLayout::JcjohnsonInstanceNorm, 0);
    jc.params = init_params(jc.desc, 1);
    jc.metadata = {{"nst.io", "caffe-bgr"}};
    save_model(dir + "/jc.safetensors", jc);
    const NetModel jb = load_model(dir + "/jc.safetensors");
    CHECK(jb.desc.arch == "transformer-net-jcjohnson");
    CHECK(jb.params == jc.params);
    CHECK(jb.params.size() == 424899);

    // Variants of the good file, rewritten tensor by tensor.
    const SafetensorsFile f = read_safetensors(good);
    auto variant = [&](const std::string& name, const std::function<void(std::vector<SafetensorsView>&,
                                                                         std::map<std::string, std::string>&)>& edit) {
        std::vector<SafetensorsView> v = views_of(f);
        std::map<std::string, std::string> meta = f.metadata;
        edit(v, meta);
        const std::string path = dir + "/" + name + ".safetensors";
        save_safetensors(path, v, meta);
        return path;
    };
    const std::vector<float> big(64 * 64 * 9, 0.f);
    std::string e;
    e = load_error(variant("missing", [](auto& v, auto&) {
        v.erase(std::remove_if(v.begin(), v.end(), [](const SafetensorsView& t) { return t.name == "res3.in2.bias"; }),
                v.end());
    }));
    CHECK(e.find("missing tensor res3.in2.bias (16) of transformer-net") != std::string::npos);
    e = load_error(variant("shape", [&](auto& v, auto&) {
        for (auto& t : v)
            if (t.name == "conv2.conv2d.weight") {
                t.shape = {8, 4, 5, 5};
                t.data = big.data();
            }
    }));
    CHECK(e.find("tensor conv2.conv2d.weight has shape (8, 4, 5, 5), transformer-net expects (8, 4, 3, 3)") !=
          std::string::npos);
    e = load_error(variant("extra", [&](auto& v, auto&) { v.push_back({"in1.running_mean", {4}, big.data()}); }));
    CHECK(e.find("unexpected tensor in1.running_mean") != std::string::npos);
    e = load_error(variant("arch", [](auto&, auto& meta) { meta["nst.arch"] = "resnet50"; }));
    CHECK(e.find("unknown architecture nst.arch='resnet50'") != std::string::npos);
    CHECK(e.find("transformer-net-jcjohnson") != std::string::npos);  // names the ones it knows
    e = load_error(variant("width", [](auto&, auto& meta) { meta["nst.width"] = "wide"; }));
    CHECK(e.find("nst.width 'wide'") != std::string::npos);
    e = load_error(variant("kind", [](auto&, auto& meta) { meta.erase("nst.kind"); }));
    CHECK(e.find("not an nst model") != std::string::npos);
    // VGG weights given as a model.
    std::vector<float> w(64 * 3 * 9, 0.f);
    save_safetensors(dir + "/vgg.safetensors", {{"conv1_1.weight", {64, 3, 3, 3}, w.data()}},
                     {{"nst.preprocess", "caffe"}});
    e = load_error(dir + "/vgg.safetensors");
    CHECK(e.find("holds VGG weights (for --weights), not a feed-forward model") != std::string::npos);
    e = load_error(dir + "/does_not_exist.safetensors");
    CHECK(!e.empty());
    std::filesystem::remove_all(dir);
}

TEST_CASE("convert jcjohnson: a Torch7 instance-norm model gives PyTorch's output" *
          doctest::skip(convert_inputs_unavailable())) {
    const std::string& in = convert_inputs();
    const std::string dir = test::temp_dir("convert_t7");
    const std::string out = dir + "/jc.safetensors";
    const test::RunResult r = run_nst({"weights", "convert", in + "/jc_in.t7", out});
    INFO("stdout: " << r.out << "stderr: " << r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(r.out.find("transformer-net-jcjohnson, width 16, 424899 parameters in 62 tensors") != std::string::npos);
    const NetModel m = load_model(out);
    CHECK(m.desc.arch == "transformer-net-jcjohnson");
    CHECK(m.metadata.at("nst.io") == "caffe-bgr");
    CHECK(m.metadata.at("nst.width") == "16");

    const NpyArray x = load_npy(in + "/jc_x.npy");
    const NpyArray ref = load_npy(in + "/jc_ref.npy");
    const Shape xs{int(x.shape[0]), int(x.shape[1]), int(x.shape[2]), int(x.shape[3])};
    cpu::Network<float> net(m.desc, m.params.data());
    const ConstView<float> y = net.forward(ConstView<float>(x.data.data(), xs), false);
    REQUIRE(std::vector<std::int64_t>{y.shape.n, y.shape.c, y.shape.h, y.shape.w} == ref.shape);
    const double e = test::rel_l2(y.data, ref.data.data(), ref.data.size());
    CHECK(e <= 1e-5);
    MESSAGE("jc_in.t7: converted model vs PyTorch, relative L2 " << e);

    // An nst model given to convert is checked and copied, --source applied.
    const std::string copy = dir + "/copy.safetensors";
    REQUIRE(run_nst({"weights", "convert", out, copy, "--source", "a copy"}).exit_code == 0);
    const NetModel c = load_model(copy);
    CHECK(c.params == m.params);
    CHECK(c.metadata.at("nst.source") == "a copy");
    CHECK(c.metadata.at("nst.io") == "caffe-bgr");

    const test::RunResult info = run_nst({"weights", "info", in + "/jc_in.t7", "--json"});
    REQUIRE(info.exit_code == 0);
    const nlohmann::json j = nlohmann::json::parse(info.out);
    CHECK(j["arch"] == "transformer-net-jcjohnson");
    CHECK(j["parameters"] == 424899);

    // BatchNorm (eccv16) models, truncated files and another --arch fail cleanly.
    write_prefix(in + "/jc_in.t7", dir + "/cut.t7", std::filesystem::file_size(in + "/jc_in.t7") / 2);
    const std::pair<std::vector<std::string>, const char*> bad[] = {
        {{in + "/jc_bn.t7"}, "has BatchNorm layers"},
        {{dir + "/cut.t7"}, "truncated"},
        {{in + "/jc_in.t7", "--arch", "transformer-net"}, "only as jcjohnson/fast-neural-style models"},
        {{in + "/tn_zip.model", "--arch", "transformer-net-jcjohnson"}, "Torch7 (.t7) files"},
    };
    for (const auto& [args_in, mention] : bad) {
        CAPTURE(args_in[0]);
        test::write_file(out, "previous");
        std::vector<std::string> args = {"weights", "convert", args_in[0], out};
        args.insert(args.end(), args_in.begin() + 1, args_in.end());
        check_input_error(run_nst(args), mention);
        CHECK(test::read_file(out) == "previous");
    }
    std::filesystem::remove_all(dir);
}

TEST_CASE("convert jcjohnson: corrupted Torch7 files never crash" * doctest::skip(convert_inputs_unavailable())) {
    const std::string& in = convert_inputs();
    const std::string dir = test::temp_dir("convert_t7_fuzz");
    // 1-6 changed bytes in the first 40 kB (the module tree and the first tensors), sometimes a cut.
    const std::string bytes = test::read_file(in + "/jc_in.t7");
    const std::string dst = dir + "/fuzz.t7";
    int failed = 0;
    for (int round = 0; round < 150; ++round) {
        std::string b = bytes;
        const int changes = 1 + int(rng::uniform(7000 + std::uint64_t(round), 1, 0) * 6);
        for (int k = 0; k < changes; ++k) {
            const std::size_t at = std::size_t(rng::uniform(7000 + std::uint64_t(round), 2, std::uint64_t(k)) * 40000.0);
            b[std::min(at, b.size() - 1)] = char(int(rng::uniform(7000 + std::uint64_t(round), 3, std::uint64_t(k)) * 256));
        }
        if (rng::uniform(7000 + std::uint64_t(round), 4, 0) < 0.2)
            b.resize(std::size_t(rng::uniform(7000 + std::uint64_t(round), 5, 0) * double(b.size())));
        test::write_file(dst, b);
        CAPTURE(round);
        try {
            convert::convert_jcjohnson(dst, convert::ConvertOptions{});
        } catch (const Error& e) {
            CHECK_MESSAGE(e.code() == ExitCode::Input, e.what());
            CHECK(std::string(e.what()).find('\n') == std::string::npos);
            ++failed;
        }
    }
    MESSAGE("jc_in.t7: " << failed << " of 150 corrupted copies rejected, the rest converted");
    std::filesystem::remove_all(dir);
}
