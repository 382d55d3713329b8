// SPDX-License-Identifier: MIT
// Frame folders: listing in natural order, probing sizes from the image headers (stb's info,
// no pixels decoded), and probe_clip's dispatch between folders and video files.
#include <stb_image.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <system_error>

#include "core/error.h"
#include "io/image.h"
#include "io/path.h"
#include "video/clip_internal.h"

namespace nst {

namespace {

constexpr std::array<const char*, 6> kVideoExtensions = {".mp4", ".mkv", ".avi", ".mov", ".webm", ".m4v"};
constexpr std::array<const char*, 6> kFrameExtensions = {".png", ".jpg", ".jpeg", ".bmp", ".tga", ".ppm"};

template <std::size_t N>
bool one_of(const std::string& ext, const std::array<const char*, N>& list) {
    return std::any_of(list.begin(), list.end(), [&](const char* e) { return ext == e; });
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

std::string folder_prefix(const std::string& dir) { return "cannot read frame folder '" + dir + "': "; }

}  // namespace

bool natural_less(const std::string& a, const std::string& b) {
    std::size_t i = 0, j = 0;
    while (i < a.size() && j < b.size()) {
        if (is_digit(a[i]) && is_digit(b[j])) {
            // Compare the numbers without converting (runs may exceed any integer type):
            // skip leading zeros, then the longer run is larger, then digit by digit.
            std::size_t ie = i, je = j;
            while (ie < a.size() && is_digit(a[ie])) ++ie;
            while (je < b.size() && is_digit(b[je])) ++je;
            std::size_t is = i, js = j;
            while (is + 1 < ie && a[is] == '0') ++is;
            while (js + 1 < je && b[js] == '0') ++js;
            if (ie - is != je - js) return ie - is < je - js;
            const int c = a.compare(is, ie - is, b, js, je - js);
            if (c != 0) return c < 0;
            i = ie;
            j = je;
            continue;
        }
        if (a[i] != b[j]) return (unsigned char)a[i] < (unsigned char)b[j];
        ++i;
        ++j;
    }
    if (i < a.size() || j < b.size()) return a.size() - i < b.size() - j;  // a proper prefix comes first
    return a < b;
}

bool is_video_path(const std::string& path) { return one_of(lower_extension(path), kVideoExtensions); }

std::vector<std::string> list_frames(const std::string& dir) {
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::file_status st = fs::status(dir, ec);
    if (ec || !fs::exists(st)) throw_input(folder_prefix(dir) + "no such folder");
    if (!fs::is_directory(st)) throw_input(folder_prefix(dir) + "not a folder");

    std::vector<std::string> names;
    fs::directory_iterator it(dir, ec);
    if (ec) throw_input(folder_prefix(dir) + ec.message());
    for (; it != fs::directory_iterator(); it.increment(ec)) {
        if (ec) throw_input(folder_prefix(dir) + ec.message());
        const std::string name = it->path().filename().string();
        // Hidden files are not frames: atomic writers leave their temporaries as ".name.XXXXXX.tmp".
        if (name.empty() || name[0] == '.') continue;
        std::error_code fe;
        if (!it->is_regular_file(fe) || !one_of(lower_extension(name), kFrameExtensions)) continue;
        names.push_back(name);
    }
    if (names.empty()) throw_input(folder_prefix(dir) + "no frame images (.png .jpg .jpeg .bmp .tga .ppm) in it");
    std::sort(names.begin(), names.end(), natural_less);

    const std::string base = (!dir.empty() && dir.back() == '/') ? dir : dir + "/";
    std::vector<std::string> paths;
    paths.reserve(names.size());
    for (const auto& n : names) paths.push_back(base + n);
    return paths;
}

ClipInfo probe_frame_folder(const std::string& dir) {
    const std::vector<std::string> frames = list_frames(dir);
    ClipInfo info;
    info.frames = int(frames.size());
    for (std::size_t k = 0; k < frames.size(); ++k) {
        int w = 0, h = 0, comp = 0;
        if (!stbi_info(frames[k].c_str(), &w, &h, &comp) || w <= 0 || h <= 0)
            throw_input("cannot read frame '" + frames[k] + "': not an image nst reads");
        if ((long long)w * h > kMaxImagePixels)
            throw_input("cannot read frame '" + frames[k] + "': " + std::to_string(w) + "x" + std::to_string(h) +
                        " exceeds the size limit");
        if (k == 0) {
            info.width = w;
            info.height = h;
        }
        else if (w != info.width || h != info.height) {
            throw_input("frame '" + frames[k] + "' is " + std::to_string(w) + "x" + std::to_string(h) +
                        ", but the first frame '" + frames[0] + "' is " + std::to_string(info.width) + "x" +
                        std::to_string(info.height) + " (all frames of a clip must have one size)");
        }
    }
    return info;
}

ClipInfo probe_clip(const std::string& path) {
    return is_video_path(path) ? probe_video_file(path) : probe_frame_folder(path);
}

}  // namespace nst
