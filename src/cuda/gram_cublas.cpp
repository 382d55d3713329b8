// SPDX-License-Identifier: MIT
#include "cuda/gram_cublas.h"

#include <climits>

#include "core/error.h"
#include "cuda/check.h"
#include "kernels/gram.h"
#include "kernels/guide.h"

namespace nst::cuda {

cublasMath_t cublas_math_mode(Precision precision) {
    return precision == Precision::Tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_PEDANTIC_MATH;
}

std::size_t gram_cublas_scratch_floats(int channels, long long positions, bool guided) {
    return guided ? std::size_t(channels) * std::size_t(positions) : 0;
}

void gram_cublas(Context& ctx, GramImpl impl, const float* f, const float* guide, int channels, long long positions,
                 double scale, float* scratch, float* g) {
    gram_cublas(ctx, impl, f, guide, channels, positions, positions, scale, scratch, g);
}

void gram_cublas(Context& ctx, GramImpl impl, const float* f, const float* guide, int channels, long long positions,
                 long long ld, double scale, float* scratch, float* g) {
    NST_REQUIRE(impl == GramImpl::CublasSyrk || impl == GramImpl::CublasGemm, "gram_cublas: not a cuBLAS Gram");
    NST_REQUIRE(channels > 0 && positions >= 0, "gram_cublas: empty channel count");
    NST_REQUIRE(positions <= INT_MAX && ld <= INT_MAX && ld >= positions, "gram_cublas: bad positions or stride");
    const cudaStream_t stream = ctx.stream();
    const cublasHandle_t handle = ctx.cublas();
    if (positions == 0) {  // k = 0: cuBLAS would scale C by beta; G is 0 by definition
        NST_CUDA_CHECK(cudaMemsetAsync(g, 0, std::size_t(channels) * std::size_t(channels) * sizeof(float), stream));
        return;
    }
    const float* x = f;
    int lda = int(ld);
    if (guide) {
        NST_REQUIRE(scratch != nullptr, "gram_cublas: a guided Gram needs scratch");
        kernels::guided_copy(f, ld, guide, channels, positions, scratch, stream);
        x = scratch;
        lda = int(positions);
    }
    const int n = channels, k = int(positions);
    const float alpha = float(scale), beta = 0.f;
    // X = F^T column-major: k x n with leading dimension lda (a column range of F keeps F's).
    if (impl == GramImpl::CublasSyrk)
        NST_CUBLAS_CHECK(cublasSsyrk(handle, CUBLAS_FILL_MODE_LOWER, CUBLAS_OP_T, n, k, &alpha, x, lda, &beta, g, n));
    else
        NST_CUBLAS_CHECK(cublasSgemm(handle, CUBLAS_OP_T, CUBLAS_OP_N, n, n, k, &alpha, x, lda, x, lda, &beta, g, n));
    kernels::gram_mirror_upper(g, channels, stream);
}

}  // namespace nst::cuda
