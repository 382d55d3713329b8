// SPDX-License-Identifier: MIT
// Clips: a video file (decoded and encoded through FFmpeg's libavformat/libavcodec/libswscale,
// Debian's libav*-dev packages) or a folder of frame images. In memory a frame is RGB float in
// [0, 1], (1, 3, H, W), like every image (io/image.h). `nst video` decodes a video file once into
// its work folder and works on frame folders from then on, so everything downstream (flow,
// stylisation, resuming) sees numbered PNG files.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace nst {

struct ClipInfo {
    int frames = 0;              // frame count (a video's decoded count, not the container's guess)
    int width = 0, height = 0;
    int fps_num = 0, fps_den = 1;  // frame rate as a fraction; 0/1 for a folder (no rate)
};

// True when `path` names a video file by its extension (.mp4 .mkv .avi .mov .webm .m4v, any
// case), false for anything else (a folder of frames, or a path still to be created as one).
bool is_video_path(const std::string& path);

// The image files of a frame folder (.png .jpg .jpeg .bmp .tga .ppm), in natural order
// (frame_2 before frame_10). Input error (exit 3) for a missing folder or one with no frames.
std::vector<std::string> list_frames(const std::string& dir);

// Frame count and size without decoding the pictures (a folder: its files' headers; all frames
// must have the first one's size, else an input error naming the first that differs).
// Input error (exit 3) for an unreadable/corrupt video, one without a video stream, or a build
// without FFmpeg (naming the Debian packages to install).
ClipInfo probe_clip(const std::string& path);

// Decodes every frame of a video file in order, calling sink(index, frame) with index 0, 1, ...;
// returns the clip's info (frames = the number decoded). Frames of differing sizes, a corrupt
// stream or a missing file: input error (exit 3), naming the frame.
ClipInfo decode_video(const std::string& path, const std::function<void(int, Tensor<float>&&)>& sink);

// Encodes frames to a video file. The codec follows the extension: .mp4/.mov/.m4v H.264 (libx264,
// yuv420p, CRF `crf`), .mkv/.avi/.webm as documented in video/clip_encode.cpp (.mkv lossless FFV1, so
// that tests can compare exactly). Written atomically: frames go to a temporary file beside
// `path`, finish() renames it; destroying an unfinished encoder removes the temporary, so an
// interrupted encode never leaves a partial or clobbered output.
class VideoEncoder {
public:
    virtual ~VideoEncoder() = default;
    virtual void write(ConstView<float> rgb) = 0;  // (1, 3, height, width), clamped to [0, 1]
    virtual void finish() = 0;
};
std::unique_ptr<VideoEncoder> open_video_encoder(const std::string& path, int width, int height, int fps_num,
                                                 int fps_den, int crf = 18);

// Whether this build can read and write video files (FFmpeg found at configure time).
bool have_video_codecs();

}  // namespace nst
