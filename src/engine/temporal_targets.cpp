// SPDX-License-Identifier: MIT
// ProblemSpec::temporal as the objectives see it (engine.h): the checks both engines share, the
// views and preprocessing constants the objectives' set_temporal takes, and a video frame's
// update of the problem (Engine::next_frame).
#include <string>

#include "core/error.h"
#include "engine/engine.h"
#include "engine/presets.h"

namespace nst {

namespace {

void check_temporal_frames(const std::vector<TemporalFrame>& temporal, const Shape& cs, bool image_space) {
    if (temporal.empty()) return;
    if (image_space)
        throw_usage("temporal loss: not available with --iterate-space image (the warped frames and the loss are in "
                    "the network's input space)");
    if (temporal.size() > std::size_t(kMaxTemporalFrames))
        throw_usage("temporal loss: " + std::to_string(temporal.size()) + " previous frames given, at most " +
                    std::to_string(kMaxTemporalFrames) + " are supported");
    const Shape xs{1, 3, cs.h, cs.w}, ws{1, 1, cs.h, cs.w};
    for (std::size_t j = 0; j < temporal.size(); ++j) {
        const TemporalFrame& f = temporal[j];
        const std::string which = "temporal loss: previous frame " + std::to_string(j + 1);
        if (f.warped.shape() != xs)
            throw_usage(which + " is " + f.warped.shape().str() + ", the frame is " + xs.str());
        if (f.weight.shape() != ws)
            throw_usage(which + ": weight map " + f.weight.shape().str() + ", the frame needs " + ws.str());
    }
}

}  // namespace

void check_temporal(const ProblemSpec& spec) {
    check_temporal_frames(spec.temporal, spec.content.shape(), spec.iterate.image);
}

std::vector<TemporalTarget<float>> temporal_targets(const ProblemSpec& spec) {
    std::vector<TemporalTarget<float>> out;
    for (const TemporalFrame& f : spec.temporal) out.push_back({f.warped.cview(), f.weight.cview()});
    return out;
}

void apply_frame_update(ProblemSpec& spec, FrameUpdate& update) {
    const Shape cs = spec.content.shape();
    if (update.content.shape() != cs)
        throw_input("next frame: content " + update.content.shape().str() + ", the clip's frames are " + cs.str());
    if (update.init.shape() != cs)
        throw_input("next frame: starting point " + update.init.shape().str() + ", the clip's frames are " + cs.str());
    if (!update.styles.empty()) {
        if (update.styles.size() != spec.styles.size())
            throw_usage("next frame: " + std::to_string(update.styles.size()) + " style images, the problem has " +
                        std::to_string(spec.styles.size()));
    }
    check_temporal_frames(update.temporal, cs, spec.iterate.image);
    // Checked: nothing below throws, so a refused update leaves the problem as it was.
    if (!update.styles.empty()) spec.styles = std::move(update.styles);
    spec.content = std::move(update.content);
    spec.init = std::move(update.init);
    spec.temporal = std::move(update.temporal);
}

double temporal_caffe_scale(const ProblemSpec& spec) {
    return spec.caffe_scale > 0 ? spec.caffe_scale : preset_defaults(spec.loss.preset).caffe_scale;
}

}  // namespace nst
