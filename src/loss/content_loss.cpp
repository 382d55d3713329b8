// SPDX-License-Identifier: MIT
// Content loss: scale * sum (F - P)^2 and its gradient, in one pass.
#include "core/error.h"
#include "loss/fixed_order_sum.h"
#include "loss/losses.h"

namespace nst::cpu {

template <typename T>
double content_loss(ConstView<T> f,  // (1, C, H, W)
                    ConstView<T> p,  // (1, C, H, W)
                    double scale, TensorView<T> df) {
    NST_REQUIRE(f.shape == p.shape, "content_loss: features " + f.shape.str() + " vs target " + p.shape.str());
    NST_REQUIRE(f.device == Device::Host && p.device == Device::Host, "content_loss: host tensors only");
    const std::size_t n = f.numel();
    const T* fd = f.data;
    const T* pd = p.data;
    if (df.empty()) {
        return scale * detail::fixed_order_sum(n, [&](std::size_t i) {
                   const double e = double(fd[i]) - double(pd[i]);
                   return e * e;
               });
    }
    NST_REQUIRE(df.shape == f.shape, "content_loss: gradient " + df.shape.str() + " vs features " + f.shape.str());
    T* dd = df.data;
    const double two_scale = 2 * scale;
    return scale * detail::fixed_order_sum(n, [&](std::size_t i) {
               const double e = double(fd[i]) - double(pd[i]);
               dd[i] += T(two_scale * e);  // += : several losses may share one tap
               return e * e;
           });
}

template double content_loss<float>(ConstView<float>, ConstView<float>, double, TensorView<float>);
template double content_loss<double>(ConstView<double>, ConstView<double>, double, TensorView<double>);

}  // namespace nst::cpu
