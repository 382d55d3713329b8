// SPDX-License-Identifier: MIT
// Spatial guidance (Gatys et al., CVPR 2017, §4; NIS's SpatialControl notebook): a pixel mask
// in [0, 1] at an image's working size turned into a guide T^l for a network layer, and the
// guide normalisation T / sqrt(mean(T^2)) that makes a guided Gram area-invariant.
//
// Propagation to a layer follows VGG19's geometry (3x3 convs with padding 1, 2x2 pools with
// stride 2 that drop an odd last row/column), computed, not probed:
//   simple  the mask resampled to the layer grid: unchanged by convs and ReLUs, 2x2 mean at
//           each pool (soft values kept)
//   inside  binarised at 0.5; a position stays when its receptive field lies entirely inside
//           the region: 3x3 erosion at each conv (positions outside the image, i.e. padding,
//           do not count against it), 2x2 AND at each pool (NIS's 'inside')
//   all     binarised at 0.5; a position is in when its receptive field touches the region:
//           3x3 dilation at each conv, 2x2 OR at each pool (NIS's 'all')
// grow != 0 first binarises the pixel mask at 0.5 and dilates (grow > 0) or erodes (grow < 0)
// it by |grow| pixels with a (2|grow|+1)^2 square (NIS's k), for every mode.
#pragma once
#include <string>

#include "core/tensor.h"

namespace nst {

enum class GuidePropagation { Simple, Inside, All };

GuidePropagation parse_guide_propagation(const std::string& name);  // usage error for others
const char* guide_propagation_name(GuidePropagation p);

struct GuideOptions {
    GuidePropagation mode = GuidePropagation::Simple;
    int grow = 0;  // pixels; > 0 dilates, < 0 erodes (binarises at 0.5 first)
};

// The guide of `layer` (an index of nn/vgg19_layers.h) for a pixel mask (1, 1, H, W) in [0, 1]
// given to a network whose input is H x W: (1, 1, h_l, w_l) in double, NOT normalised.
Tensor<double> propagate_guide(ConstView<float> mask,  // (1, 1, H, W)
                               int layer, const GuideOptions& options);

// True when no pixel of mask (1, 1, H, W) enters a guide: all zero, or (for the binarising
// settings: inside, all, or grow != 0) no value >= 0.5. Such a mask is an empty region.
bool mask_is_empty(ConstView<float> mask, const GuideOptions& options);

// T / sqrt(mean(T^2)) in place; returns false (and leaves T all zero) when T is all zero.
bool normalize_guide(Tensor<double>& guide);  // (1, 1, h, w)

}  // namespace nst
