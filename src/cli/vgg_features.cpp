// SPDX-License-Identifier: MIT
#include "cli/vgg_features.h"

#include <cstring>

#include "core/error.h"
#include "nn/vgg19.h"

#ifdef NST_HAVE_CUDA
#include <cuda_runtime.h>

#include "cuda/check.h"
#include "cuda/context.h"
#include "cuda/vgg19_cuda.h"
#endif

namespace nst::cli {

namespace {

std::vector<Tensor<float>> features_cpu(const VggWeights& weights, Pooling pooling, const std::vector<int>& layers,
                                        ConstView<float> x) {
    cpu::Vgg19Net<float> net(weights, pooling);
    net.set_taps(layers);
    net.forward(x);
    std::vector<Tensor<float>> out;
    for (int l : layers) {
        const ConstView<float> f = net.output(l);
        Tensor<float> t(f.shape);
        std::memcpy(t.data(), f.data, f.numel() * sizeof(float));
        out.push_back(std::move(t));
    }
    return out;
}

#ifdef NST_HAVE_CUDA
std::vector<Tensor<float>> features_cuda(int gpu, const VggWeights& weights, Pooling pooling,
                                         const std::vector<int>& layers, ConstView<float> x) {
    // The engine's default cuDNN workspace per convolution (engine/engine.h, CudaOptions).
    const std::size_t workspace_limit = CudaOptions{}.workspace_limit;
    cuda::Context ctx(gpu);
    cuda::VggNet net(ctx, weights, pooling, Precision::Fp32, workspace_limit);
    net.set_taps(layers);
    net.prepare(x.shape.h, x.shape.w);
    Tensor<float> dx(x.shape, Device::Cuda);
    NST_CUDA_CHECK(cudaMemcpyAsync(dx.data(), x.data, x.numel() * sizeof(float), cudaMemcpyHostToDevice, ctx.stream()));
    net.forward(dx.cview());
    std::vector<Tensor<float>> out;
    for (int l : layers) {
        const ConstView<float> f = net.output(l);
        Tensor<float> t(f.shape);
        NST_CUDA_CHECK(
            cudaMemcpyAsync(t.data(), f.data, f.numel() * sizeof(float), cudaMemcpyDeviceToHost, ctx.stream()));
        out.push_back(std::move(t));
    }
    ctx.synchronize();
    return out;
}
#endif

}  // namespace

std::vector<Tensor<float>> vgg_features(Backend backend, int gpu, const VggWeights& weights, Pooling pooling,
                                        const std::vector<int>& layers, ConstView<float> x) {
    if (backend != Backend::Cuda) return features_cpu(weights, pooling, layers, x);
#ifdef NST_HAVE_CUDA
    return features_cuda(gpu, weights, pooling, layers, x);
#else
    (void)gpu;
    throw_runtime("--backend cuda: this nst was built without CUDA; use --backend cpu");
#endif
}

}  // namespace nst::cli
