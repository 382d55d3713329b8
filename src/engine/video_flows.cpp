// SPDX-License-Identifier: MIT
#include "engine/video_flows.h"

#include "loss/temporal_loss.h"
#include "video/consistency.h"
#include "video/frame_init.h"

namespace nst {

Tensor<float> WorkingFlows::flow(int a, int b) {
    Tensor<float> f = m_store.flow(a, b);
    if (f.shape().h == m_h && f.shape().w == m_w) return f;
    return resize_flow(f.cview(), m_h, m_w);
}

Tensor<float> WorkingFlows::consistency(int a, int b) {
    const Tensor<float> ab = flow(a, b), ba = flow(b, a);
    return consistency_weights(ab.cview(), ba.cview());
}

std::vector<TemporalFrame> build_temporal_targets(WorkingFlows& flows, int frame, const std::vector<int>& neighbours,
                                            const std::vector<ConstView<float>>& results) {
    NST_REQUIRE(neighbours.size() == results.size(), "temporal_targets: one result per neighbour");
    std::vector<TemporalFrame> out;
    for (std::size_t k = 0; k < neighbours.size(); ++k) {
        TemporalFrame t;
        const Tensor<float> f = flows.flow(frame, neighbours[k]);
        t.warped = warp_previous_result(results[k], f.cview());
        t.weight = flows.consistency(frame, neighbours[k]);
        out.push_back(std::move(t));
    }
    if (out.size() > 1) {
        std::vector<ConstView<float>> maps;
        std::vector<TensorView<float>> reduced;
        for (TemporalFrame& t : out) {
            maps.push_back(t.weight.cview());
            reduced.push_back(t.weight.view());
        }
        cpu::long_term_weights<float>(maps, reduced);  // in place: the farthest map is done first
    }
    return out;
}

}  // namespace nst
