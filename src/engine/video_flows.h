// SPDX-License-Identifier: MIT
// The flow `nst video` works with: the input frames' flow (video/flow.h's FlowStore: estimated
// once and cached, or supplied with --flow-dir) brought to the size the frames are stylised at,
// with the consistency weights and the temporal targets built from it (issue #14; research
// notes docs/research/video.md §1.1-§1.3).
#pragma once
#include <vector>

#include "core/tensor.h"
#include "engine/engine.h"
#include "video/flow.h"

namespace nst {

class WorkingFlows {
public:
    // h, w: the stylised frames' size (the flow is resized to it, video/frame_init.h).
    WorkingFlows(FlowStore& store, int h, int w) : m_store(store), m_h(h), m_w(w) {}
    // (1, 2, h, w): frame a's pixel x is at x + flow(x) in frame b (0-based frame indices).
    Tensor<float> flow(int a, int b);
    // (1, 1, h, w) on a's grid: how far frame b warped onto a can be trusted (the checker's map,
    // video/consistency.h, from flow a -> b and its reverse).
    Tensor<float> consistency(int a, int b);
    FlowStore& store() { return m_store; }

private:
    FlowStore& m_store;
    int m_h, m_w;
};

// The temporal targets of frame `frame`: for each neighbour n in `neighbours` (nearest first:
// frame - j for j in --flow-relative-indices, or frame + j in a backward pass), its result
// results[k] (1, 3, h, w, network space) warped onto the frame (video/frame_init.h's
// warp_previous_result) with the consistency weights, reduced by the long-term rule
// (loss/temporal_loss.h's long_term_weights) when there is more than one.
std::vector<TemporalFrame> build_temporal_targets(WorkingFlows& flows, int frame, const std::vector<int>& neighbours,
                                            const std::vector<ConstView<float>>& results);

}  // namespace nst
