// SPDX-License-Identifier: MIT
#include "cli/video_feedforward.h"

#include <chrono>
#include <csignal>
#include <filesystem>

#include "core/error.h"
#include "core/interrupt.h"
#include "io/image.h"

namespace nst::cli {

namespace fs = std::filesystem;

bool stylize_video(const VideoOptions& o, const VideoPlan& plan, const VideoWork& work, VideoTimings& timings) {
    const int n = int(plan.frames.size());
    const std::string dir = work.results_dir(1, 1);
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) throw_input("--work-dir: cannot create '" + dir + "' (" + ec.message() + ")");
    FrameClock clock(0, n, 1.0, o.quiet);
    bool complete = true;
    with_model_stylizer(o.model, true, [&](const ImageFn& stylize) {
        int ran = 0;
        for (int i = 0; i < n; ++i) {
            const std::string path = dir + "/" + frame_stem(i) + ".png";
            if (fs::exists(path, ec)) {
                clock.skipped(false);
                continue;
            }
            if (o.stop_after_frames > 0 && ran == o.stop_after_frames) {
                complete = false;
                return;
            }
            if (const int sig = interrupt_signal())
                throw_runtime(std::string("interrupted by ") + (sig == SIGINT ? "SIGINT" : "SIGTERM") + " before frame " +
                              std::to_string(i + 1) + "/" + std::to_string(n) +
                              "; finished frames are kept in the work folder: rerun the same command to resume");
            const auto t0 = std::chrono::steady_clock::now();
            Tensor<float> rgb = load_image(plan.frames[std::size_t(i)]);
            if (rgb.shape().h != plan.height || rgb.shape().w != plan.width)
                rgb = resize_image(rgb.cview(), plan.height, plan.width);
            const Tensor<float> out = stylize(rgb.cview(), plan.frames[std::size_t(i)]);
            if (out.shape().h != plan.height || out.shape().w != plan.width)
                throw_runtime("the model turned a " + std::to_string(plan.width) + "x" + std::to_string(plan.height) +
                              " frame into " + std::to_string(out.shape().w) + "x" + std::to_string(out.shape().h));
            save_image(path, out.cview());
            clock.finished({i, n, 1, 1}, false, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
            ++ran;
        }
    });
    timings = clock.timings();
    return complete;
}

}  // namespace nst::cli
