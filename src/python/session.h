// SPDX-License-Identifier: MIT
// nst._nst.Session: the commands of the CLI run in this process (cli/in_process.h) with the
// weights and models kept loaded between calls. The argument lists are built by nst/_session.py
// from keyword options; this side runs them with the GIL released, registers the caller's
// arrays for the image loaders, calls the Python callback per iteration and hands results back.
#pragma once
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nanobind/nanobind.h>

#include "python/arrays.h"

namespace nst::cli {
class WeightCache;
}

namespace nst::py {

class Session {
public:
    Session();
    ~Session();

    // `nst run ARGS`: the final image as (H, W, 3) float32 RGB in [0, 1]. callback(iteration,
    // terms, seconds) after every iteration (iteration counts across --scales stages, from 1);
    // returning False stops the run there. An exception in the callback stops it and is re-raised.
    NumpyFloat run(const std::vector<std::string>& args, const nb::dict& arrays, nb::object callback);

    // `nst eval ARGS`: ({"content": {layer: v}, "style": {layer: v}, "tv": v, "total": v},
    // d total / d x as (1, 3, H, W) float32 in network space).
    nb::tuple evaluate(const std::vector<std::string>& args, const nb::dict& arrays);

    // `nst features ARGS`: {layer: activation (1, C, H, W)} and, with --gram, {layer: (C, C)}.
    nb::tuple features(const std::vector<std::string>& args, const nb::dict& arrays);

    // `nst stylize ARGS` (one image): (H, W, 3) float32.
    NumpyFloat stylize(const std::vector<std::string>& args, const nb::dict& arrays);

    // Any other command (video, ...): runs it for its files.
    void command(const std::vector<std::string>& args, const nb::dict& arrays);

private:
    std::unique_ptr<cli::WeightCache> m_cache;
    std::mutex m_mutex;  // one command at a time per session (the cache is not shared across threads)
};

void register_session(nb::module_& m);

}  // namespace nst::py
