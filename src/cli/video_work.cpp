// SPDX-License-Identifier: MIT
#include "cli/video_work.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "io/atomic_file.h"
#include "io/image.h"

namespace nst::cli {

namespace fs = std::filesystem;

std::string frame_stem(int frame) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "frame_%05d", frame + 1);
    return buf;
}

std::string default_work_dir(const std::string& output, bool video_output) {
    return video_output ? output + ".nst-work" : output + "/.nst-work";
}

std::string VideoWork::results_dir(int pass, int passes) const {
    if (passes <= 1) return m_root + "/results";
    char buf[32];
    std::snprintf(buf, sizeof buf, "/pass_%02d", pass);
    return m_root + "/results" + buf;
}

void VideoWork::prepare(bool restart) const {
    std::error_code ec;
    if (restart)
        for (const char* entry : {"frames", "flow", "results", "settings.txt", "summary.json"})
            fs::remove_all(fs::path(m_root) / entry, ec);
    fs::create_directories(m_root, ec);
    if (ec || !fs::is_directory(m_root))
        throw_input("--work-dir '" + m_root + "': cannot create the folder" + (ec ? " (" + ec.message() + ")" : ""));
}

namespace {

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
}

std::string read_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

}  // namespace

void VideoWork::check_settings(const std::string& settings) const {
    std::error_code ec;
    if (!fs::exists(settings_path(), ec)) {
        write_file_atomic(settings_path(), settings.data(), settings.size());
        return;
    }
    const std::string old = read_text(settings_path());
    if (old == settings) return;
    if (fs::is_empty(m_root + "/results", ec) || !fs::exists(m_root + "/results", ec)) {
        prepare(true);
        write_file_atomic(settings_path(), settings.data(), settings.size());
        return;
    }
    const std::vector<std::string> a = lines_of(old), b = lines_of(settings);
    std::string diff = "the number of settings";
    for (std::size_t i = 0; i < std::max(a.size(), b.size()); ++i) {
        const std::string& x = i < a.size() ? a[i] : std::string();
        const std::string& y = i < b.size() ? b[i] : std::string();
        if (x != y) {
            diff = "'" + x + "' then, '" + y + "' now";
            break;
        }
    }
    throw_usage("the work folder '" + m_root + "' holds a run with other settings (" + diff +
                "); rerun with those settings to resume, or add --restart to discard it (or give another --work-dir)");
}

std::vector<std::string> VideoWork::input_frames(const std::string& clip) const {
    if (!is_video_path(clip)) return list_frames(clip);
    const std::string dir = frames_dir();
    const std::string marker = dir + "/complete";
    std::error_code ec;
    if (!fs::exists(marker, ec)) {
        // Decoded again from the start after an interruption: the frames already written are
        // identical, and decoding is cheap next to stylising.
        fs::create_directories(dir, ec);
        if (ec) throw_input("--work-dir: cannot create '" + dir + "' (" + ec.message() + ")");
        const ClipInfo info = decode_video(clip, [&](int i, Tensor<float>&& rgb) {
            save_image(dir + "/" + frame_stem(i) + ".png", rgb.cview());
        });
        const std::string count = std::to_string(info.frames) + "\n";
        write_file_atomic(marker, count.data(), count.size());
    }
    return list_frames(dir);
}

}  // namespace nst::cli
