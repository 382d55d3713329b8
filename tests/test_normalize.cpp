// SPDX-License-Identifier: MIT
// `nst weights normalize`: the normalised network's activations are the original's times the
// reported per-filter scales at every layer, and each live filter's mean activation over the
// given images and positions is 1.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "core/rng.h"
#include "io/image.h"
#include "io/npy.h"
#include "nn/safetensors.h"
#include "io/preprocess.h"
#include "nn/vgg19.h"
#include "nn/vgg19_layers.h"
#include "nn/weights.h"
#include "test_util.h"

using namespace nst;
using nst::test::run_nst;

namespace {

// Biases: small against activations of tens to hundreds (caffe input space).
constexpr double kBias = 1;

// Smooth colour patterns with noise: varied enough that few filters are dead.
void make_png(const std::string& path, int h, int w, std::uint64_t seed) {
    Tensor<float> rgb(Shape{1, 3, h, w});
    for (int c = 0; c < 3; ++c)
        for (int y = 0; y < h; ++y)
            for (int x = 0; x < w; ++x)
                rgb.view().at(0, c, y, x) =
                    float(0.5 + 0.3 * std::sin(0.3 * (x + 3.0 * seed) + 1.7 * c) * std::cos(0.2 * y + seed) +
                          0.2 * (rng::uniform(seed, std::uint64_t(c), std::size_t(y) * std::size_t(w) + std::size_t(x)) - 0.5));
    save_image(path, rgb.cview());
}

std::string all_layers() {
    std::string s;
    for (const LayerInfo& l : vgg19_layers()) s += (s.empty() ? "" : ",") + l.name;
    return s;
}

}  // namespace

TEST_CASE("weights normalize: activations = original x scales / mean activation 1") {
    const std::string dir = test::temp_dir("normalize");
    const std::string images = dir + "/images";
    std::filesystem::create_directories(images);
    const int sizes[3][2] = {{40, 48}, {32, 36}, {48, 40}};
    for (int i = 0; i < 3; ++i) make_png(images + "/img" + std::to_string(i) + ".png", sizes[i][0], sizes[i][1], 7 + i);
    test::write_file(images + "/notes.txt", "not an image: ignored");

    // He-normal weights made zero-sum per filter, with small positive biases. Like a trained
    // network's, every filter then fires at about half of the positions. (In random:SEED a
    // filter whose weights sum to a negative value is silenced by the all-positive ReLU inputs
    // of the layer before: on three tiny images a hundred filters are dead and more fire at a
    // few positions only, with values so small relative to their inputs that float32 rounding
    // alone moves their means by 1e-3.)
    const std::string orig = dir + "/orig.safetensors";
    {
        Vgg19Weights w = random_weights(5);
        w.random = false;
        w.source = "test: random:5, zero-sum filters, positive biases";
        for (int c = 0; c < kNumConvs; ++c) {
            Tensor<float>& k = w.conv[std::size_t(c)].weight;
            const std::size_t per = k.numel() / std::size_t(k.shape().n);
            for (int o = 0; o < k.shape().n; ++o) {
                double m = 0;
                for (std::size_t j = 0; j < per; ++j) m += k.data()[std::size_t(o) * per + j];
                m /= double(per);
                for (std::size_t j = 0; j < per; ++j) k.data()[std::size_t(o) * per + j] -= float(m);
            }
            for (std::size_t i = 0; i < w.conv[std::size_t(c)].bias.numel(); ++i)
                w.conv[std::size_t(c)].bias.data()[i] = float(kBias * (0.5 + rng::uniform(77, std::uint64_t(c), i)));
        }
        // One dead filter: it must be reported and left unscaled.
        Tensor<float>& k31 = w.conv[4].weight;  // conv3_1
        std::fill(k31.data() + 7 * 128 * 9, k31.data() + 8 * 128 * 9, 0.f);
        w.conv[4].bias.data()[7] = -1.f;
        save_weights_safetensors(orig, w);
    }
    const std::string out = dir + "/norm.safetensors";
    const test::RunResult r = run_nst({"weights", "normalize", orig, out, "--images", images, "--image-size", "0",
                                       "--pooling", "avg"});
    INFO("stderr: " << r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(r.out.find("conv5_4") != std::string::npos);

    SafetensorsReader reader(out);
    const auto& meta = reader.metadata();
    CHECK(meta.at("nst.normalized") == "true");
    CHECK(meta.at("nst.preprocess") == "caffe");
    const nlohmann::json scales = nlohmann::json::parse(meta.at("nst.normalization_scales"));
    const nlohmann::json settings = nlohmann::json::parse(meta.at("nst.normalization"));
    CHECK(settings["images"] == 3);
    CHECK(settings["pooling"] == "avg");
    CHECK(settings["dead_filters"] == nlohmann::json({{"conv3_1", 1}}));
    CHECK(r.out.find("1 dead filter") != std::string::npos);
    REQUIRE(scales.size() == 16);
    for (int c = 0; c < kNumConvs; ++c) REQUIRE(scales[conv_name(c)].size() == std::size_t(conv_out_channels(c)));

    // Per layer and channel: sums of normalised activations and position counts, over the images.
    std::vector<std::vector<double>> sum(kNumLayers);
    std::vector<double> count(kNumLayers, 0);
    double worst = 0;
    for (int i = 0; i < 3; ++i) {
        const std::string img = images + "/img" + std::to_string(i) + ".png";
        const std::string d0 = dir + "/orig" + std::to_string(i), d1 = dir + "/norm" + std::to_string(i);
        // The gatys preset has caffe scale 255, as normalisation uses.
        for (const auto& [w, d] : {std::pair<std::string, std::string>{orig, d0}, {out, d1}}) {
            const test::RunResult f = run_nst({"features", "--image", img, "--layers", all_layers(), "--out-dir", d,
                                               "--weights", w, "--preset", "gatys", "--pooling", "avg"});
            INFO("features stderr: " << f.err);
            REQUIRE(f.exit_code == 0);
        }
        for (int k = 0; k < kNumLayers; ++k) {
            const LayerInfo& l = vgg19_layers()[std::size_t(k)];
            CAPTURE(l.name);
            const NpyArray a = load_npy(d0 + "/" + l.name + ".npy");
            const NpyArray b = load_npy(d1 + "/" + l.name + ".npy");
            REQUIRE(a.shape == b.shape);
            // A pool carries the scales of the conv before it.
            const int conv = l.conv >= 0 ? l.conv : vgg19_layers()[std::size_t(k - 1)].conv;
            const std::size_t C = std::size_t(a.shape[1]), plane = a.data.size() / C;
            std::vector<double> expected(a.data.size());
            sum[std::size_t(k)].resize(C, 0.0);
            for (std::size_t ch = 0; ch < C; ++ch) {
                const double s = scales[conv_name(conv)][ch].get<double>();
                CHECK(s > 0);
                for (std::size_t p = 0; p < plane; ++p) {
                    expected[ch * plane + p] = double(a.data[ch * plane + p]) * s;
                    sum[std::size_t(k)][ch] += b.data[ch * plane + p];
                }
            }
            count[std::size_t(k)] += double(plane);
            const double e = test::rel_l2(b.data.data(), expected.data(), b.data.size());
            CHECK_MESSAGE(e <= 1e-5, l.name << " rel L2 " << e);
            worst = std::max(worst, e);
        }
    }
    MESSAGE("normalised vs original x scale: worst relative L2 over all 37 layers and 3 images = " << worst);

    // The mean of each live filter in the float32 features, as nst computes them.
    double worst_float = 0;
    for (int c = 0; c < kNumConvs; ++c) {
        const std::size_t k = std::size_t(conv_layer_index(c) + 1);  // relu
        for (std::size_t ch = 0; ch < sum[k].size(); ++ch) {
            const double mean = sum[k][ch] / count[k];
            if (c == 4 && ch == 7) {
                CHECK(mean == 0);
                CHECK(scales["conv3_1"][7].get<double>() == 1.0);
                continue;
            }
            worst_float = std::max(worst_float, std::fabs(mean - 1));
            CHECK_MESSAGE(std::fabs(mean - 1) <= 1e-4, conv_name(c) << " filter " << ch << " float mean " << mean);
        }
    }
    MESSAGE("mean activation per live filter (float32 features): worst |mean - 1| = " << worst_float);

    // Mean activation per filter, measured in double precision so that what is checked is the
    // network's function rather than float32 arithmetic noise (float features of near-dead
    // filters, mostly zero with rare tiny values, carry relative errors far above 1e-4).
    const Vgg19Weights nw = load_weights(out);
    cpu::Vgg19Net<double> net(nw, Pooling::Avg);
    std::vector<int> relus;
    for (int c = 0; c < kNumConvs; ++c) relus.push_back(conv_layer_index(c) + 1);
    net.set_taps(relus);
    std::vector<std::vector<double>> msum(kNumConvs);
    std::vector<double> mcount(kNumConvs, 0);
    for (int i = 0; i < 3; ++i) {
        Tensor<float> rgb = load_image(images + "/img" + std::to_string(i) + ".png");
        Tensor<float> xf(rgb.shape());
        Preprocessor{PreprocessKind::Caffe, 255.f}.to_network(xf.view(), rgb.cview());
        Tensor<double> x(rgb.shape());
        for (std::size_t j = 0; j < x.numel(); ++j) x.data()[j] = xf.data()[j];
        net.forward(x.cview());
        for (int c = 0; c < kNumConvs; ++c) {
            const ConstView<double> a = net.output(relus[std::size_t(c)]);
            msum[std::size_t(c)].resize(std::size_t(a.shape.c), 0.0);
            for (int ch = 0; ch < a.shape.c; ++ch)
                for (std::size_t p = 0; p < a.shape.plane(); ++p) msum[std::size_t(c)][std::size_t(ch)] += a.data[std::size_t(ch) * a.shape.plane() + p];
            mcount[std::size_t(c)] += double(a.shape.plane());
        }
    }
    double worst_mean = 0;
    int dead = 0;
    for (int c = 0; c < kNumConvs; ++c) {
        for (std::size_t ch = 0; ch < msum[std::size_t(c)].size(); ++ch) {
            const double mean = msum[std::size_t(c)][ch] / mcount[std::size_t(c)];
            if (scales[conv_name(c)][ch].get<double>() == 1.0 && std::fabs(mean) < 1e-9) {
                ++dead;  // dead filter: left unscaled, reported
                continue;
            }
            worst_mean = std::max(worst_mean, std::fabs(mean - 1));
            CHECK_MESSAGE(std::fabs(mean - 1) <= 1e-4, conv_name(c) << " filter " << ch << " mean " << mean);
        }
    }
    MESSAGE("mean activation per live filter (double network): worst |mean - 1| = " << worst_mean << ", dead filters: " << dead);
    std::filesystem::remove_all(dir);  // large files; kept only when a REQUIRE stops the test
}

TEST_CASE("weights normalize: bad images and options") {
    const std::string dir = test::temp_dir("normalize_bad");
    const std::string out = dir + "/n.safetensors";
    std::filesystem::create_directories(dir + "/empty");
    std::filesystem::create_directories(dir + "/small");
    make_png(dir + "/small/tiny.png", 8, 8, 1);
    test::RunResult r = run_nst({"weights", "normalize", "random", out, "--images", dir + "/missing"});
    CHECK(r.exit_code == 3);
    CHECK(r.err.find("not a directory") != std::string::npos);
    r = run_nst({"weights", "normalize", "random", out, "--images", dir + "/empty"});
    CHECK(r.exit_code == 3);
    CHECK(r.err.find("no .png, .jpg or .jpeg") != std::string::npos);
    r = run_nst({"weights", "normalize", "random", out, "--images", dir + "/small", "--image-size", "0"});
    CHECK(r.exit_code == 3);
    CHECK(r.err.find("at least 16") != std::string::npos);
    CHECK(run_nst({"weights", "normalize", "random", out, "--images", dir + "/small", "--pooling", "mean"}).exit_code == 2);
    CHECK(run_nst({"weights", "normalize", "random", out}).exit_code == 2);
    CHECK(run_nst({"weights", "normalize", dir + "/none.safetensors", out, "--images", dir + "/small"}).exit_code == 3);
    CHECK(!test::file_exists(out));
}
