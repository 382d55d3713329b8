// SPDX-License-Identifier: MIT
#include "cuda/wct_stylize_cuda.h"

#include "core/error.h"
#include "cuda/check.h"
#include "cuda/context.h"
#include "cuda/network_cuda.h"
#include "cuda/wct_cuda.h"

namespace nst::cuda {

namespace {
constexpr std::size_t kWorkspace = std::size_t(256) << 20;  // cuDNN workspace per convolution
}  // namespace

struct CudaWctBackend::Impl {
    Context ctx;
    WctModels models;
    std::unique_ptr<Network> encoders[kWctLevels + 1], decoders[kWctLevels + 1];

    Impl(int gpu, const WctModels& m) : ctx(gpu), models(m) {}

    // The prefix's parameters are the first values of the encoder's (layout order is layer order).
    Network& encoder(int level) {
        auto& net = encoders[level];
        if (!net)
            net = std::make_unique<Network>(ctx, encoder_prefix(models.encoder->desc, level),
                                            models.encoder->params.data(), kWorkspace);
        return *net;
    }
    Network& decoder(int level) {
        auto& net = decoders[level];
        NST_REQUIRE(models.decoders[level] != nullptr, "CudaWctBackend: no decoder for the level");
        if (!net)
            net = std::make_unique<Network>(ctx, models.decoders[level]->desc, models.decoders[level]->params.data(),
                                            kWorkspace);
        return *net;
    }
    Tensor<float> upload(ConstView<float> host) {
        Tensor<float> d(host.shape, Device::Cuda);
        NST_CUDA_CHECK(cudaMemcpyAsync(d.data(), host.data, host.numel() * sizeof(float), cudaMemcpyHostToDevice,
                                       ctx.stream()));
        return d;
    }
};

CudaWctBackend::CudaWctBackend(int gpu, const WctModels& models) : m(std::make_unique<Impl>(gpu, models)) {}
CudaWctBackend::~CudaWctBackend() = default;

WctMoments CudaWctBackend::style_moments(ConstView<float> rgb, int level) {
    const Tensor<float> x = m->upload(rgb);
    return wct_moments(m->ctx, m->encoder(level).forward(x.cview(), false), 0);
}

Tensor<float> CudaWctBackend::run_level(ConstView<float> rgb, int level, const std::vector<WctMoments>& styles,
                                        const std::vector<double>& weights, double alpha, const WctOptions& options) {
    const Tensor<float> x = m->upload(rgb);
    const ConstView<float> f = m->encoder(level).forward(x.cview(), false);
    Tensor<float> t(f.shape, Device::Cuda);
    wct_forward(m->ctx, t.view(), f, styles, weights, alpha, options);
    const ConstView<float> y = m->decoder(level).forward(t.cview(), false);
    Tensor<float> out(y.shape);
    NST_CUDA_CHECK(cudaMemcpyAsync(out.data(), y.data, y.numel() * sizeof(float), cudaMemcpyDeviceToHost,
                                   m->ctx.stream()));
    m->ctx.synchronize();
    return out;
}

}  // namespace nst::cuda
