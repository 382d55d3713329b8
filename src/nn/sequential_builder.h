// SPDX-License-Identifier: MIT
// Writes a PyTorch nn.Sequential out module by module as a NetDesc (nn/net_desc.h), for the
// AdaIN / WCT networks of naoto0804/pytorch-AdaIN's layout (adain_net.h, wct_net.h): `idx`
// follows the Sequential's index so that every conv gets its state_dict name; a
// ReflectionPad2d(1) module followed by a Conv2d(padding 0) is one Conv layer with pad 1 in
// Reflect mode (same output), and the pad's own index is skipped.
#pragma once
#include <string>

#include "nn/net_desc.h"

namespace nst {

struct SequentialBuilder {
    NetDesc d;
    int idx = 0;  // the Sequential index of the next module

    // A parameterless module (ReLU, Upsample) under a label.
    void label(const std::string& name, Op op) {
        LayerSpec l;
        l.name = name;
        l.op = op;
        d.layers.push_back(l);
        ++idx;
    }
    // ReflectionPad2d(1) (module idx) + Conv2d 3x3 (module idx + 1) when `padded`, else a 1x1 conv.
    void conv(int channels, bool padded) {
        if (padded) ++idx;
        LayerSpec l;
        l.name = std::to_string(idx);
        l.op = Op::Conv;
        l.channels = channels;
        l.kernel = padded ? 3 : 1;
        l.pad = padded ? 1 : 0;
        l.pad_mode = PadMode::Reflect;
        d.layers.push_back(l);
        ++idx;
    }
    // MaxPool2d(2, 2, ceil_mode=True).
    void pool(const std::string& name) {
        LayerSpec l;
        l.name = name;
        l.op = Op::MaxPool;
        l.kernel = 2;
        l.stride = 2;
        l.ceil_mode = true;
        d.layers.push_back(l);
        ++idx;
    }
};

}  // namespace nst
