// SPDX-License-Identifier: MIT
// Content loss: scale * sum (F - P)^2 and its gradient, from the two phases of column_losses.h.
#include "core/error.h"
#include "loss/column_losses.h"
#include "loss/losses.h"

namespace nst::cpu {

template <typename T>
double content_loss(ConstView<T> f,  // (1, C, H, W)
                    ConstView<T> p,  // (1, C, H, W)
                    double scale, TensorView<T> df) {
    NST_REQUIRE(f.shape == p.shape, "content_loss: features " + f.shape.str() + " vs target " + p.shape.str());
    NST_REQUIRE(f.device == Device::Host && p.device == Device::Host, "content_loss: host tensors only");
    const double value = scale * content_sum(all_columns(f), all_columns(p));
    if (!df.empty()) {
        NST_REQUIRE(df.shape == f.shape, "content_loss: gradient " + df.shape.str() + " vs features " + f.shape.str());
        content_gradient(all_columns(df), all_columns(f), all_columns(p), 2 * scale);  // += : taps may be shared
    }
    return value;
}

template double content_loss<float>(ConstView<float>, ConstView<float>, double, TensorView<float>);
template double content_loss<double>(ConstView<double>, ConstView<double>, double, TensorView<double>);

}  // namespace nst::cpu
