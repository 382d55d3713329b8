// SPDX-License-Identifier: MIT
#include "cli/video_output.h"

#include <filesystem>
#include <fstream>
#include <iterator>

#include "core/error.h"
#include "io/atomic_file.h"
#include "io/image.h"
#include "video/clip.h"
#include "video/warp_error.h"

namespace nst::cli {

namespace fs = std::filesystem;

ClipWarpError output_warping_error(const std::vector<std::string>& frames, WorkingFlows& flows) {
    ClipWarpError e;
    Tensor<float> current = load_image(frames.front());
    for (std::size_t t = 0; t + 1 < frames.size(); ++t) {
        Tensor<float> next = load_image(frames[t + 1]);
        const Tensor<float> fwd = flows.flow(int(t), int(t + 1)), bwd = flows.flow(int(t + 1), int(t));
        const WarpError w = warping_error(current.cview(), next.cview(), fwd.cview(), bwd.cview());
        e.lai += w.lai;
        e.ruder += w.ruder;
        ++e.pairs;
        current = std::move(next);
    }
    if (e.pairs) {
        e.lai /= e.pairs;
        e.ruder /= e.pairs;
    }
    return e;
}

void write_video_output(const std::string& output, bool video, const std::vector<std::string>& frames, int fps_num,
                        int fps_den, int crf) {
    if (video) {
        const Tensor<float> first = load_image(frames.front());
        std::unique_ptr<VideoEncoder> enc =
            open_video_encoder(output, first.shape().w, first.shape().h, fps_num, fps_den, crf);
        enc->write(first.cview());
        for (std::size_t i = 1; i < frames.size(); ++i) enc->write(load_image(frames[i]).cview());
        enc->finish();
        return;
    }
    std::error_code ec;
    fs::create_directories(output, ec);
    if (ec) throw_input("--output '" + output + "': cannot create the folder (" + ec.message() + ")");
    for (const std::string& f : frames) {
        std::ifstream in(f, std::ios::binary);
        const std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        if (!in.good() && !in.eof()) throw_input("cannot read '" + f + "'");
        write_file_atomic(output + "/" + fs::path(f).filename().string(), bytes);
    }
}

}  // namespace nst::cli
