// SPDX-License-Identifier: MIT
// The samplers of the decoder-training methods (io/dataset.h): a resize before the crop
// (squash: both sides, pytorch-AdaIN's Resize((512, 512)); short: the smaller side, the
// official code's), checked against crops cut here from images resized here, and a second
// sampler on its own rng streams (the style images of `nst train --method adain`) drawing an
// order and crops independent of the content sampler's.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>

#include "core/rng.h"
#include "io/dataset.h"
#include "io/image.h"
#include "test_util.h"

using namespace nst;

namespace {

// The crop of sample g (batch position k of x) against the image resized to (h, w) here.
double crop_error(const BatchSampler& /*unused*/, const Tensor<float>& x, int k, const Tensor<float>& resized,
                  int s, std::uint64_t seed, std::uint64_t stream, std::uint64_t g) {
    const int h = resized.shape().h, w = resized.shape().w;
    const int y0 = int(rng::uniform(seed, stream, 2 * g) * (h - s + 1));
    const int x0 = int(rng::uniform(seed, stream, 2 * g + 1) * (w - s + 1));
    double worst = 0;
    for (int c = 0; c < 3; ++c)
        for (int y = 0; y < s; ++y)
            for (int xx = 0; xx < s; ++xx)
                worst = std::max(worst, double(std::abs(x.view().at(k, c, y, xx) -
                                                        255.f * resized.view().at(0, c, y0 + y, x0 + xx))));
    return worst;
}

}  // namespace

TEST_CASE("dataset resize: squash and short resizes before a random crop") {
    const std::string dir = test::temp_dir("dataset_resize");
    test::smooth_png(dir, "a.png", 30, 50, 1);
    test::smooth_png(dir, "b.png", 44, 26, 2);
    const ImageDataset d(dir);
    for (ResizeMode mode : {ResizeMode::Squash, ResizeMode::Short}) {
        CAPTURE(int(mode));
        SampleOptions o;
        o.image_size = 16;
        o.resize = 24;
        o.resize_mode = mode;
        o.seed = 9;
        BatchSampler sampler(d, o);
        Tensor<float> x(Shape{4, 3, 16, 16});
        sampler.load_batch(0, x.view());
        for (int k = 0; k < 4; ++k) {
            const std::uint64_t g = std::uint64_t(k);
            const Tensor<float> img = load_image(d.file(sampler.file_of(g)));
            int h = 24, w = 24;
            if (mode == ResizeMode::Short) target_size(img.shape().h, img.shape().w, 24, SizeRule::Short, h, w);
            const Tensor<float> r = resize_image(img.cview(), h, w);
            CHECK(crop_error(sampler, x, k, r, 16, 9, rng::kStreamDatasetCrop, g) == 0);
        }
    }
    SampleOptions bad;
    bad.image_size = 32;
    bad.resize = 24;
    CHECK_THROWS_AS(BatchSampler(d, bad), Error);
}

TEST_CASE("dataset resize: a sampler on the style streams draws its own order and crops") {
    const std::string dir = test::temp_dir("dataset_style_streams");
    for (int i = 0; i < 6; ++i) test::smooth_png(dir, "i" + std::to_string(i) + ".png", 28 + i, 40 - i, i + 1);
    const ImageDataset d(dir, "--style-dataset");
    CHECK(d.option() == "--style-dataset");
    SampleOptions content;
    content.image_size = 16;
    content.resize = 24;
    content.resize_mode = ResizeMode::Squash;
    content.seed = 3;
    SampleOptions style = content;
    style.order_stream = rng::kStreamStyleOrder;
    style.crop_stream = rng::kStreamStyleCrop;
    BatchSampler a(d, content), b(d, style);
    std::vector<std::size_t> oa, ob;
    for (std::uint64_t g = 0; g < 6; ++g) {
        oa.push_back(a.file_of(g));
        ob.push_back(b.file_of(g));
    }
    CHECK(oa != ob);
    std::vector<std::size_t> sorted = ob;
    std::sort(sorted.begin(), sorted.end());
    for (std::size_t i = 0; i < 6; ++i) CHECK(sorted[i] == i);  // a permutation of the files
    // The style crops come from the style crop stream.
    Tensor<float> x(Shape{2, 3, 16, 16});
    b.load_batch(4, x.view());
    for (int k = 0; k < 2; ++k) {
        const std::uint64_t g = 4 + std::uint64_t(k);
        const Tensor<float> r = resize_image(load_image(d.file(b.file_of(g))).cview(), 24, 24);
        CHECK(crop_error(b, x, k, r, 16, 3, rng::kStreamStyleCrop, g) == 0);
    }
    // Errors name the option the folder came from.
    CHECK_THROWS_WITH_AS(ImageDataset(dir + "/none", "--style-dataset"), doctest::Contains("--style-dataset"), Error);
}
