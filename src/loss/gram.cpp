// SPDX-License-Identifier: MIT
// Gram matrix G = scale * F F^T with one BLAS syrk (half the flops of a gemm), then mirrored.
#include "core/error.h"
#include "loss/column_losses.h"
#include "loss/gram_detail.h"
#include "loss/losses.h"

namespace nst::cpu {

template <typename T>
void gram_matrix(TensorView<T> g,  // (1, 1, C, C)
                 ConstView<T> f,   // (1, C, H, W)
                 double scale) {
    NST_REQUIRE(f.device == Device::Host && g.device == Device::Host, "gram_matrix: host tensors only");
    NST_REQUIRE(f.shape.n == 1, "gram_matrix: batch size must be 1, got " + f.shape.str());
    const int c = f.shape.c;
    const Shape gs{1, 1, c, c};
    NST_REQUIRE(g.shape == gs, "gram_matrix: output " + g.shape.str() + ", expected " + gs.str());
    gram_upper(g.data, all_columns(f), scale, true);
    detail::mirror_upper(g.data, c);
}

template void gram_matrix<float>(TensorView<float>, ConstView<float>, double);
template void gram_matrix<double>(TensorView<double>, ConstView<double>, double);

}  // namespace nst::cpu
