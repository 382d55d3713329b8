// SPDX-License-Identifier: MIT
#include "cli/video_output.h"

#include <filesystem>
#include <fstream>
#include <iterator>

#include "core/error.h"
#include "io/atomic_file.h"
#include "io/image.h"
#include "video/clip.h"

namespace nst::cli {

namespace fs = std::filesystem;

ClipWarpError output_warping_error(FlowStore& store, const std::vector<std::string>& frames, int h, int w) {
    return clip_warping_error(
        store, int(frames.size()),
        [&](int t) {
            Tensor<float> rgb = load_image(frames[std::size_t(t)]);
            return rgb.shape().h == h && rgb.shape().w == w ? std::move(rgb) : resize_image(rgb.cview(), h, w);
        },
        [&](int t) { return frames[std::size_t(t)]; });
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
