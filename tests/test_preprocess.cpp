// SPDX-License-Identifier: MIT
// The image <-> network map of spec §4, checked against values computed by hand.
#include <doctest/doctest.h>

#include <cmath>

#include "io/preprocess.h"
#include "test_util.h"

using namespace nst;

namespace {

// One pixel (1, 3, 1, 1) with the given RGB.
Tensor<float> pixel(float r, float g, float b) {
    Tensor<float> t(Shape{1, 3, 1, 1});
    t[0] = r;
    t[1] = g;
    t[2] = b;
    return t;
}

}  // namespace

TEST_CASE("preprocess: caffe maps RGB to mean-subtracted BGR") {
    Preprocessor p;
    p.kind = PreprocessKind::Caffe;
    p.caffe_scale = 255.f;
    const Tensor<float> rgb = pixel(1.f, 0.5f, 0.f);
    Tensor<float> x(rgb.shape());
    p.to_network(x, rgb);
    CHECK(x[0] == doctest::Approx(0.0 * 255 - 103.939).epsilon(1e-7));  // B
    CHECK(x[1] == doctest::Approx(127.5 - 116.779).epsilon(1e-6));      // G
    CHECK(x[2] == doctest::Approx(255.0 - 123.68).epsilon(1e-7));       // R
    // The jcjohnson preset's scale of 256.
    p.caffe_scale = 256.f;
    p.to_network(x, rgb);
    CHECK(x[0] == doctest::Approx(-103.939).epsilon(1e-7));
    CHECK(x[1] == doctest::Approx(128.0 - 116.779).epsilon(1e-6));
    CHECK(x[2] == doctest::Approx(256.0 - 123.68).epsilon(1e-7));
}

TEST_CASE("preprocess: torchvision normalises RGB in place order") {
    Preprocessor p;
    p.kind = PreprocessKind::Torchvision;
    const Tensor<float> rgb = pixel(1.f, 0.5f, 0.f);
    Tensor<float> x(rgb.shape());
    p.to_network(x, rgb);
    CHECK(x[0] == doctest::Approx((1.0 - 0.485) / 0.229).epsilon(1e-7));
    CHECK(x[1] == doctest::Approx((0.5 - 0.456) / 0.224).epsilon(1e-6));
    CHECK(x[2] == doctest::Approx((0.0 - 0.406) / 0.225).epsilon(1e-7));
}

TEST_CASE("preprocess: to_image inverts to_network / also in place") {
    const Tensor<float> rgb = test::random_tensor<float>(Shape{1, 3, 5, 7}, 11, 0, 1);
    for (auto kind : {PreprocessKind::Caffe, PreprocessKind::Torchvision}) {
        for (float scale : {255.f, 256.f}) {
            Preprocessor p;
            p.kind = kind;
            p.caffe_scale = scale;
            Tensor<float> x(rgb.shape());
            p.to_network(x, rgb);

            // In place: the same buffer as input and output gives the same result, including
            // the caffe R/B swap.
            Tensor<float> inplace = rgb.clone();
            p.to_network(inplace, inplace);
            for (std::size_t i = 0; i < x.numel(); ++i) REQUIRE(inplace[i] == x[i]);

            Tensor<float> back(rgb.shape());
            p.to_image(back, x);
            p.to_image(inplace, inplace);
            double worst = 0;
            for (std::size_t i = 0; i < rgb.numel(); ++i) {
                worst = std::max(worst, std::abs(double(back[i]) - double(rgb[i])));
                REQUIRE(inplace[i] == back[i]);
            }
            // One float rounding of values up to ~150 (caffe), divided by S.
            CHECK(worst < 1e-6);
        }
    }
}

TEST_CASE("preprocess: caffe channel order on a larger image") {
    // Plane c of x must come from plane 2 - c of the image, at every pixel.
    const Tensor<float> rgb = test::random_tensor<float>(Shape{1, 3, 4, 6}, 12, 0, 1);
    Preprocessor p;
    Tensor<float> x(rgb.shape());
    p.to_network(x, rgb);
    const double mean[3] = {103.939, 116.779, 123.68};
    for (int c = 0; c < 3; ++c)
        for (int y = 0; y < 4; ++y)
            for (int w = 0; w < 6; ++w)
                CHECK(x.view().at(0, c, y, w) ==
                      doctest::Approx(255.0 * rgb.view().at(0, 2 - c, y, w) - mean[c]).epsilon(1e-6));
}

TEST_CASE("preprocess: shape mismatches are caller errors") {
    Preprocessor p;
    Tensor<float> a(Shape{1, 3, 2, 2}), b(Shape{1, 3, 2, 3}), c(Shape{1, 1, 2, 2});
    CHECK_THROWS_AS(p.to_network(b, a), Error);
    CHECK_THROWS_AS(p.to_network(c, c), Error);
    CHECK_THROWS_AS(p.to_image(b, a), Error);
}
