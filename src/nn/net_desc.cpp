// SPDX-License-Identifier: MIT
// Parameter layout, shape inference and consistency checks of a NetDesc (nn/net_desc.h).
#include "nn/net_desc.h"

#include <string>

namespace nst {

namespace {

const char* op_name(Op op) {
    switch (op) {
        case Op::Conv: return "Conv";
        case Op::ConvTranspose: return "ConvTranspose";
        case Op::Relu: return "Relu";
        case Op::Tanh: return "Tanh";
        case Op::MaxPool: return "MaxPool";
        case Op::AvgPool: return "AvgPool";
        case Op::InstanceNorm: return "InstanceNorm";
        case Op::Upsample: return "Upsample";
        case Op::Pad: return "Pad";
        case Op::Add: return "Add";
    }
    return "?";
}

// Input channels of every layer (channels of the previous layer's output), and the output's.
std::vector<int> input_channels(const NetDesc& desc) {
    std::vector<int> in(desc.layers.size() + 1);
    int c = desc.in_channels;
    for (std::size_t i = 0; i < desc.layers.size(); ++i) {
        in[i] = c;
        const LayerSpec& l = desc.layers[i];
        if (l.op == Op::Conv || l.op == Op::ConvTranspose) c = l.channels;
    }
    in[desc.layers.size()] = c;
    return in;
}

// Torch's pooled size: floor or ceil of (in - k) / s, plus one; in ceil mode the last window
// must start inside the input.
int pool_out(int in, int k, int s, bool ceil_mode) {
    if (in < k) return 0;
    int out = ceil_mode ? (in - k + s - 1) / s + 1 : (in - k) / s + 1;
    if (ceil_mode && (out - 1) * s >= in) --out;
    return out;
}

[[noreturn]] void too_small(const NetDesc& desc, std::size_t i, const Shape& in, const std::string& why) {
    const LayerSpec& l = desc.layers[i];
    throw_input("input too small for " + desc.arch + ": layer " + std::to_string(i) + " '" + l.name + "' (" +
                op_name(l.op) + ") gets " + in.str() + ": " + why);
}

}  // namespace

std::vector<ParamInfo> param_layout(const NetDesc& desc) {
    const std::vector<int> in = input_channels(desc);
    std::vector<ParamInfo> out;
    std::size_t offset = 0;
    auto add = [&](const std::string& name, Shape shape, int layer) {
        out.push_back({name, shape, offset, layer});
        offset += shape.numel();
    };
    for (std::size_t i = 0; i < desc.layers.size(); ++i) {
        const LayerSpec& l = desc.layers[i];
        const int li = int(i);
        if (l.op == Op::Conv || l.op == Op::ConvTranspose) {
            const Shape w = l.op == Op::Conv ? Shape{l.channels, in[i], l.kernel, l.kernel}
                                             : Shape{in[i], l.channels, l.kernel, l.kernel};
            add(l.name + ".weight", w, li);
            if (l.bias) add(l.name + ".bias", Shape{1, l.channels, 1, 1}, li);
        } else if (l.op == Op::InstanceNorm && l.affine) {
            add(l.name + ".weight", Shape{1, in[i], 1, 1}, li);
            add(l.name + ".bias", Shape{1, in[i], 1, 1}, li);
        }
    }
    return out;
}

std::size_t param_count(const NetDesc& desc) {
    std::size_t n = 0;
    for (const ParamInfo& p : param_layout(desc)) n += p.shape.numel();
    return n;
}

std::vector<Shape> output_shapes(const NetDesc& desc, Shape input) {
    NST_REQUIRE(input.c == desc.in_channels,
                desc.arch + ": input " + input.str() + " needs " + std::to_string(desc.in_channels) + " channels");
    if (input.n <= 0 || input.h <= 0 || input.w <= 0) throw_input(desc.arch + ": empty input " + input.str());
    std::vector<Shape> out(desc.layers.size());
    Shape s = input;
    for (std::size_t i = 0; i < desc.layers.size(); ++i) {
        const LayerSpec& l = desc.layers[i];
        Shape o = s;
        switch (l.op) {
            case Op::Conv: {
                if (l.pad_mode == PadMode::Reflect && (l.pad >= s.h || l.pad >= s.w))
                    too_small(desc, i, s, "reflection padding " + std::to_string(l.pad) + " needs more rows and columns");
                const int hp = s.h + 2 * l.pad, wp = s.w + 2 * l.pad;
                o.c = l.channels;
                o.h = hp < l.kernel ? 0 : (hp - l.kernel) / l.stride + 1;
                o.w = wp < l.kernel ? 0 : (wp - l.kernel) / l.stride + 1;
                break;
            }
            case Op::ConvTranspose:
                o.c = l.channels;
                o.h = (s.h - 1) * l.stride - 2 * l.pad + l.kernel + l.output_padding;
                o.w = (s.w - 1) * l.stride - 2 * l.pad + l.kernel + l.output_padding;
                break;
            case Op::MaxPool:
            case Op::AvgPool:
                o.h = pool_out(s.h, l.kernel, l.stride, l.ceil_mode);
                o.w = pool_out(s.w, l.kernel, l.stride, l.ceil_mode);
                break;
            case Op::Upsample:
                o.h = s.h * l.factor;
                o.w = s.w * l.factor;
                break;
            case Op::Pad:
                if (l.pad_mode == PadMode::Reflect && (l.pad >= s.h || l.pad >= s.w))
                    too_small(desc, i, s, "reflection padding " + std::to_string(l.pad) + " needs more rows and columns");
                o.h = s.h + 2 * l.pad;
                o.w = s.w + 2 * l.pad;
                break;
            case Op::InstanceNorm:
                // One value per plane normalises to zero: allowed (torch allows it at eval), harmless.
                break;
            case Op::Add: {
                const Shape src = l.from < 0 ? input : out[std::size_t(l.from)];
                if (src.h < s.h || src.w < s.w)
                    too_small(desc, i, s, "its shortcut source " + src.str() + " is smaller");
                if ((src.h - s.h) % 2 != 0 || (src.w - s.w) % 2 != 0)
                    too_small(desc, i, s, "its shortcut source " + src.str() + " cannot be centre-cropped evenly");
                break;
            }
            case Op::Relu:
            case Op::Tanh: break;
        }
        if (o.h <= 0 || o.w <= 0) too_small(desc, i, s, "the output would be empty");
        out[i] = o;
        s = o;
    }
    return out;
}

void validate(const NetDesc& desc) {
    NST_REQUIRE(desc.in_channels > 0, desc.arch + ": in_channels must be positive");
    const std::vector<int> in = input_channels(desc);
    for (std::size_t i = 0; i < desc.layers.size(); ++i) {
        const LayerSpec& l = desc.layers[i];
        const std::string where = desc.arch + " layer " + std::to_string(i) + " '" + l.name + "': ";
        NST_REQUIRE(!l.name.empty(), where + "needs a name");
        for (std::size_t j = 0; j < i; ++j)
            NST_REQUIRE(desc.layers[j].name != l.name, where + "name used twice");
        switch (l.op) {
            case Op::Conv:
            case Op::ConvTranspose:
                NST_REQUIRE(l.channels > 0 && l.kernel > 0 && l.stride > 0 && l.pad >= 0, where + "bad conv geometry");
                NST_REQUIRE(l.op == Op::Conv || l.pad_mode == PadMode::Zero, where + "transposed convs pad with zeros");
                NST_REQUIRE(l.op == Op::ConvTranspose || l.output_padding == 0, where + "output_padding is for ConvTranspose");
                NST_REQUIRE(l.output_padding >= 0 && (l.output_padding < l.stride || l.output_padding == 0),
                            where + "output_padding must be below the stride");
                break;
            case Op::MaxPool:
            case Op::AvgPool: NST_REQUIRE(l.kernel > 0 && l.stride > 0, where + "bad pool geometry"); break;
            case Op::InstanceNorm: NST_REQUIRE(l.eps > 0, where + "eps must be positive"); break;
            case Op::Upsample: NST_REQUIRE(l.factor >= 1, where + "factor must be at least 1"); break;
            case Op::Pad: NST_REQUIRE(l.pad >= 0, where + "negative padding"); break;
            case Op::Tanh: NST_REQUIRE(l.scale != 0, where + "zero scale"); break;
            case Op::Add:
                NST_REQUIRE(l.from >= -1 && l.from < int(i), where + "the Add source must come earlier");
                // in[from + 1]: the output channels of layer `from` (in[0]: the network input's).
                NST_REQUIRE(in[std::size_t(l.from + 1)] == in[i], where + "channels of the Add source differ");
                break;
            case Op::Relu: break;
        }
    }
}

}  // namespace nst
