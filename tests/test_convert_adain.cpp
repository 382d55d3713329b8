// SPDX-License-Identifier: MIT
// AdaIN's networks (nn/adain_net.h): parameter names and counts against the port's module tables
// and the totals derived in docs/research/feedforward.md §5.3, feature sizes against the
// closed-form ceil-mode pooling sizes there, and the arch names' registration. `nst weights
// convert` of naoto0804/pytorch-AdaIN checkpoints torch.save wrote (tests/make_convert_inputs.py
// builds the port's Sequentials): vgg_normalised.pth (all 53 modules' keys) and decoder.pth give
// nst models whose cpu::Network<float> output matches PyTorch's (float64) to rel L2 <= 1e-5;
// missing, misshapen, unexpected tensors and wrong --arch fail with exit 3 and clobber nothing;
// `nst stylize` with both converted files reproduces the port's stylised image (one 8-bit level).
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <string>

#include "convert_inputs.h"
#include "io/image.h"
#include "io/npy.h"
#include "nn/adain_net.h"
#include "nn/net_desc.h"
#include "nn/net_model.h"
#include "nn/network.h"
#include "test_util.h"

using namespace nst;
using nst::test::convert_inputs;
using nst::test::convert_inputs_unavailable;
using nst::test::run_nst;

namespace {

Shape shape_of(const NpyArray& a) {
    REQUIRE(a.shape.size() == 4);
    return Shape{int(a.shape[0]), int(a.shape[1]), int(a.shape[2]), int(a.shape[3])};
}

int ceil_div(int a, int b) { return (a + b - 1) / b; }

std::set<std::string> weight_names(const NetDesc& d) {
    std::set<std::string> out;
    for (const ParamInfo& p : param_layout(d)) out.insert(p.name);
    return out;
}

}  // namespace

TEST_CASE("adain net: encoder is the port's vgg up to relu4_1") {
    const NetDesc d = adain_encoder_desc();
    CHECK(d.arch == "adain-encoder");
    CHECK(d.in_channels == 3);
    CHECK(param_count(d) == 3505740);
    // §5.3: the conv keys of vgg_normalised.pth below index 31, weight and bias each.
    std::set<std::string> want;
    for (int k : {0, 2, 5, 9, 12, 16, 19, 22, 25, 29}) {
        want.insert(std::to_string(k) + ".weight");
        want.insert(std::to_string(k) + ".bias");
    }
    CHECK(weight_names(d) == want);
    const std::map<std::string, Shape> shapes = {
        {"0.weight", Shape{3, 3, 1, 1}},     {"2.weight", Shape{64, 3, 3, 3}},
        {"5.weight", Shape{64, 64, 3, 3}},   {"9.weight", Shape{128, 64, 3, 3}},
        {"12.weight", Shape{128, 128, 3, 3}}, {"16.weight", Shape{256, 128, 3, 3}},
        {"25.weight", Shape{256, 256, 3, 3}}, {"29.weight", Shape{512, 256, 3, 3}}};
    for (const ParamInfo& p : param_layout(d))
        if (auto it = shapes.find(p.name); it != shapes.end()) {
            INFO(p.name);
            CHECK(p.shape == it->second);
        }
    for (const LayerSpec& l : d.layers)
        if (l.op == Op::Conv && l.kernel == 3) CHECK((l.pad == 1 && l.pad_mode == PadMode::Reflect));
    const auto relus = adain_encoder_relu_layers();
    CHECK(relus[3] == int(d.layers.size()) - 1);
    const char* names[4] = {"relu1_1", "relu2_1", "relu3_1", "relu4_1"};
    const int channels[4] = {64, 128, 256, 512};
    // An odd size: the ceil-mode pools round up (25 -> 13 -> 7 -> 4).
    const int h = 25, w = 30;
    const auto s = output_shapes(d, Shape{1, 3, h, w});
    int eh = h, ew = w;
    for (int i = 0; i < 4; ++i) {
        const int l = relus[std::size_t(i)];
        CHECK(d.layers[std::size_t(l)].name == names[i]);
        CHECK(d.layers[std::size_t(l)].op == Op::Relu);
        CHECK(s[std::size_t(l)] == Shape{1, channels[i], eh, ew});
        eh = ceil_div(eh, 2);
        ew = ceil_div(ew, 2);
    }
}

TEST_CASE("adain net: decoder mirrors the encoder") {
    const NetDesc d = adain_decoder_desc();
    CHECK(d.arch == "adain-decoder");
    CHECK(d.in_channels == 512);
    CHECK(param_count(d) == 3505219);
    std::set<std::string> want;
    for (int k : {1, 5, 8, 11, 14, 18, 21, 25, 28}) {
        want.insert(std::to_string(k) + ".weight");
        want.insert(std::to_string(k) + ".bias");
    }
    CHECK(weight_names(d) == want);
    for (const ParamInfo& p : param_layout(d)) {
        if (p.name == "1.weight") CHECK(p.shape == Shape{256, 512, 3, 3});
        if (p.name == "14.weight") CHECK(p.shape == Shape{128, 256, 3, 3});
        if (p.name == "28.weight") CHECK(p.shape == Shape{3, 64, 3, 3});
    }
    int relus = 0, ups = 0;
    for (const LayerSpec& l : d.layers) {
        relus += l.op == Op::Relu;
        ups += l.op == Op::Upsample;
    }
    CHECK(relus == 8);
    CHECK(ups == 3);
    CHECK(d.layers.back().op == Op::Conv);  // no ReLU after the last conv
    const auto s = output_shapes(d, Shape{2, 512, 4, 5});
    CHECK(s.back() == Shape{2, 3, 32, 40});
}

TEST_CASE("adain net: arch names rebuild the descriptions") {
    for (const NetDesc& d : {adain_encoder_desc(), adain_decoder_desc()}) {
        const NetDesc r = desc_from_metadata({{"nst.arch", d.arch}, {"nst.width", std::to_string(model_width(d))}},
                                             "test");
        CHECK(r.arch == d.arch);
        CHECK(param_count(r) == param_count(d));
        CHECK(r.layers.size() == d.layers.size());
    }
}

TEST_CASE("convert adain: encoder and decoder checkpoints give PyTorch's output" *
          doctest::skip(convert_inputs_unavailable())) {
    const std::string& in = convert_inputs();
    const std::string dir = test::temp_dir("convert_adain");
    const struct {
        const char* file;
        const char* arch;
        const char* input;
        const char* ref;
        std::size_t params;
        const char* said;
    } cases[] = {
        {"adain_vgg_normalised.pth", "adain-encoder", "adain_x.npy", "adain_enc_ref.npy", 3505740,
         "dropped     14 tensor(s) of vgg[31:]"},
        {"adain_decoder.pth", "adain-decoder", "adain_f.npy", "adain_dec_ref.npy", 3505219, "3505219 parameters in 18"},
    };
    for (const auto& c : cases) {
        const std::string file = c.file;
        CAPTURE(file);
        const std::string out = dir + "/" + c.file + ".safetensors";
        const test::RunResult r = run_nst({"weights", "convert", in + "/" + c.file, out});
        INFO("stdout: " << r.out << "stderr: " << r.err);
        REQUIRE(r.exit_code == 0);
        CHECK(r.out.find(c.said) != std::string::npos);
        const NetModel m = load_model(out);
        CHECK(m.desc.arch == c.arch);
        CHECK(m.metadata.at("nst.io") == "rgb01");
        CHECK(m.metadata.at("nst.source").find(c.file) != std::string::npos);
        REQUIRE(m.params.size() == c.params);

        const NpyArray x = load_npy(in + "/" + c.input);
        const NpyArray ref = load_npy(in + "/" + c.ref);
        cpu::Network<float> net(m.desc, m.params.data());
        const ConstView<float> y = net.forward(ConstView<float>(x.data.data(), shape_of(x)), false);
        REQUIRE(std::vector<std::int64_t>{y.shape.n, y.shape.c, y.shape.h, y.shape.w} == ref.shape);
        const double e = test::rel_l2(y.data, ref.data.data(), ref.data.size());
        CHECK(e <= 1e-5);
        MESSAGE(file << ": converted model vs PyTorch, relative L2 " << e);

        // --arch naming the file's own network changes nothing.
        const test::RunResult forced =
            run_nst({"weights", "convert", in + "/" + c.file, dir + "/forced.safetensors", "--arch", c.arch});
        REQUIRE(forced.exit_code == 0);
        CHECK(load_model(dir + "/forced.safetensors").params == m.params);
    }
    std::filesystem::remove_all(dir);
}

TEST_CASE("convert adain: converted checkpoints stylise as pytorch-AdaIN's test.py" *
          doctest::skip(convert_inputs_unavailable())) {
    // Both .pth converted, then `nst stylize` on the generator's PNGs (sizes multiples of 8, so the
    // port's pipeline exactly; --style-size 0 as test.py --style_size 0): the PNG must equal the
    // port's float64 output (clamped as save_image does) to within one 8-bit level.
    const std::string& in = convert_inputs();
    const std::string dir = test::temp_dir("convert_adain_stylize");
    for (const char* f : {"adain_vgg_normalised.pth", "adain_decoder.pth"})
        REQUIRE(run_nst({"weights", "convert", in + "/" + f, dir + "/" + f + ".safetensors"}).exit_code == 0);
    const std::string out = dir + "/out.png";
    const test::RunResult r =
        run_nst({"stylize", "--model", dir + "/adain_decoder.pth.safetensors", "--encoder",
                 dir + "/adain_vgg_normalised.pth.safetensors", "--content", in + "/adain_content.png", "--style",
                 in + "/adain_style.png", "--style-size", "0", "--alpha", "0.7", "--output", out, "--quiet"});
    INFO("stderr: " << r.err);
    REQUIRE(r.exit_code == 0);
    const NpyArray ref = load_npy(in + "/adain_stylized_ref.npy");
    const Tensor<float> got = load_image(out);
    REQUIRE(std::vector<std::int64_t>{1, 3, got.shape().h, got.shape().w} == ref.shape);
    double worst = 0;
    std::size_t inside = 0;
    for (std::size_t i = 0; i < ref.data.size(); ++i) {
        worst = std::max(worst, std::abs(double(got[i]) - double(ref.data[i])) * 255.0);
        inside += ref.data[i] > 0 && ref.data[i] < 1;
    }
    CHECK(worst <= 1.0);
    // Not a saturated image: most of it is strictly inside (0, 1).
    CHECK(inside * 3 > ref.data.size());
    MESSAGE("nst stylize of converted checkpoints vs pytorch-AdaIN: max " << worst << " levels, "
                                                                         << inside << "/" << ref.data.size()
                                                                         << " values inside (0, 1)");
    std::filesystem::remove_all(dir);
}

TEST_CASE("convert adain: broken and wrong-architecture inputs fail and clobber nothing" *
          doctest::skip(convert_inputs_unavailable())) {
    const std::string& in = convert_inputs();
    const std::string dir = test::temp_dir("convert_adain_bad");
    const std::string out = dir + "/out.safetensors";
    const struct {
        std::vector<std::string> args;
        const char* mention;
    } cases[] = {
        {{in + "/adain_dec_missing.pth"}, "missing tensor 14.bias (128) of the AdaIN decoder"},
        {{in + "/adain_dec_extra.pth"}, "unexpected tensor 30.weight (3, 3, 3, 3)"},
        {{in + "/adain_enc_wrong_shape.pth"}, "tensor 29.weight has shape (512, 256, 1, 1), the AdaIN encoder"},
        {{in + "/adain_enc_wrong_first.pth", "--arch", "adain-encoder"},
         "tensor 0.weight has shape (3, 3, 3, 3), the AdaIN encoder (pytorch-AdaIN vgg_normalised) expects (3, 3, 1, 1)"},
        {{in + "/adain_decoder.pth", "--arch", "adain-encoder"}, "holds an AdaIN decoder (pytorch-AdaIN), not an AdaIN encoder"},
        {{in + "/adain_vgg_normalised.pth", "--arch", "adain-decoder"}, "not an AdaIN decoder"},
        {{in + "/adain_vgg_normalised.pth", "--arch", "vgg19"}, "not a VGG19"},
        {{in + "/tv_zip.pth", "--arch", "adain-encoder"}, "holds a VGG19, not an AdaIN encoder"},
        {{in + "/tn_zip.model", "--arch", "adain-decoder"}, "holds a TransformerNet (pytorch/examples), not an AdaIN"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.args[0]);
        test::write_file(out, "previous");
        std::vector<std::string> args = {"weights", "convert", c.args[0], out};
        args.insert(args.end(), c.args.begin() + 1, c.args.end());
        const test::RunResult r = run_nst(args);
        INFO("stderr: " << r.err);
        CHECK(r.exit_code == 3);
        CHECK(r.err.rfind("nst: error: ", 0) == 0);
        CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
        CHECK(r.err.find(c.mention) != std::string::npos);
        CHECK(test::read_file(out) == "previous");
    }
    test::write_file(out, "previous");
    CHECK(run_nst({"weights", "convert", in + "/adain_decoder.pth", out, "--preprocess", "caffe"}).exit_code == 2);
    CHECK(test::read_file(out) == "previous");
    std::filesystem::remove_all(dir);
}
