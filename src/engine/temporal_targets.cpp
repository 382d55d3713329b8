// SPDX-License-Identifier: MIT
// ProblemSpec::temporal as the objectives see it (engine.h): the checks both engines share and
// the views and preprocessing constants the objectives' set_temporal takes.
#include <string>

#include "core/error.h"
#include "engine/engine.h"
#include "engine/presets.h"

namespace nst {

void check_temporal(const ProblemSpec& spec) {
    if (spec.temporal.empty()) return;
    if (spec.temporal.size() > std::size_t(kMaxTemporalFrames))
        throw_usage("temporal loss: " + std::to_string(spec.temporal.size()) + " previous frames given, at most " +
                    std::to_string(kMaxTemporalFrames) + " are supported");
    const Shape cs = spec.content.shape();
    const Shape xs{1, 3, cs.h, cs.w}, ws{1, 1, cs.h, cs.w};
    for (std::size_t j = 0; j < spec.temporal.size(); ++j) {
        const TemporalFrame& f = spec.temporal[j];
        const std::string which = "temporal loss: previous frame " + std::to_string(j + 1);
        if (f.warped.shape() != xs)
            throw_usage(which + " is " + f.warped.shape().str() + ", the frame is " + xs.str());
        if (f.weight.shape() != ws)
            throw_usage(which + ": weight map " + f.weight.shape().str() + ", the frame needs " + ws.str());
    }
}

std::vector<TemporalTarget<float>> temporal_targets(const ProblemSpec& spec) {
    std::vector<TemporalTarget<float>> out;
    for (const TemporalFrame& f : spec.temporal) out.push_back({f.warped.cview(), f.weight.cview()});
    return out;
}

double temporal_caffe_scale(const ProblemSpec& spec) {
    return spec.caffe_scale > 0 ? spec.caffe_scale : preset_defaults(spec.loss.preset).caffe_scale;
}

}  // namespace nst
