// SPDX-License-Identifier: MIT
// Weights and models kept loaded between the commands of one process (in_process.h): `nst batch`
// and the Python module read a VGG file or a model once, however many jobs use it.
//
// An entry is keyed by its source: a file by its absolute path, size and modification time (a
// file rewritten in between is read again), random[:SEED] weights by their spec. Every lookup
// returns a copy, so a job that changes its weights cannot change what the next job sees.
#pragma once
#include <cstddef>
#include <map>
#include <mutex>
#include <string>

#include "nn/net_model.h"
#include "nn/weights.h"

namespace nst::cli {

class WeightCache {
public:
    // load_weights(spec) (nn/weights.h), once per source. Errors are load_weights' and are not cached.
    VggWeights vgg(const std::string& spec);
    // load_model(path) (nn/net_model.h), once per source.
    NetModel model(const std::string& path);

    // How many times a file was actually read (or random weights made) so far: tests observe
    // with it that a second job reuses what the first loaded.
    std::size_t loads() const;
    void clear();

private:
    mutable std::mutex m_mutex;
    std::map<std::string, VggWeights> m_vgg;
    std::map<std::string, NetModel> m_models;
    std::size_t m_loads = 0;
};

// What the commands call instead of load_weights / load_model: through the active hooks' cache
// (in_process.h) when there is one, straight from the source otherwise.
VggWeights load_weights_cached(const std::string& spec);
NetModel load_model_cached(const std::string& path);

}  // namespace nst::cli
