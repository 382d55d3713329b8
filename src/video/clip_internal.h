// SPDX-License-Identifier: MIT
// The two halves behind probe_clip (video/clip.h): frame folders (clip_folder.cpp) and video
// files (clip_decode.cpp, FFmpeg). Internal to src/video.
#pragma once
#include <string>

#include "video/clip.h"

namespace nst {

ClipInfo probe_frame_folder(const std::string& dir);
ClipInfo probe_video_file(const std::string& path);

// Natural order of two file names: digit runs compare as numbers (frame_2 < frame_10), the rest
// byte by byte; names equal in that sense (frame_01, frame_1) fall back to plain byte order.
bool natural_less(const std::string& a, const std::string& b);

}  // namespace nst
