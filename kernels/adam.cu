// SPDX-License-Identifier: MIT
// The Adam step kernels (see kernels/adam.h), mirroring cpu::Adam<float>::step
// (src/optim/adam.cpp) operation for operation.
//
// Rounding: nvcc contracts a * b + c into one FMA by default; the element arithmetic is written
// with the round-to-nearest intrinsics (never contracted) so that each element is computed as
// the C++ source reads, in float. The bias corrections use the device pow, which may differ from
// the host's correctly rounded one by an ulp in double; they are rounded to float before use,
// so this is visible only in the rare case of a double that lies on a float rounding boundary.
#include "kernels/adam.h"

#include "cuda/check.h"
#include "kernels/launch.h"
#include "kernels/step_gate.cuh"

namespace nst::kernels {

namespace {

// One thread: run-state / total check, then the iteration counter and bias corrections.
__global__ void adam_begin_kernel(AdamView a) {
    AdamScalars& sc = *a.scalars;
    if (!step_allowed(*a.state, a.total)) {  // the moments stay too
        sc.skip = 1;
        return;
    }
    sc.skip = 0;
    sc.iter += 1;
    const double bc1 = 1.0 - pow(a.beta1, static_cast<double>(sc.iter));
    const double bc2 = 1.0 - pow(a.beta2, static_cast<double>(sc.iter));
    sc.step_size = __double2float_rn(a.learning_rate / bc1);
    sc.bc2_sqrt = __double2float_rn(sqrt(bc2));
}

// m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;  x -= step_size * m / (sqrt(v) / bc2_sqrt + eps)
__global__ void __launch_bounds__(kThreads) adam_update_kernel(AdamView a, float* x, const float* g) {
    const AdamScalars& sc = *a.scalars;
    if (sc.skip) return;
    const float step_size = sc.step_size;
    const float bc2_sqrt = sc.bc2_sqrt;
    const float b1 = __double2float_rn(a.beta1);
    const float b2 = __double2float_rn(a.beta2);
    const float one_b1 = __double2float_rn(1.0 - a.beta1);
    const float one_b2 = __double2float_rn(1.0 - a.beta2);
    const float eps = __double2float_rn(a.eps);
    float* m = a.m;
    float* v = a.v;
    const long long stride = static_cast<long long>(gridDim.x) * blockDim.x;
    for (long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x; i < a.n; i += stride) {
        const float gi = g[i];
        const float mi = __fadd_rn(__fmul_rn(m[i], b1), __fmul_rn(one_b1, gi));
        const float vi = __fadd_rn(__fmul_rn(v[i], b2), __fmul_rn(__fmul_rn(one_b2, gi), gi));
        m[i] = mi;
        v[i] = vi;
        const float denom = __fadd_rn(__fdiv_rn(__fsqrt_rn(vi), bc2_sqrt), eps);
        x[i] = __fsub_rn(x[i], __fmul_rn(step_size, __fdiv_rn(mi, denom)));
    }
}

}  // namespace

void adam_begin(const AdamView& a, cudaStream_t stream) {
    adam_begin_kernel<<<1, 1, 0, stream>>>(a);
    NST_CUDA_CHECK(cudaGetLastError());
}

void adam_update(const AdamView& a, float* x, const float* g, cudaStream_t stream) {
    adam_update_kernel<<<elementwise_blocks(static_cast<std::size_t>(a.n)), kThreads, 0, stream>>>(a, x, g);
    NST_CUDA_CHECK(cudaGetLastError());
}

}  // namespace nst::kernels
