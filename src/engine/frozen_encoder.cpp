// SPDX-License-Identifier: MIT
#include "engine/frozen_encoder.h"

#include <algorithm>
#include <string>

#include "core/error.h"

namespace nst {

NetModel random_frozen_encoder(const NetDesc& desc, std::uint64_t seed) {
    NetModel m;
    m.desc = desc;
    m.params = init_params(m.desc, seed);
    for (float& v : m.params) v *= 2.5f;
    m.metadata["nst.io"] = "rgb01";
    m.metadata["nst.source"] = "random:" + std::to_string(seed);
    return m;
}

NetDesc slice_desc(const NetDesc& desc, int first, int last) {
    NST_REQUIRE(first >= 0 && first <= last && last < int(desc.layers.size()), "slice_desc: bad layer range");
    const std::vector<Shape> probe = output_shapes(desc, Shape{1, desc.in_channels, 64, 64});
    NetDesc out;
    out.arch = desc.arch + "[" + std::to_string(first) + ":" + std::to_string(last) + "]";
    out.in_channels = first == 0 ? desc.in_channels : probe[std::size_t(first - 1)].c;
    for (int i = first; i <= last; ++i) {
        NST_REQUIRE(desc.layers[std::size_t(i)].op != Op::Add, "slice_desc: only sequential networks can be cut");
        out.layers.push_back(desc.layers[std::size_t(i)]);
    }
    validate(out);
    return out;
}

std::size_t param_offset(const NetDesc& desc, int first) {
    for (const ParamInfo& p : param_layout(desc))
        if (p.layer >= first) return p.offset;
    return param_count(desc);
}

template <typename T>
FrozenEncoder<T>::FrozenEncoder(const NetDesc& encoder, const float* params, std::vector<int> taps)
    : m_taps(std::move(taps)) {
    NST_REQUIRE(!m_taps.empty() && std::is_sorted(m_taps.begin(), m_taps.end()) &&
                    std::adjacent_find(m_taps.begin(), m_taps.end()) == m_taps.end() && m_taps.front() >= 0 &&
                    m_taps.back() < int(encoder.layers.size()),
                "FrozenEncoder: taps must be ascending layer indices");
    int first = 0;
    for (int t : m_taps) {
        const NetDesc seg = slice_desc(encoder, first, t);
        m_segments.emplace_back(seg, params + param_offset(encoder, first));
        first = t + 1;
    }
    m_out.resize(m_taps.size());
    m_grad.resize(m_taps.size());
}

template <typename T>
void FrozenEncoder<T>::forward(ConstView<T> x, bool for_backward) {
    ConstView<T> in = x;
    for (std::size_t k = 0; k < m_segments.size(); ++k) {
        m_out[k] = m_segments[k].forward(in, for_backward);
        in = m_out[k];
    }
}

template <typename T>
std::size_t FrozenEncoder<T>::buffer_bytes(Shape input) const {
    std::size_t bytes = 0;
    Shape in = input;
    for (const cpu::Network<T>& seg : m_segments) {
        bytes += seg.buffer_bytes(in, true);
        in = output_shapes(seg.desc(), in).back();
        bytes += in.numel() * sizeof(T);  // the gradient at the tap
    }
    return bytes;
}

template <typename T>
void FrozenEncoder<T>::backward(const std::vector<ConstView<T>>& dtaps, TensorView<T> dx) {
    NST_REQUIRE(dtaps.size() == m_taps.size(), "FrozenEncoder::backward: one gradient per tap");
    // m_grad[k]: the gradient at tap k, from the segments above plus the loss's own there.
    const std::size_t K = m_taps.size();
    for (std::size_t k = K; k-- > 0;) {
        const Shape s = m_out[k].shape;
        Tensor<T>& g = m_grad[k];
        g.ensure(s);
        if (k + 1 == K) {
            std::fill(g.begin(), g.end(), T(0));
        } else {
            m_segments[k + 1].backward(m_grad[k + 1].cview(), g.view(), nullptr);  // assigns
        }
        if (!dtaps[k].empty()) {
            NST_REQUIRE(dtaps[k].shape == s, "FrozenEncoder::backward: tap gradient " + dtaps[k].shape.str() +
                                                 " for " + s.str());
            const T* d = dtaps[k].data;
            T* o = g.data();
            const std::size_t n = s.numel();
            for (std::size_t i = 0; i < n; ++i) o[i] += d[i];
        }
    }
    m_segments[0].backward(m_grad[0].cview(), dx, nullptr);
}

template <typename T>
TrainedDecoder<T>::TrainedDecoder(const NetDesc& desc, const std::vector<float>& params, double learning_rate)
    : m_net(desc, params.data()),
      m_adam(nst::param_count(desc), cpu::AdamOptions{learning_rate}),
      m_grads(nst::param_count(desc), T(0)) {
    NST_REQUIRE(params.size() == m_grads.size(), "TrainedDecoder: parameter count");
}

template <typename T>
void TrainedDecoder<T>::zero_grads() {
    std::fill(m_grads.begin(), m_grads.end(), T(0));
}

template <typename T>
void TrainedDecoder<T>::update(double learning_rate) {
    m_adam.set_learning_rate(learning_rate);
    m_adam.step(m_net.params(), m_grads.data());
}

template <typename T>
std::vector<float> TrainedDecoder<T>::params() const {
    const T* p = m_net.params();
    return std::vector<float>(p, p + m_grads.size());
}

template <typename T>
std::vector<float> TrainedDecoder<T>::gradient() const {
    return std::vector<float>(m_grads.begin(), m_grads.end());
}

template <typename T>
TrainAdamState TrainedDecoder<T>::adam_state() const {
    const auto& m = m_adam.first_moment();
    const auto& v = m_adam.second_moment();
    return TrainAdamState{m_adam.iterations(), std::vector<float>(m.begin(), m.end()),
                          std::vector<float>(v.begin(), v.end())};
}

template <typename T>
void TrainedDecoder<T>::restore(const std::vector<float>& params, const TrainAdamState& a) {
    const std::size_t n = m_grads.size();
    NST_REQUIRE(params.size() == n && a.m.size() == n && a.v.size() == n, "train state of the wrong size");
    std::copy(params.begin(), params.end(), m_net.params());
    const std::vector<T> m(a.m.begin(), a.m.end()), v(a.v.begin(), a.v.end());
    m_adam.set_state(a.step, m.data(), v.data());
}

template class FrozenEncoder<float>;
template class FrozenEncoder<double>;
template class TrainedDecoder<float>;
template class TrainedDecoder<double>;

}  // namespace nst
