// SPDX-License-Identifier: MIT
// `nst weights convert --arch vgg-normalised` of pytorch-AdaIN's vgg_normalised.pth (written by
// torch.save in tests/make_convert_inputs.py with the port's 53-module Sequential): the encoder
// kept to relu5_1 (vgg[:44], nn/wct_net.h) for multi-level WCT. Its cpu::Network<float> output
// matches PyTorch's vgg[:44] in float64 to rel L2 <= 1e-5; conv5_2 .. conv5_4 are dropped and
// counted; the decoder file is not a vgg-normalised (exit 3, nothing written).
#include <doctest/doctest.h>

#include <filesystem>
#include <string>

#include "convert_inputs.h"
#include "io/npy.h"
#include "nn/net_model.h"
#include "nn/network.h"
#include "test_util.h"

using namespace nst;
using nst::test::convert_inputs;
using nst::test::convert_inputs_unavailable;
using nst::test::run_nst;

TEST_CASE("convert wct: vgg_normalised.pth to relu5_1 gives PyTorch's vgg[:44]" *
          doctest::skip(convert_inputs_unavailable())) {
    const std::string& in = convert_inputs();
    const std::string dir = test::temp_dir("convert_wct");
    const std::string out = dir + "/vgg_normalised.safetensors";
    const test::RunResult r =
        run_nst({"weights", "convert", in + "/adain_vgg_normalised.pth", out, "--arch", "vgg-normalised"});
    INFO("stdout: " << r.out << "stderr: " << r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(r.out.find("dropped     6 tensor(s) of vgg[44:]") != std::string::npos);
    const NetModel m = load_model(out);
    CHECK(m.desc.arch == "vgg-normalised");
    CHECK(m.metadata.at("nst.io") == "rgb01");
    REQUIRE(m.params.size() == 12944972u);

    const NpyArray x = load_npy(in + "/adain_x.npy");
    const NpyArray ref = load_npy(in + "/adain_enc44_ref.npy");
    REQUIRE(x.shape.size() == 4);
    cpu::Network<float> net(m.desc, m.params.data());
    const ConstView<float> y = net.forward(
        ConstView<float>(x.data.data(), Shape{int(x.shape[0]), int(x.shape[1]), int(x.shape[2]), int(x.shape[3])}),
        false);
    REQUIRE(std::vector<std::int64_t>{y.shape.n, y.shape.c, y.shape.h, y.shape.w} == ref.shape);
    const double e = test::rel_l2(y.data, ref.data.data(), ref.data.size());
    MESSAGE("vgg-normalised vs PyTorch vgg[:44], relative L2 " << e);
    CHECK(e <= 1e-5);

    // The decoder checkpoint is not the encoder: exit 3, the earlier output untouched.
    test::check_cli_error({"weights", "convert", in + "/adain_decoder.pth", out, "--arch", "vgg-normalised"}, 3, out,
                          "AdaIN decoder");
    std::filesystem::remove_all(dir);
}
