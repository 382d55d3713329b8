// SPDX-License-Identifier: MIT
// The preprocessing kernels (kernels/preprocess.h) against nst::Preprocessor (io/preprocess.h):
// RGB -> network space and back, caffe (scales 255 and 256) and torchvision, two images of an
// odd size in one launch, in place and out of place, and to_image's optional clamp to [0, 1]
// (NaN -> 0) against the CPU result clamped the same way.
//
// Both compute each value in double and round once to float; the only freedom is whether the
// double multiply-add is fused, which moves the double result by an ulp and the float result
// almost never. Tolerance: every element within one float ulp of the CPU's (the number of
// elements that are not bit-identical is printed).
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>

#include "core/rng.h"
#include "cuda_test_util.h"
#include "io/preprocess.h"
#include "kernels/preprocess.h"

using namespace nst;
using namespace nst::test::gpu;

namespace {

const Shape kShape{2, 3, 37, 29};

// Elements of a and b differ by more than one float ulp: returns the count; `differ` counts
// those not bit-identical.
std::size_t beyond_one_ulp(const Tensor<float>& a, const Tensor<float>& b, std::size_t& differ) {
    std::size_t bad = 0;
    differ = 0;
    for (std::size_t i = 0; i < a.numel(); ++i) {
        const float x = a[i], y = b[i];
        if (std::isnan(x) && std::isnan(y)) continue;
        if (x == y) continue;
        ++differ;
        if (!(std::nextafter(y, -INFINITY) <= x && x <= std::nextafter(y, INFINITY))) ++bad;
    }
    return bad;
}

void check_close(const Tensor<float>& got, const Tensor<float>& ref, const std::string& what) {
    std::size_t differ = 0;
    const std::size_t bad = beyond_one_ulp(got, ref, differ);
    INFO(what << ": " << differ << " of " << ref.numel() << " elements not bit-identical");
    CHECK(bad == 0);
    if (differ > 0) MESSAGE(what << ": " << differ << " elements differ by one ulp");
}

std::string describe(const Preprocessor& p) {
    return p.kind == PreprocessKind::Caffe ? "caffe scale " + std::to_string(int(p.caffe_scale)) : "torchvision";
}

}  // namespace

TEST_CASE("cuda preprocess: to_network and to_image match the Preprocessor") {
    cudaStream_t stream = context().stream();
    Tensor<float> rgb(kShape);
    for (std::size_t i = 0; i < rgb.numel(); ++i) rgb[i] = float(rng::uniform(5, 1, i));
    rgb[0] = 0.0f;
    rgb[1] = 1.0f;
    const std::size_t plane = kShape.plane();

    for (const Preprocessor& pre : {Preprocessor{PreprocessKind::Caffe, 255.f}, Preprocessor{PreprocessKind::Caffe, 256.f},
                                    Preprocessor{PreprocessKind::Torchvision, 255.f}}) {
        const std::string what = describe(pre);
        // RGB -> network, out of place and in place.
        Tensor<float> x_ref(kShape);
        pre.to_network(x_ref.view(), rgb.cview());
        const Tensor<float> rgb_d = upload(rgb.cview());
        Tensor<float> x_d(kShape, Device::Cuda);
        kernels::to_network(x_d.data(), rgb_d.data(), kShape.n, plane, pre, stream);
        check_close(download(x_d.cview()), x_ref, what + " to_network");
        Tensor<float> inplace = upload(rgb.cview());
        kernels::to_network(inplace.data(), inplace.data(), kShape.n, plane, pre, stream);
        check_close(download(inplace.cview()), x_ref, what + " to_network in place");

        // Network -> RGB from values beyond the image range too (and a NaN), without and with
        // the clamp.
        Tensor<float> x = x_ref.clone();
        const float spread = pre.kind == PreprocessKind::Caffe ? 400.f : 4.f;
        for (std::size_t i = 0; i < x.numel(); i += 7) x[i] = float(spread * (rng::uniform(5, 2, i) - 0.5));
        x[3] = std::numeric_limits<float>::quiet_NaN();
        Tensor<float> back_ref(kShape);
        pre.to_image(back_ref.view(), x.cview());
        const Tensor<float> x_up = upload(x.cview());
        Tensor<float> back_d(kShape, Device::Cuda);
        kernels::to_image(back_d.data(), x_up.data(), kShape.n, plane, pre, false, stream);
        check_close(download(back_d.cview()), back_ref, what + " to_image");

        Tensor<float> clamped_ref = back_ref.clone();
        for (float& v : clamped_ref) v = !(v > 0.f) ? 0.f : (v >= 1.f ? 1.f : v);
        Tensor<float> clamp_in_place = upload(x.cview());
        kernels::to_image(clamp_in_place.data(), clamp_in_place.data(), kShape.n, plane, pre, true, stream);
        check_close(download(clamp_in_place.cview()), clamped_ref, what + " to_image clamped in place");

        // The round trip returns the image to within float rounding.
        Tensor<float> round_trip(kShape, Device::Cuda);
        kernels::to_image(round_trip.data(), x_d.data(), kShape.n, plane, pre, false, stream);
        const Tensor<float> rt = download(round_trip.cview());
        double worst = 0;
        for (std::size_t i = 0; i < rt.numel(); ++i) worst = std::max(worst, double(std::fabs(rt[i] - rgb[i])));
        CHECK(worst <= 1e-6);
    }
}
