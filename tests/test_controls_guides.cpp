// SPDX-License-Identifier: MIT
// Guide propagation (loss/guides.h) against independent computations:
//  - 'all' and 'inside' against a probe of the real network in the spirit of NIS's
//    get_fm_guides: Vgg19Net<double> with all-positive weights, average pooling and strictly
//    positive inputs is a linear map with a strictly positive coefficient from every pixel of a
//    neuron's receptive field (padding excluded) to that neuron, so perturbing a set of pixels
//    changes exactly the neurons whose field touches the set. 'all' = the neurons that change
//    when the region's pixels are perturbed; 'inside' = those that do not change when the pixels
//    outside the region are. Unchanged neurons are bit-identical (the direct convolution reads
//    only its field), so the comparison is exact.
//  - 'simple' against block means of the mask (2^p x 2^p blocks after p pools).
//  - grow against a brute-force dilation / erosion over the (2|k|+1)^2 square.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <tuple>
#include <string>
#include <vector>

#include "core/rng.h"
#include "loss/guides.h"
#include "nn/vgg19.h"
#include "test_util.h"

using namespace nst;

namespace {

constexpr int kProbeLastConv = 8;  // conv4_1

// Positive weights with about unit gain per conv (each weight in (0.5, 1.5) / (9 * in)), zero
// biases: positive inputs stay positive through every ReLU, which then never cuts a path.
const Vgg19Weights& positive_weights() {
    static const Vgg19Weights w = [] {
        Vgg19Weights wts;
        for (int c = 0; c < kNumConvs; ++c) {
            const int out = conv_out_channels(c), in = conv_in_channels(c);
            wts.conv[c].weight = filled(Shape{out, in, 3, 3}, 0.0f);
            wts.conv[c].bias = filled(Shape{1, out, 1, 1}, 0.0f);
            if (c > kProbeLastConv) continue;
            for (std::size_t j = 0; j < wts.conv[c].weight.numel(); ++j)
                wts.conv[c].weight[j] = float((0.5 + rng::uniform(17, 1 + c, j)) / (9.0 * in));
        }
        return wts;
    }();
    return w;
}

const std::vector<std::string> kProbeLayers = {"conv1_1", "relu1_2", "pool1",   "relu2_1",
                                               "relu2_2", "pool2",   "relu3_1", "relu3_4", "pool3", "relu4_1"};

// A blob mask (1, 1, h, w): a seeded smooth field thresholded, with soft values (0.3 / 0.7)
// around the threshold so that the binarisation at 0.5 is exercised.
Tensor<float> blob_mask(int h, int w, std::uint64_t seed) {
    Tensor<float> m(Shape{1, 1, h, w});
    const double a = 0.2 + 0.3 * rng::uniform(seed, 1, 0), b = 0.2 + 0.3 * rng::uniform(seed, 1, 1);
    const double p = 6.3 * rng::uniform(seed, 1, 2), q = 6.3 * rng::uniform(seed, 1, 3);
    for (int i = 0; i < h; ++i)
        for (int j = 0; j < w; ++j) {
            const double v = std::sin(a * i + p) + std::cos(b * j + q) + 0.3 * std::sin(0.9 * (i + j));
            m.view().at(0, 0, i, j) = v > 0.6 ? 1.0f : v > 0.4 ? 0.7f : v > 0.2 ? 0.3f : 0.0f;
        }
    return m;
}

bool in_region(float v) { return v >= 0.5f; }

// Channel 0 of every tap of the last forward.
std::vector<std::vector<double>> tap_planes(const cpu::Vgg19Net<double>& net, const std::vector<int>& taps) {
    std::vector<std::vector<double>> out;
    for (int l : taps) {
        const ConstView<double> y = net.output(l);
        out.emplace_back(y.begin(), y.begin() + y.shape.plane());
    }
    return out;
}

// Per tap, the neurons (channel 0) whose value changes when the pixels with pick(i, j) are
// perturbed: 0/1 per position.
std::vector<std::vector<char>> changed(cpu::Vgg19Net<double>& net, const std::vector<int>& taps,
                                       const std::vector<std::vector<double>>& base, const Tensor<double>& x,
                                       const std::function<bool(int, int)>& pick) {
    Tensor<double> xp = x.clone();
    const int h = x.shape().h, w = x.shape().w;
    for (int c = 0; c < 3; ++c)
        for (int i = 0; i < h; ++i)
            for (int j = 0; j < w; ++j)
                if (pick(i, j)) xp.view().at(0, c, i, j) += 10.0;
    net.forward(xp);
    const std::vector<std::vector<double>> y = tap_planes(net, taps);
    std::vector<std::vector<char>> out(taps.size());
    for (std::size_t t = 0; t < taps.size(); ++t)
        for (std::size_t i = 0; i < y[t].size(); ++i) out[t].push_back(y[t][i] != base[t][i]);
    return out;
}

int pools_before(int layer) {
    int p = 0;
    for (int k = 0; k <= layer; ++k)
        if (vgg19_layers()[k].kind == LayerKind::Pool) ++p;
    return p;
}

// The binarised mask dilated (grow > 0) or eroded (grow < 0) over the (2|grow|+1)^2 square,
// positions outside the image ignored.
Tensor<float> brute_grow(const Tensor<float>& m, int grow) {
    const int h = m.shape().h, w = m.shape().w, r = std::abs(grow);
    Tensor<float> out(m.shape());
    for (int i = 0; i < h; ++i)
        for (int j = 0; j < w; ++j) {
            bool any = false, all = true;
            for (int y = std::max(0, i - r); y <= std::min(h - 1, i + r); ++y)
                for (int x = std::max(0, j - r); x <= std::min(w - 1, j + r); ++x) {
                    const bool in = in_region(m.view().at(0, 0, y, x));
                    any = any || in;
                    all = all && in;
                }
            out.view().at(0, 0, i, j) = (grow > 0 ? any : all) ? 1.0f : 0.0f;
        }
    return out;
}

// Compares propagate_guide('inside' / 'all', grow) with the probe of `probe_mask` (the pixel
// mask the probe should see: the mask itself, or its brute-force grown version).
void check_against_probe(const Tensor<float>& mask, const Tensor<float>& probe_mask, int grow, int& nonempty) {
    static cpu::Vgg19Net<double> net(positive_weights(), Pooling::Avg, cpu::ConvAlgo::Direct);
    std::vector<int> taps;
    for (const auto& n : kProbeLayers) taps.push_back(layer_index(n));
    net.set_taps(taps);
    const int h = mask.shape().h, w = mask.shape().w;
    const Tensor<double> x = test::random_tensor<double>(Shape{1, 3, h, w}, 31, 1, 2);
    auto region = [&](int i, int j) { return in_region(probe_mask.cview().at(0, 0, i, j)); };
    net.forward(x);
    const std::vector<std::vector<double>> base = tap_planes(net, taps);
    const auto touched_all = changed(net, taps, base, x, region);
    const auto outside_all = changed(net, taps, base, x, [&](int i, int j) { return !region(i, j); });
    for (std::size_t t = 0; t < taps.size(); ++t) {
        const int layer = taps[t];
        CAPTURE(vgg19_layers()[layer].name);
        const std::vector<char>& touched = touched_all[t];
        const std::vector<char>& outside = outside_all[t];
        const Tensor<double> all = propagate_guide(mask.cview(), layer, {GuidePropagation::All, grow});
        const Tensor<double> inside = propagate_guide(mask.cview(), layer, {GuidePropagation::Inside, grow});
        REQUIRE(all.numel() == touched.size());
        REQUIRE(inside.numel() == outside.size());
        int bad_all = 0, bad_inside = 0;
        for (std::size_t i = 0; i < touched.size(); ++i) {
            bad_all += (all[i] == 1.0) != bool(touched[i]) || (all[i] != 0.0 && all[i] != 1.0);
            bad_inside += (inside[i] == 1.0) != !outside[i] || (inside[i] != 0.0 && inside[i] != 1.0);
            nonempty += inside[i] == 1.0;
        }
        CHECK(bad_all == 0);
        CHECK(bad_inside == 0);
    }
}

}  // namespace

TEST_CASE("guides: inside and all match a probe of the network") {
    int nonempty = 0;
    for (const auto& [h, w, seed] : std::vector<std::tuple<int, int, std::uint64_t>>{{24, 24, 1}, {23, 21, 2}, {26, 19, 3}}) {
        CAPTURE(h);
        CAPTURE(w);
        const Tensor<float> mask = blob_mask(h, w, seed);
        check_against_probe(mask, mask, 0, nonempty);
    }
    CHECK(nonempty > 0);  // the 'inside' guides are not trivially empty everywhere
}

TEST_CASE("guides: grow then inside and all match the probe of the grown mask") {
    int nonempty = 0;
    for (int grow : {2, -1}) {
        CAPTURE(grow);
        const Tensor<float> mask = blob_mask(22, 25, 4 + grow);
        check_against_probe(mask, brute_grow(mask, grow), grow, nonempty);
    }
    CHECK(nonempty > 0);
}

TEST_CASE("guides: grow is a square dilation or erosion of the binarised mask") {
    const Tensor<float> mask = blob_mask(30, 27, 9);
    for (int grow : {1, 3, -1, -2}) {
        CAPTURE(grow);
        // conv1_1 under 'simple': the pixel mask after growing, unchanged by the conv.
        const Tensor<double> g = propagate_guide(mask.cview(), layer_index("conv1_1"), {GuidePropagation::Simple, grow});
        const Tensor<float> ref = brute_grow(mask, grow);
        int bad = 0;
        for (std::size_t i = 0; i < ref.numel(); ++i) bad += g[i] != double(ref[i]);
        CHECK(bad == 0);
    }
}

TEST_CASE("guides: simple is the block mean of the mask") {
    for (const auto& [h, w] : std::vector<std::pair<int, int>>{{32, 40}, {37, 29}}) {
        const Tensor<float> mask = [&] {
            Tensor<float> m(Shape{1, 1, h, w});
            for (std::size_t i = 0; i < m.numel(); ++i) m[i] = float(rng::uniform(5, 2, i));  // soft values
            return m;
        }();
        for (const char* name : {"relu1_1", "pool1", "relu2_1", "relu3_1", "relu4_2", "relu5_1", "pool5"}) {
            CAPTURE(name);
            const int layer = layer_index(name), s = 1 << pools_before(layer);
            const Tensor<double> g = propagate_guide(mask.cview(), layer, {});
            REQUIRE(g.shape() == (Shape{1, 1, h / s, w / s}));
            double worst = 0;
            for (int i = 0; i < h / s; ++i)
                for (int j = 0; j < w / s; ++j) {
                    double sum = 0;
                    for (int y = i * s; y < (i + 1) * s; ++y)
                        for (int x = j * s; x < (j + 1) * s; ++x) sum += mask.cview().at(0, 0, y, x);
                    worst = std::max(worst, std::fabs(g.cview().at(0, 0, i, j) - sum / (s * s)));
                }
            CHECK(worst < 1e-14);
        }
    }
}

TEST_CASE("guides: normalisation makes mean(T^2) = 1 and flags empty guides") {
    Tensor<double> t(Shape{1, 1, 3, 4});
    for (std::size_t i = 0; i < t.numel(); ++i) t[i] = i % 3 == 0 ? 0.0 : 0.25 * double(i);
    REQUIRE(normalize_guide(t));
    double sq = 0;
    for (double v : t) sq += v * v;
    CHECK(sq / double(t.numel()) == doctest::Approx(1.0).epsilon(1e-15));
    Tensor<double> z = filled(Shape{1, 1, 2, 2}, 0.0);
    CHECK_FALSE(normalize_guide(z));
}
