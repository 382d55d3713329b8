// SPDX-License-Identifier: MIT
// nst video's starting points and temporal targets (video/frame_init.h, engine/video_flows.h):
// the warped previous result under a known translation (exact values, mean pixel outside), the
// mean pixel being 0 in network space on every preprocessing, the multi-pass blend against its
// formula, flow resizing, and the targets built from supplied flow with the long-term rule.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>

#include "engine/video_flows.h"
#include "io/image.h"
#include "io/preprocess.h"
#include "test_util.h"
#include "video/consistency.h"
#include "video/flo.h"
#include "video/frame_init.h"

using namespace nst;
namespace fs = std::filesystem;

namespace {

Tensor<float> constant_flow(int h, int w, float u, float v) {
    Tensor<float> f(Shape{1, 2, h, w});
    for (std::size_t i = 0; i < f.shape().plane(); ++i) {
        f[i] = u;
        f[f.shape().plane() + i] = v;
    }
    return f;
}

}  // namespace

TEST_CASE("video init: the warped previous result under a whole-pixel translation is exact and 0 outside") {
    const int h = 9, w = 13;
    const Tensor<float> prev = test::random_tensor<float>(Shape{1, 3, h, w}, 11, -100, 100);
    // Backward flow current -> previous (2, -1): the current pixel (x, y) was at (x + 2, y - 1).
    const Tensor<float> flow = constant_flow(h, w, 2, -1);
    const Tensor<float> out = warp_previous_result(prev.cview(), flow.cview());
    int outside = 0;
    for (int c = 0; c < 3; ++c)
        for (int y = 0; y < h; ++y)
            for (int x = 0; x < w; ++x) {
                const bool inside = x + 2 <= w - 1 && y - 1 >= 0;
                const float want = inside ? prev.view().at(0, c, y - 1, x + 2) : 0.0f;
                CHECK(out.view().at(0, c, y, x) == want);
                outside += !inside;
            }
    CHECK(outside == 3 * (w * h - (w - 2) * (h - 1)));
}

TEST_CASE("video init: a half-pixel translation averages the two neighbours") {
    const int h = 5, w = 8;
    const Tensor<float> prev = test::random_tensor<float>(Shape{1, 3, h, w}, 12, -1, 1);
    const Tensor<float> out = warp_previous_result(prev.cview(), constant_flow(h, w, 0.5f, 0).cview());
    for (int c = 0; c < 3; ++c)
        for (int y = 0; y < h; ++y)
            for (int x = 0; x < w; ++x) {
                const double want =
                    x + 1 <= w - 1 ? 0.5 * (double(prev.view().at(0, c, y, x)) + prev.view().at(0, c, y, x + 1)) : 0.0;
                CHECK(std::abs(out.view().at(0, c, y, x) - want) < 1e-6);
            }
}

TEST_CASE("video init: 0 in network space is the mean pixel for every preprocessing") {
    // The reference code fills uncovered pixels with VGG's mean pixel (caffe: BGR 103.939,
    // 116.779, 123.68 on 0..S; torchvision: RGB 0.485, 0.456, 0.406).
    Tensor<float> zero(Shape{1, 3, 1, 1});
    for (auto& v : zero) v = 0;
    Tensor<float> rgb(zero.shape());
    for (float scale : {255.f, 256.f}) {
        Preprocessor caffe{PreprocessKind::Caffe, scale};
        caffe.to_image(rgb.view(), zero.cview());
        CHECK(std::abs(rgb[0] - 123.68 / scale) < 1e-6);
        CHECK(std::abs(rgb[1] - 116.779 / scale) < 1e-6);
        CHECK(std::abs(rgb[2] - 103.939 / scale) < 1e-6);
    }
    Preprocessor torch{PreprocessKind::Torchvision, 255.f};
    torch.to_image(rgb.view(), zero.cview());
    CHECK(std::abs(rgb[0] - 0.485) < 1e-6);
    CHECK(std::abs(rgb[1] - 0.456) < 1e-6);
    CHECK(std::abs(rgb[2] - 0.406) < 1e-6);
}

TEST_CASE("video init: the multi-pass blend follows its formula") {
    const Shape s{1, 3, 4, 6};
    const Tensor<float> own = test::random_tensor<float>(s, 1, -50, 50);
    const Tensor<float> a = test::random_tensor<float>(s, 2, -50, 50), b = test::random_tensor<float>(s, 3, -50, 50);
    const Tensor<float> ca = test::random_tensor<float>(Shape{1, 1, 4, 6}, 4, 0, 1);
    const Tensor<float> cb = test::random_tensor<float>(Shape{1, 1, 4, 6}, 5, 0, 1);

    // No neighbour: the own result. b = 1, c = 1: the mean of own and neighbour (the paper's δ = 0.5).
    const Tensor<float> alone = blend_multipass_init(own.cview(), {});
    for (std::size_t i = 0; i < s.numel(); ++i) CHECK(alone[i] == own[i]);
    Tensor<float> ones(Shape{1, 1, 4, 6});
    for (auto& v : ones) v = 1;
    const Tensor<float> half = blend_multipass_init(own.cview(), {{a.cview(), ones.cview(), 1.0}});
    for (std::size_t i = 0; i < s.numel(); ++i) CHECK(std::abs(half[i] - 0.5 * (double(own[i]) + a[i])) < 1e-5);

    // The general case: (own + b1 c1 a + b2 c2 b) / (1 + b1 c1 + b2 c2), c broadcast over channels.
    const Tensor<float> mix =
        blend_multipass_init(own.cview(), {{a.cview(), ca.cview(), 1.0}, {b.cview(), cb.cview(), 0.25}});
    const std::size_t plane = s.plane();
    double worst = 0;
    for (int c = 0; c < 3; ++c)
        for (std::size_t p = 0; p < plane; ++p) {
            const std::size_t k = c * plane + p;
            const double want = (double(own[k]) + 1.0 * ca[p] * a[k] + 0.25 * cb[p] * b[k]) / (1 + 1.0 * ca[p] + 0.25 * cb[p]);
            worst = std::max(worst, std::abs(mix[k] - want));
        }
    CHECK(worst < 1e-4);  // values up to 50: a few float ulps
}

TEST_CASE("video init: resizing a flow scales its displacements") {
    const Tensor<float> f = constant_flow(40, 60, 3, -2);
    const Tensor<float> half = resize_flow(f.cview(), 20, 30);
    REQUIRE(half.shape() == (Shape{1, 2, 20, 30}));
    for (std::size_t i = 0; i < half.shape().plane(); ++i) {
        CHECK(std::abs(half[i] - 1.5f) < 1e-5);
        CHECK(std::abs(half[half.shape().plane() + i] + 1.0f) < 1e-5);
    }
    const Tensor<float> wide = resize_flow(f.cview(), 40, 90);  // only x stretched
    for (std::size_t i = 0; i < wide.shape().plane(); ++i) {
        CHECK(std::abs(wide[i] - 4.5f) < 1e-5);
        CHECK(std::abs(wide[wide.shape().plane() + i] + 2.0f) < 1e-5);
    }
}

TEST_CASE("video targets: supplied flow gives warped results and long-term weights") {
    const std::string dir = test::temp_dir("video_targets");
    const int h = 12, w = 16;
    std::vector<std::string> frames;
    for (int t = 0; t < 3; ++t) frames.push_back(test::smooth_png(dir, "f" + std::to_string(t + 1) + ".png", h, w, 5 + t));
    // Frame 3 -> 2 moves 1 px left, 3 -> 1 two px left (and the reverse flows are their negatives).
    fs::create_directories(dir + "/flo");
    save_flo(dir + "/flo/backward_3_2.flo", constant_flow(h, w, -1, 0).cview());
    save_flo(dir + "/flo/forward_2_3.flo", constant_flow(h, w, 1, 0).cview());
    save_flo(dir + "/flo/backward_3_1.flo", constant_flow(h, w, -2, 0).cview());
    save_flo(dir + "/flo/forward_1_3.flo", constant_flow(h, w, 2, 0).cview());
    FlowStore store(frames, dir + "/cache", dir + "/flo", FlowMethod::DisMedium);
    WorkingFlows flows(store, h, w);
    const Tensor<float> r2 = test::random_tensor<float>(Shape{1, 3, h, w}, 21, -100, 100);
    const Tensor<float> r1 = test::random_tensor<float>(Shape{1, 3, h, w}, 22, -100, 100);
    const std::vector<TemporalFrame> t = build_temporal_targets(flows, 2, {1, 0}, {r2.cview(), r1.cview()});
    REQUIRE(t.size() == 2);
    // Warped exactly by the translations, 0 where the sample leaves the image.
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            CHECK(t[0].warped.view().at(0, 1, y, x) == (x >= 1 ? r2.view().at(0, 1, y, x - 1) : 0.0f));
            CHECK(t[1].warped.view().at(0, 1, y, x) == (x >= 2 ? r1.view().at(0, 1, y, x - 2) : 0.0f));
        }
    // Weights: the checker's maps, the farther one reduced by the nearer (long-term rule).
    const Tensor<float> c1 = consistency_weights(constant_flow(h, w, -1, 0).cview(), constant_flow(h, w, 1, 0).cview());
    const Tensor<float> c2 = consistency_weights(constant_flow(h, w, -2, 0).cview(), constant_flow(h, w, 2, 0).cview());
    for (std::size_t i = 0; i < c1.numel(); ++i) {
        CHECK(t[0].weight[i] == c1[i]);
        CHECK(t[1].weight[i] == std::max(c2[i] - c1[i], 0.0f));
    }
    // A farther translation in the same direction covers nothing the nearer one does not: the
    // long-term map is (about) empty.
    double far_sum = 0;
    for (std::size_t i = 0; i < c1.numel(); ++i) far_sum += t[1].weight[i];
    CHECK(far_sum < 1e-6 * double(c1.numel()) + 1e-3);
}
