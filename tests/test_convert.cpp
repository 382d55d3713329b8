// SPDX-License-Identifier: MIT
// `nst weights convert` and `info` on checkpoints made by the real producers (see
// convert_inputs.h): every format gives the network PyTorch computes (relative L2 <= 1e-5 at
// every compared layer), the metadata rules hold, and wrong, corrupt and truncated files fail
// with exit 3 and one line naming the file and the problem, without crashing.
#include <doctest/doctest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

#include "convert/convert.h"
#include "convert_inputs.h"
#include "core/error.h"
#include "core/rng.h"
#include "io/npy.h"
#include "nn/safetensors.h"
#include "nn/weights.h"
#include "test_util.h"

using namespace nst;
using nst::test::convert_inputs;
using nst::test::convert_inputs_unavailable;
using nst::test::run_nst;

namespace {

const char* const kLayers = "relu1_1,conv2_1,relu3_1,pool3,relu4_2,relu5_4,pool5";

struct Case {
    const char* file;
    const char* preprocess;  // expected nst.preprocess
};

// Every full VGG19 input the generator writes; all hold the same weights.
const Case kCases[] = {
    {"tv_zip.pth", "torchvision"},           {"tv_legacy.pth", "torchvision"},
    {"vgg_conv_legacy.pth", "caffe"},        {"keras_notop.h5", "caffe"},
    {"keras_model.h5", "caffe"},             {"keras3.weights.h5", "caffe"},
    {"vgg_layer.caffemodel", "caffe"},       {"vgg_layers_v1.caffemodel", "caffe"},
    {"timm_vgg19.safetensors", "torchvision"},
};

std::map<std::string, std::string> metadata_of(const std::string& path) {
    SafetensorsReader r(path);
    return r.metadata();
}

// The one-line error contract of spec §7.
void check_input_error(const test::RunResult& r, const std::string& mention) {
    INFO("stderr: " << r.err);
    CHECK(r.exit_code == 3);
    CHECK(r.err.rfind("nst: error: ", 0) == 0);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK(r.err.find(mention) != std::string::npos);
}

}  // namespace

TEST_CASE("convert: every format gives PyTorch's activations" * doctest::skip(convert_inputs_unavailable())) {
    const std::string& in = convert_inputs();
    const std::string dir = test::temp_dir("convert_formats");
    std::string first_checksum;
    for (const Case& c : kCases) {
        const std::string file = c.file;
        CAPTURE(file);
        const std::string out = dir + "/" + c.file + ".safetensors";
        const test::RunResult r = run_nst({"weights", "convert", in + "/" + c.file, out});
        INFO("stderr: " << r.err);
        REQUIRE(r.exit_code == 0);
        const auto meta = metadata_of(out);
        CHECK(meta.at("nst.preprocess") == c.preprocess);
        CHECK(meta.at("nst.normalized") == "false");
        CHECK(meta.at("nst.source").find(c.file) != std::string::npos);

        // Same weights whatever the container, dtype, strides or layout.
        const std::string sum = weights_checksum(load_weights(out));
        if (first_checksum.empty()) first_checksum = sum;
        CHECK(sum == first_checksum);

        const std::string fdir = dir + "/features_" + c.file;
        const test::RunResult f = run_nst({"features", "--image", in + "/x.npy", "--layers", kLayers, "--out-dir", fdir,
                                           "--weights", out, "--pooling", "max"});
        INFO("features stderr: " << f.err);
        REQUIRE(f.exit_code == 0);
        double worst = 0;
        for (const std::string layer : {"relu1_1", "conv2_1", "relu3_1", "pool3", "relu4_2", "relu5_4", "pool5"}) {
            const NpyArray got = load_npy(fdir + "/" + layer + ".npy");
            const NpyArray ref = load_npy(in + "/ref_" + layer + ".npy");
            REQUIRE(got.shape == ref.shape);
            const double e = test::rel_l2(got.data.data(), ref.data.data(), got.data.size());
            CHECK_MESSAGE(e <= 1e-5, layer << " rel L2 " << e);
            worst = std::max(worst, e);
        }
        MESSAGE(std::string(c.file) << ": worst relative L2 over " << std::string(kLayers) << " = " << worst);
        std::filesystem::remove(out);  // 80 MB each
        std::filesystem::remove_all(fdir);
    }
}

TEST_CASE("convert: metadata rules and overrides" * doctest::skip(convert_inputs_unavailable())) {
    const std::string& in = convert_inputs();
    const std::string dir = test::temp_dir("convert_meta");
    namespace fs = std::filesystem;

    // Overrides win over every rule.
    const std::string out = dir + "/o.safetensors";
    test::RunResult r = run_nst({"weights", "convert", in + "/tv_zip.pth", out, "--preprocess", "caffe", "--normalized",
                                 "true", "--source", "my note"});
    REQUIRE(r.exit_code == 0);
    auto meta = metadata_of(out);
    CHECK(meta.at("nst.preprocess") == "caffe");
    CHECK(meta.at("nst.normalized") == "true");
    CHECK(meta.at("nst.source") == "my note");

    // File-name rules: a known Caffe port with torchvision names; Gatys's normalised model.
    fs::create_symlink(in + "/tv_zip.pth", dir + "/vgg19-d01eb7cb.pth");
    REQUIRE(run_nst({"weights", "convert", dir + "/vgg19-d01eb7cb.pth", out}).exit_code == 0);
    CHECK(metadata_of(out).at("nst.preprocess") == "caffe");
    fs::create_symlink(in + "/vgg_layer.caffemodel", dir + "/vgg_normalised.caffemodel");
    REQUIRE(run_nst({"weights", "convert", dir + "/vgg_normalised.caffemodel", out}).exit_code == 0);
    meta = metadata_of(out);
    CHECK(meta.at("nst.normalized") == "true");
    CHECK(meta.at("nst.preprocess") == "caffe");

    // An nst file converted again keeps its metadata; --from forces a reader.
    const std::string again = dir + "/again.safetensors";
    REQUIRE(run_nst({"weights", "convert", out, again, "--from", "safetensors"}).exit_code == 0);
    CHECK(metadata_of(again) == meta);
    r = run_nst({"weights", "convert", in + "/tv_legacy.pth", again, "--from", "caffemodel"});
    CHECK(r.exit_code == 3);

    // Usage errors.
    CHECK(run_nst({"weights", "convert", in + "/tv_zip.pth", out, "--preprocess", "bgr"}).exit_code == 2);
    CHECK(run_nst({"weights", "convert", in + "/tv_zip.pth", out, "--normalized", "yes"}).exit_code == 2);
    CHECK(run_nst({"weights", "convert", in + "/tv_zip.pth", out, "--from", "onnx"}).exit_code == 2);
    CHECK(run_nst({"weights", "convert", in + "/tv_zip.pth"}).exit_code == 2);
    CHECK(run_nst({"weights"}).exit_code == 2);
    std::filesystem::remove_all(dir);  // large files; kept only when a REQUIRE stops the test
}

TEST_CASE("convert: wrong architectures / shapes and values fail clearly" * doctest::skip(convert_inputs_unavailable())) {
    const std::string& in = convert_inputs();
    const std::string dir = test::temp_dir("convert_wrong");
    const std::string out = dir + "/out.safetensors";
    const std::pair<const char*, const char*> cases[] = {
        {"vgg16_zip.pth", "VGG16"},
        {"vgg16_gatys_legacy.pth", "VGG16"},
        {"vgg19bn_zip.pth", "batch-normalised"},
        {"resnet_zip.pth", "not a VGG19 checkpoint"},
        {"wrong_shape_zip.pth", "features.0.weight (conv1_1.weight) has shape (64, 3, 5, 5), expected (64, 3, 3, 3)"},
        {"wrong_bias_zip.pth", "features.30.bias (conv5_2.bias) has shape (256), expected (512)"},
        {"nan_zip.pth", "features.2.weight (conv1_2.weight) has a non-finite value"},
        {"int_weights_zip.pth", "dtype int32"},
        {"tiny_layer.caffemodel", "conv1_1.weight has shape (2, 2, 3, 3), expected (64, 3, 3, 3)"},
        {"tiny_notop.h5", "block1_conv1/kernel:0 (conv1_1.weight) has shape (2, 2, 3, 3)"},
        {"x.npy", "unrecognised format"},
        {"does_not_exist.pth", "not found"},
    };
    for (const auto& [file_c, mention] : cases) {
        const std::string file = file_c;
        CAPTURE(file);
        test::write_file(out, "previous");
        check_input_error(run_nst({"weights", "convert", in + "/" + file, out}), mention);
        CHECK(test::read_file(out) == "previous");  // a failed conversion leaves OUT alone
    }
    // The stride-0 files are a valid VGG19 (every weight 0.01), in both containers, with pickle
    // protocols 2 and 4, as the first torch versions pickled tensors, nested in a training
    // checkpoint (under state_dict, with DataParallel's module. prefix) and as a whole pickled
    // model: they convert, to the same network.
    std::string sum;
    for (const char* f : {"stride0_zip.pth", "stride0_legacy.pth", "stride0_p4_zip.pth", "stride0_p4_legacy.pth",
                          "stride0_oldest_legacy.pth", "stride0_nested_zip.pth", "stride0_model_zip.pth"}) {
        const std::string name = f;
        CAPTURE(name);
        REQUIRE(run_nst({"weights", "convert", in + "/" + f, out}).exit_code == 0);
        const Vgg19Weights w = load_weights(out);
        CHECK(w.conv[15].weight.data()[12345] == 0.01f);
        if (sum.empty()) sum = weights_checksum(w);
        CHECK(weights_checksum(w) == sum);
    }
    std::filesystem::remove_all(dir);  // large files; kept only when a REQUIRE stops the test
}

namespace {

// Converts in-process: success or nst::Error(Input) are both fine; anything else (another
// exception, a crash of the test process) is a bug.
void expect_clean(const std::string& path, int& failures_seen) {
    try {
        convert::convert_weights(path, convert::ConvertOptions{});
    } catch (const Error& e) {
        CHECK_MESSAGE(e.code() == ExitCode::Input, e.what());
        ++failures_seen;
        std::string msg = e.what();
        CHECK_MESSAGE(msg.find('\n') == std::string::npos, msg);
    }
}

void write_prefix(const std::string& src, const std::string& dst, std::uint64_t n) {
    std::ifstream i(src, std::ios::binary);
    std::ofstream o(dst, std::ios::binary | std::ios::trunc);
    std::vector<char> buf(1 << 20);
    while (n > 0 && i) {
        i.read(buf.data(), std::streamsize(std::min<std::uint64_t>(n, buf.size())));
        o.write(buf.data(), i.gcount());
        n -= std::uint64_t(i.gcount());
    }
}

}  // namespace

TEST_CASE("convert: truncated files of every format fail cleanly" * doctest::skip(convert_inputs_unavailable())) {
    const std::string& in = convert_inputs();
    const std::string dir = test::temp_dir("convert_trunc");
    for (const char* file : {"tv_zip.pth", "tv_legacy.pth", "vgg_conv_legacy.pth", "keras_notop.h5",
                             "vgg_layer.caffemodel", "vgg_layers_v1.caffemodel", "timm_vgg19.safetensors"}) {
        const std::string name = file;
        CAPTURE(name);
        const std::string src = in + "/" + file;
        const std::uint64_t size = std::filesystem::file_size(src);
        // The extension stays, so that detection sees what a user would give it.
        const std::string dst = dir + "/cut_" + file;
        int failed = 0;
        for (std::uint64_t n : {std::uint64_t(0), std::uint64_t(1), std::uint64_t(9), std::uint64_t(300),
                                std::uint64_t(5000), size / 3, size - 1}) {
            CAPTURE(n);
            write_prefix(src, dst, n);
            expect_clean(dst, failed);
        }
        CHECK(failed == 7);
        if (std::string(file) != "tv_zip.pth") std::filesystem::remove(dst);
    }
    // And once through the command: exit 3, one line naming the file.
    const std::string cut = dir + "/cut_tv_zip.pth";
    check_input_error(run_nst({"weights", "convert", cut, dir + "/o.safetensors"}), cut);
    std::filesystem::remove_all(dir);  // large files; kept only when a REQUIRE stops the test
}

TEST_CASE("convert: corrupted small files never crash" * doctest::skip(convert_inputs_unavailable())) {
    const std::string& in = convert_inputs();
    const std::string dir = test::temp_dir("convert_fuzz");
    std::uint64_t seed = 0;
    for (const char* file : {"stride0_zip.pth", "stride0_legacy.pth", "tiny_layer.caffemodel", "tiny_layers_v1.caffemodel",
                             "tiny_notop.h5", "vgg16_zip.pth"}) {
        const std::string name = file;
        CAPTURE(name);
        const std::string bytes = test::read_file(in + "/" + file);
        const std::string dst = dir + "/fuzz_" + file;
        int failed = 0;
        for (int round = 0; round < 120; ++round) {
            std::string b = bytes;
            // 1-8 random byte changes, and sometimes a cut as well.
            const int changes = 1 + int(rng::uniform(++seed, 1, 0) * 8);
            for (int k = 0; k < changes; ++k) {
                const std::size_t at = std::size_t(rng::uniform(seed, 2, std::uint64_t(k)) * double(b.size()));
                b[std::min(at, b.size() - 1)] = char(int(rng::uniform(seed, 3, std::uint64_t(k)) * 256));
            }
            if (rng::uniform(seed, 4, 0) < 0.25) b.resize(std::size_t(rng::uniform(seed, 5, 0) * double(b.size())));
            test::write_file(dst, b);
            CAPTURE(round);
            expect_clean(dst, failed);
        }
        MESSAGE(name << ": " << failed << " of 120 corrupted copies rejected, the rest converted");
    }
}

TEST_CASE("weights info: native and foreign files" * doctest::skip(convert_inputs_unavailable())) {
    const std::string& in = convert_inputs();
    const std::string dir = test::temp_dir("convert_info");
    const std::string out = dir + "/w.safetensors";
    REQUIRE(run_nst({"weights", "convert", in + "/vgg_layer.caffemodel", out}).exit_code == 0);

    test::RunResult r = run_nst({"weights", "info", out, "--json"});
    REQUIRE(r.exit_code == 0);
    nlohmann::json j = nlohmann::json::parse(r.out);
    CHECK(j["native"] == true);
    CHECK(j["preprocess"] == "caffe");
    CHECK(j["normalized"] == false);
    CHECK(j["checksum"] == weights_checksum(load_weights(out)));
    CHECK(j["parameters"] == 20024384);
    REQUIRE(j["layers"].size() == 16);
    CHECK(j["layers"][15]["name"] == "conv5_4");
    CHECK(j["layers"][15]["weight"] == nlohmann::json({512, 512, 3, 3}));
    CHECK(j["metadata"]["nst.preprocess"] == "caffe");

    // A foreign file is described as it would be converted.
    r = run_nst({"weights", "info", in + "/tv_legacy.pth", "--json"});
    REQUIRE(r.exit_code == 0);
    j = nlohmann::json::parse(r.out);
    CHECK(j["native"] == false);
    CHECK(j["preprocess"] == "torchvision");
    CHECK(j["checksum"] == weights_checksum(load_weights(out)));

    // The text form names the preprocessing and the checksum.
    r = run_nst({"weights", "info", out});
    REQUIRE(r.exit_code == 0);
    CHECK(r.out.find("preprocess  caffe") != std::string::npos);
    CHECK(r.out.find(weights_checksum(load_weights(out))) != std::string::npos);
    CHECK(r.out.find("conv5_4") != std::string::npos);

    check_input_error(run_nst({"weights", "info", in + "/vgg16_zip.pth"}), "VGG16");
    std::filesystem::remove_all(dir);  // large files; kept only when a REQUIRE stops the test
}
