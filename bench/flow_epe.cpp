// SPDX-License-Identifier: MIT
// nst_flow_epe LEFT RIGHT DISPARITY.npy: end-point error of nst's DIS flow (each preset) from a
// rectified stereo pair's left image to its right image against the ground truth (u, v) = (-d, 0)
// (docs/data.md: skimage's Middlebury 2014 motorcycle pair; tools/flow_epe_motorcycle.sh makes
// the .npy, unknown disparities as negative values). Prints one JSON line per preset.
#include <chrono>
#include <cmath>
#include <cstdio>

#include "core/error.h"
#include "io/image.h"
#include "io/npy.h"
#include "video/flow.h"

int main(int argc, char** argv) {
    using namespace nst;
    if (argc != 4) {
        std::fprintf(stderr, "usage: nst_flow_epe LEFT RIGHT DISPARITY.npy\n");
        return 2;
    }
    try {
        const Tensor<float> left = load_image(argv[1]), right = load_image(argv[2]);
        const NpyArray disp = load_npy(argv[3]);
        const int h = left.shape().h, w = left.shape().w;
        if (right.shape() != left.shape() || disp.shape != std::vector<std::int64_t>{h, w})
            throw_input("the two images and the disparity must have one size");
        for (FlowMethod m : {FlowMethod::DisUltrafast, FlowMethod::DisFast, FlowMethod::DisMedium}) {
            const auto t0 = std::chrono::steady_clock::now();
            const Tensor<float> flow = estimate_flow(left.cview(), right.cview(), m);
            const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
            const float* u = flow.data();
            const float* v = u + std::size_t(h) * w;
            double sum = 0;
            long n = 0, over3 = 0;
            for (std::size_t i = 0; i < std::size_t(h) * w; ++i) {
                if (!(disp.data[i] > 0)) continue;  // unknown
                const double e = std::hypot(double(u[i]) + disp.data[i], double(v[i]));
                sum += e;
                over3 += e > 3;
                ++n;
            }
            std::printf("{\"method\": \"%s\", \"epe\": %.4f, \"share_over_3px\": %.4f, \"pixels\": %ld, \"ms\": %.1f}\n",
                        flow_method_name(m), sum / n, double(over3) / n, n, ms);
        }
    } catch (const Error& e) {
        std::fprintf(stderr, "nst_flow_epe: error: %s\n", e.what());
        return int(e.code());
    }
    return 0;
}
