// SPDX-License-Identifier: MIT
// Starting points of a video frame's optimisation (Ruder, Dosovitskiy & Brox; research notes
// docs/research/video.md §1.4, §1.5), in the network space the engine optimises:
//  * the previous result warped into the frame (single pass, --init prev-warped), and
//  * the multi-pass blend of a frame's own previous-pass result with its warped neighbours.
// Flow conventions: video/flo.h, video/warp.h; resize_flow brings a flow computed on the input
// frames to the size the frames are stylised at.
#pragma once
#include <vector>

#include "core/tensor.h"

namespace nst {

// flow (1, 2, H, W) -> (1, 2, h, w): both components resized (io/image.h's resize), u scaled by
// w / W and v by h / H so that displacements are in the new pixels. A copy when the size is equal.
Tensor<float> resize_flow(ConstView<float> flow, int h, int w);

// The previous result x_prev (1, C, H, W) warped onto the current frame with the backward flow
// (1, 2, H, W) current -> previous: out(x) = x_prev(x + flow(x)), bilinear. Where the sample point
// leaves the image the value is 0, which is the mean pixel in network space for every preset
// (caffe subtracts the mean pixel, torchvision the mean before dividing by the std): the
// reference code fills those pixels with the VGG mean pixel.
Tensor<float> warp_previous_result(ConstView<float> x_prev, ConstView<float> flow_back);

// One neighbour's term of the multi-pass blend.
struct BlendNeighbour {
    ConstView<float> warped;  // (1, C, H, W) the neighbour's result warped onto this frame
    ConstView<float> weight;  // (1, 1, H, W) its consistency weight c in [0, 1]
    double blend = 1;         // b: --blend-weight (this pass's neighbour) or --blend-weight-last-pass
};

// The multi-pass initialisation (artistic-videos' multi-pass script, video.md §1.5):
//   x' = (x_own + sum_k b_k c_k w_k) / (1 + sum_k b_k c_k)      per element, c broadcast over C
// with x_own (1, C, H, W) the frame's result of the previous pass. No neighbours: x_own.
Tensor<float> blend_multipass_init(ConstView<float> own, const std::vector<BlendNeighbour>& neighbours);

}  // namespace nst
