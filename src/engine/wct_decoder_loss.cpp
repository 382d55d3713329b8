// SPDX-License-Identifier: MIT
#include "engine/wct_decoder_loss.h"

#include <algorithm>
#include <string>

#include "core/error.h"

namespace nst {

template <typename T>
WctDecoderLoss wct_decoder_loss(cpu::Network<T>& encoder, cpu::Network<T>& decoder, ConstView<T> content,
                                double lambda, T* grads) {
    // Target features f(c): copied, the encoder runs again on the decoded image.
    const ConstView<T> f0 = encoder.forward(content, false);
    Tensor<T> target(f0.shape);
    std::copy(f0.begin(), f0.end(), target.data());
    const ConstView<T> y = decoder.forward(target.cview(), true);
    if (y.shape != content.shape)
        throw_input("WCT decoder training: the decoder gives " + y.shape.str() + " for a " + content.shape.str() +
                    " batch; the crop size must be a multiple of 2^(level-1)");
    Tensor<T> decoded(y.shape);
    std::copy(y.begin(), y.end(), decoded.data());
    WctDecoderLoss loss;
    // d/dy of mean((y - c)^2) = 2 (y - c) / n.
    Tensor<T> dy(y.shape);
    const std::size_t n = y.numel();
    double sum = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const double d = double(decoded.data()[i]) - double(content.data[i]);
        sum += d * d;
        dy.data()[i] = T(2 * d / double(n));
    }
    loss.pixel = sum / double(n);
    if (lambda != 0) {
        // lambda mean((f(y) - f(c))^2): its gradient w.r.t. y through the frozen encoder.
        const ConstView<T> f1 = encoder.forward(decoded.cview(), true);
        Tensor<T> df(f1.shape);
        const std::size_t m = f1.numel();
        double fsum = 0;
        for (std::size_t i = 0; i < m; ++i) {
            const double d = double(f1.data[i]) - double(target.data()[i]);
            fsum += d * d;
            df.data()[i] = T(lambda * 2 * d / double(m));
        }
        loss.feature = lambda * fsum / double(m);
        Tensor<T> dx(decoded.shape());
        encoder.backward(df.cview(), dx.view(), nullptr);
        for (std::size_t i = 0; i < n; ++i) dy.data()[i] += dx.data()[i];
    }
    decoder.backward(dy.cview(), TensorView<T>(), grads);
    return loss;
}

template WctDecoderLoss wct_decoder_loss<float>(cpu::Network<float>&, cpu::Network<float>&, ConstView<float>, double,
                                                float*);
template WctDecoderLoss wct_decoder_loss<double>(cpu::Network<double>&, cpu::Network<double>&, ConstView<double>,
                                                 double, double*);

}  // namespace nst
