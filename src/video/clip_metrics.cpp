// SPDX-License-Identifier: MIT
// clip_warping_error: one pass over the pairs, each stylised frame decoded once (frame t+1 of a
// pair is frame t of the next).
#include "video/clip_metrics.h"

#include "core/error.h"
#include "io/image.h"

namespace nst {

ClipWarpError clip_warping_error(FlowStore& flows, int frame_count,
                                 const std::function<Tensor<float>(int)>& stylised,
                                 const std::function<std::string(int)>& stylised_name) {
    if (frame_count < 2)
        throw_input("the temporal warping error needs at least 2 frames, the clip has " + std::to_string(frame_count));
    auto checked = [&](int t, const Tensor<float>& flow) {
        Tensor<float> frame = stylised(t);
        const Shape s = frame.shape();
        if (s.h != flow.shape().h || s.w != flow.shape().w)
            throw_input("stylised frame '" + stylised_name(t) + "' is " + std::to_string(s.w) + "x" +
                        std::to_string(s.h) + " but the input clip's frames are " +
                        std::to_string(flow.shape().w) + "x" + std::to_string(flow.shape().h));
        return frame;
    };
    ClipWarpError out;
    Tensor<float> cur;
    for (int t = 0; t + 1 < frame_count; ++t) {
        const Tensor<float> fwd = flows.flow(t, t + 1), bwd = flows.flow(t + 1, t);
        if (t == 0) cur = checked(0, fwd);
        Tensor<float> next = checked(t + 1, fwd);
        out.pairs.push_back(warping_error(cur.cview(), next.cview(), fwd.cview(), bwd.cview()));
        cur = std::move(next);
    }
    for (const WarpError& e : out.pairs) {
        out.mean_lai += e.lai;
        out.mean_ruder += e.ruder;
    }
    out.mean_lai /= double(out.pairs.size());
    out.mean_ruder /= double(out.pairs.size());
    return out;
}

ClipWarpError clip_warping_error(FlowStore& flows, const std::vector<std::string>& input_frames,
                                 const std::vector<std::string>& stylised_frames) {
    if (input_frames.size() != stylised_frames.size())
        throw_input("the stylised clip has " + std::to_string(stylised_frames.size()) + " frames, the input clip " +
                    std::to_string(input_frames.size()));
    return clip_warping_error(
        flows, int(input_frames.size()), [&](int t) { return load_image(stylised_frames[t]); },
        [&](int t) { return stylised_frames[t]; });
}

}  // namespace nst
