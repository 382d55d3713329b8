// SPDX-License-Identifier: MIT
// The public conv3x3 entry points (shape checks and algorithm choice) and Conv3x3Layer, which
// caches a layer's weights in the forms each algorithm needs.
#include "nn/conv2d.h"

#include "nn/conv2d_impl.h"

namespace nst::cpu {

namespace {

template <typename T>
void check_conv_shapes(const Shape& x, const Shape& y, const Shape& w, const char* what) {
    NST_REQUIRE(x.n == 1 && y.n == 1, std::string(what) + ": batch size must be 1");
    NST_REQUIRE(w.h == 3 && w.w == 3, std::string(what) + ": weights must be (O, I, 3, 3), got " + w.str());
    NST_REQUIRE(x.c == w.c && y.c == w.n, std::string(what) + ": channels of x " + x.str() + ", y " + y.str() +
                                              " and w " + w.str() + " disagree");
    NST_REQUIRE(x.h == y.h && x.w == y.w && x.h > 0 && x.w > 0,
                std::string(what) + ": x " + x.str() + " and y " + y.str() + " must have one non-empty size");
}

}  // namespace

template <typename T>
void conv3x3_forward(TensorView<T> y, ConstView<T> x, ConstView<T> w, ConstView<T> b, bool fuse_relu, ConvAlgo algo) {
    check_conv_shapes<T>(x.shape, y.shape, w.shape, "conv3x3_forward");
    NST_REQUIRE(b.empty() || b.numel() == std::size_t(w.shape.n), "conv3x3_forward: bias must be (1, O, 1, 1)");
    NST_REQUIRE(x.device == Device::Host && y.device == Device::Host && w.device == Device::Host,
                "conv3x3_forward (cpu) needs host tensors");
    detail::ConvEpilogue<T> ep;
    ep.bias = b.empty() ? nullptr : b.data;
    ep.relu = fuse_relu;
    if (detail::resolve_algo<T>(algo) == ConvAlgo::Winograd) {
        detail::winograd_forward(y, x, detail::WinogradFilter<T>(w), ep);
    } else {
        detail::direct_forward(y, x, w, ep);
    }
}

template <typename T>
void conv3x3_backward_data(TensorView<T> dx, ConstView<T> dy, ConstView<T> w, ConvAlgo algo) {
    check_conv_shapes<T>(dx.shape, dy.shape, w.shape, "conv3x3_backward_data");
    NST_REQUIRE(dx.device == Device::Host && dy.device == Device::Host && w.device == Device::Host,
                "conv3x3_backward_data (cpu) needs host tensors");
    // The backward of the conv is a forward conv of dy (O channels in, I out).
    if (detail::resolve_algo<T>(algo) == ConvAlgo::Winograd) {
        Tensor<T> flipped = detail::flip_weights(w);
        detail::winograd_forward(dx, dy, detail::WinogradFilter<T>(flipped.cview()), detail::ConvEpilogue<T>{});
    } else {
        detail::direct_backward_data(dx, dy, w, detail::ConvEpilogue<T>{});
    }
}

template void conv3x3_forward<float>(TensorView<float>, ConstView<float>, ConstView<float>, ConstView<float>, bool,
                                     ConvAlgo);
template void conv3x3_forward<double>(TensorView<double>, ConstView<double>, ConstView<double>, ConstView<double>, bool,
                                      ConvAlgo);
template void conv3x3_backward_data<float>(TensorView<float>, ConstView<float>, ConstView<float>, ConvAlgo);
template void conv3x3_backward_data<double>(TensorView<double>, ConstView<double>, ConstView<double>, ConvAlgo);

namespace detail {

template <typename T>
Conv3x3Layer<T>::Conv3x3Layer(ConstView<float> w, ConstView<float> b, ConvAlgo algo)
    : m_w(cast<T, float>(w)), m_b(cast<T, float>(b)), m_out(w.shape.n), m_in(w.shape.c) {
    NST_REQUIRE(w.shape.h == 3 && w.shape.w == 3, "conv weights must be (O, I, 3, 3), got " + w.shape.str());
    NST_REQUIRE(b.numel() == std::size_t(m_out), "conv bias must be (1, O, 1, 1), got " + b.shape.str());
    m_fwd_algo = m_bwd_algo = resolve_algo<T>(algo);
}

template <typename T>
void Conv3x3Layer<T>::forward(TensorView<T> y, ConstView<T> x, bool relu, std::uint8_t* positive_out) {
    NST_REQUIRE(x.shape.c == m_in && y.shape.c == m_out && x.shape.h == y.shape.h && x.shape.w == y.shape.w,
                "Conv3x3Layer::forward: shapes " + x.shape.str() + " -> " + y.shape.str());
    ConvEpilogue<T> ep;
    ep.bias = m_b.data();
    ep.relu = relu;
    ep.positive_out = positive_out;
    if (m_fwd_algo == ConvAlgo::Winograd) {
        if (m_wino_fwd.empty()) m_wino_fwd = WinogradFilter<T>(m_w.cview());
        winograd_forward(y, x, m_wino_fwd, ep);
    } else {
        direct_forward(y, x, m_w.cview(), ep);
    }
}

template <typename T>
void Conv3x3Layer<T>::backward(TensorView<T> dx, ConstView<T> dy, const T* mask, const std::uint8_t* mask_bytes) {
    NST_REQUIRE(dy.shape.c == m_out && dx.shape.c == m_in && dx.shape.h == dy.shape.h && dx.shape.w == dy.shape.w,
                "Conv3x3Layer::backward: shapes " + dy.shape.str() + " -> " + dx.shape.str());
    ConvEpilogue<T> ep;
    ep.mask = mask;
    ep.mask_bytes = mask_bytes;
    if (m_bwd_algo == ConvAlgo::Winograd) {
        if (m_wino_bwd.empty()) m_wino_bwd = WinogradFilter<T>(flip_weights(m_w.cview()).cview());
        winograd_forward(dx, dy, m_wino_bwd, ep);
    } else {
        direct_backward_data(dx, dy, m_w.cview(), ep);
    }
}

template class Conv3x3Layer<float>;
template class Conv3x3Layer<double>;

}  // namespace detail

}  // namespace nst::cpu
