// SPDX-License-Identifier: MIT
// estimate_flow through OpenCV's DISOpticalFlow (libopencv-video-dev). This is the only file that
// sees OpenCV: CMake compiles it with NST_HAVE_OPENCV_VIDEO=1 and OpenCV's include folder when the
// module was found, so a build without OpenCV still links and reports what to install.
//
// Determinism: DIS has no random component, and OpenCV 4.6's stripes do not depend on the thread
// count (measured: identical flow with cv::setNumThreads 1, 2 and the default on the 2-core build
// machine), so OpenCV's threading is left as it is; tests check that two calls agree bit for bit.
#include "video/flow.h"

#include <string>

#include "core/error.h"
#include "video/grey8.h"

#if NST_HAVE_OPENCV_VIDEO
#include <opencv2/core.hpp>
#include <opencv2/video/tracking.hpp>
#endif

namespace nst {

#if NST_HAVE_OPENCV_VIDEO

bool have_flow_estimator() { return true; }

namespace {

int dis_preset(FlowMethod m) {
    switch (m) {
    case FlowMethod::DisUltrafast: return cv::DISOpticalFlow::PRESET_ULTRAFAST;
    case FlowMethod::DisFast: return cv::DISOpticalFlow::PRESET_FAST;
    case FlowMethod::DisMedium: return cv::DISOpticalFlow::PRESET_MEDIUM;
    }
    NST_REQUIRE(false, "unknown flow method");
    return 0;
}

}  // namespace

Tensor<float> estimate_flow(ConstView<float> a, ConstView<float> b, FlowMethod method) {
    NST_REQUIRE(a.shape == b.shape && a.shape.n == 1 && a.shape.c == 3,
                "frames must be (1, 3, H, W) of one size, got " + a.shape.str() + " and " + b.shape.str());
    const int h = a.shape.h, w = a.shape.w;
    std::vector<std::uint8_t> ga = grey8(a), gb = grey8(b);
    const cv::Mat ma(h, w, CV_8UC1, ga.data()), mb(h, w, CV_8UC1, gb.data());
    cv::Mat flow;  // CV_32FC2, interleaved (u, v)
    try {
        // A fresh object per call: DIS keeps buffers between calls but no state that changes the
        // result; a new one keeps estimate_flow free of shared mutable state.
        cv::Ptr<cv::DISOpticalFlow> dis = cv::DISOpticalFlow::create(dis_preset(method));
        dis->calc(ma, mb, flow);
    } catch (const cv::Exception& e) {
        throw_runtime("optical flow (" + std::string(flow_method_name(method)) + ") failed on a " +
                      std::to_string(w) + "x" + std::to_string(h) + " frame: " + e.msg);
    }
    NST_REQUIRE(flow.type() == CV_32FC2 && flow.rows == h && flow.cols == w, "DIS returned an unexpected flow");
    Tensor<float> out(Shape{1, 2, h, w});
    float* u = out.data();
    float* v = u + std::size_t(h) * w;
    for (int y = 0; y < h; ++y) {
        const float* row = flow.ptr<float>(y);
        for (int x = 0; x < w; ++x) {
            u[std::size_t(y) * w + x] = row[2 * x];
            v[std::size_t(y) * w + x] = row[2 * x + 1];
        }
    }
    return out;
}

#else

bool have_flow_estimator() { return false; }

Tensor<float> estimate_flow(ConstView<float>, ConstView<float>, FlowMethod method) {
    throw_runtime(std::string("optical flow (") + flow_method_name(method) +
                  ") needs OpenCV's video module, which this build lacks: apt-get install libopencv-video-dev "
                  "and rebuild nst, or pass precomputed flow with --flow-dir");
}

#endif

}  // namespace nst
