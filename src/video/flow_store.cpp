// SPDX-License-Identifier: MIT
// FlowStore: precomputed folder, else cache, else estimate (and fill the cache). Every flow that
// is read rather than estimated is checked against the frames' size, so a cache left by another
// clip or resolution, or a researcher's folder for another size, is an input error instead of a
// silently misaligned warp.
#include <chrono>
#include <filesystem>
#include <system_error>

#include "core/error.h"
#include "io/image.h"
#include "video/flo.h"
#include "video/flow.h"

namespace nst {

namespace fs = std::filesystem;

namespace {

std::string size_str(int w, int h) { return std::to_string(w) + "x" + std::to_string(h); }

// Flow read from `path` must be on the frames' (h, w) grid.
// what: "cached flow" or "flow file"; remedy: what the user should do about a mismatch.
void check_flow_size(const Tensor<float>& flow, int h, int w, const std::string& path, const char* what,
                     const char* remedy) {
    const Shape s = flow.shape();
    if (s.h == h && s.w == w) return;
    throw_input(std::string(what) + " '" + path + "' is " + size_str(s.w, s.h) + " but the frames are " +
                size_str(w, h) + ": " + remedy);
}

}  // namespace

FlowStore::FlowStore(std::vector<std::string> frames, std::string cache_dir, std::string precomputed_dir,
                     FlowMethod method)
    : m_frames(std::move(frames)), m_cache_dir(std::move(cache_dir)),
      m_precomputed_dir(std::move(precomputed_dir)), m_method(method) {
    std::error_code ec;
    if (!m_precomputed_dir.empty() && !fs::is_directory(m_precomputed_dir, ec))
        throw_input("flow folder '" + m_precomputed_dir + "' is not a folder");
    if (m_precomputed_dir.empty() && !m_cache_dir.empty()) {
        fs::create_directories(m_cache_dir, ec);
        if (!fs::is_directory(m_cache_dir, ec))
            throw_input("cannot create the flow cache folder '" + m_cache_dir + "'");
    }
}

Tensor<float> FlowStore::flow(int a, int b) {
    const int n = int(m_frames.size());
    NST_REQUIRE(a >= 0 && a < n && b >= 0 && b < n && a != b,
                "flow between frames " + std::to_string(a) + " and " + std::to_string(b) + " of " +
                    std::to_string(n));
    const std::string name = flow_file_name(a + 1, b + 1);
    // Frame a fixes the grid the flow must be on (decoded here: the store keeps no frames).
    Tensor<float> frame_a = load_image(m_frames[a]);
    const int h = frame_a.shape().h, w = frame_a.shape().w;

    if (!m_precomputed_dir.empty()) {
        const std::string path = (fs::path(m_precomputed_dir) / name).string();
        std::error_code ec;
        if (!fs::exists(path, ec))
            throw_input("flow file '" + path + "' is missing (a flow folder needs forward_i_j.flo and backward_j_i.flo, "
                        "1-based, for every pair of consecutive frames)");
        Tensor<float> flow = load_flo(path);
        check_flow_size(flow, h, w, path, "flow file", "give flow computed on frames of this size");
        return flow;
    }
    const std::string cached = m_cache_dir.empty() ? "" : (fs::path(m_cache_dir) / name).string();
    std::error_code ec;
    if (!cached.empty() && fs::exists(cached, ec)) {
        Tensor<float> flow = load_flo(cached);
        check_flow_size(flow, h, w, cached, "cached flow", "delete the cache folder or use another one");
        return flow;
    }

    const Tensor<float> frame_b = load_image(m_frames[b]);
    if (frame_b.shape() != frame_a.shape())
        throw_input("frame '" + m_frames[b] + "' is " + size_str(frame_b.shape().w, frame_b.shape().h) +
                    " but frame '" + m_frames[a] + "' is " + size_str(w, h) + ": all frames of a clip must have one size");
    const auto t0 = std::chrono::steady_clock::now();
    Tensor<float> flow = estimate_flow(frame_a.cview(), frame_b.cview(), m_method);
    m_estimate_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ++m_estimated;
    if (!cached.empty()) save_flo(cached, flow.cview());
    return flow;
}

double FlowStore::estimate_seconds() const { return m_estimate_seconds; }
int FlowStore::estimated_pairs() const { return m_estimated; }

}  // namespace nst
