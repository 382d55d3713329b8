// SPDX-License-Identifier: MIT
#include "cli/weight_cache.h"

#include <filesystem>

#include "cli/in_process.h"

namespace nst::cli {

namespace {

namespace fs = std::filesystem;

// The key of a source: "file:<absolute path>:<size>:<mtime>" for a regular file, "spec:<spec>"
// for anything else (random[:SEED]); "" when a file cannot be stat'ed, which is then loaded
// uncached so that the loader reports the error as the CLI does.
std::string source_key(const std::string& spec) {
    std::error_code ec;
    const fs::path path(spec);
    if (fs::is_regular_file(path, ec)) {
        const auto size = fs::file_size(path, ec);
        if (ec) return "";
        const auto mtime = fs::last_write_time(path, ec);
        if (ec) return "";
        const fs::path absolute = fs::absolute(path, ec).lexically_normal();
        if (ec) return "";
        return "file:" + absolute.string() + ":" + std::to_string(size) + ":" +
               std::to_string(mtime.time_since_epoch().count());
    }
    if (fs::exists(path, ec)) return "";  // a folder or a device: the loader's error
    return "spec:" + spec;
}

VggWeights copy_of(const VggWeights& w) {
    VggWeights out;
    out.arch = w.arch;
    out.conv.clear();
    for (const ConvParams& c : w.conv) out.conv.push_back({c.weight.clone(), c.bias.clone()});
    out.preprocess = w.preprocess;
    out.normalized = w.normalized;
    out.random = w.random;
    out.seed = w.seed;
    out.source = w.source;
    out.path = w.path;
    return out;
}

}  // namespace

VggWeights WeightCache::vgg(const std::string& spec) {
    const std::string key = source_key(spec);
    if (key.empty()) return load_weights(spec);
    std::lock_guard<std::mutex> lock(m_mutex);
    auto it = m_vgg.find(key);
    if (it == m_vgg.end()) {
        it = m_vgg.emplace(key, load_weights(spec)).first;
        ++m_loads;
    }
    return copy_of(it->second);
}

NetModel WeightCache::model(const std::string& path) {
    const std::string key = source_key(path);
    if (key.empty() || key.rfind("file:", 0) != 0) return load_model(path);  // only files are models
    std::lock_guard<std::mutex> lock(m_mutex);
    auto it = m_models.find(key);
    if (it == m_models.end()) {
        it = m_models.emplace(key, load_model(path)).first;
        ++m_loads;
    }
    return it->second;
}

std::size_t WeightCache::loads() const {
    std::lock_guard<std::mutex> lock(m_mutex);
    return m_loads;
}

void WeightCache::clear() {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_vgg.clear();
    m_models.clear();
}

VggWeights load_weights_cached(const std::string& spec) {
    RunHooks* hooks = active_run_hooks();
    return hooks && hooks->cache ? hooks->cache->vgg(spec) : load_weights(spec);
}

NetModel load_model_cached(const std::string& path) {
    RunHooks* hooks = active_run_hooks();
    return hooks && hooks->cache ? hooks->cache->model(path) : load_model(path);
}

}  // namespace nst::cli
