// SPDX-License-Identifier: MIT
#include "cuda/adain_cuda.h"

#include <cuda_runtime.h>

#include "core/error.h"
#include "cuda/check.h"
#include "cuda/context.h"
#include "cuda/network_cuda.h"
#include "kernels/adain.h"
#include "kernels/adain_regions.h"
#include "nn/adain_regions.h"

namespace nst::cuda {

namespace {

constexpr std::size_t kWorkspace = std::size_t(256) << 20;  // cuDNN workspace per convolution

bool unbiased(cpu::AdainStats s) { return s == cpu::AdainStats::Port; }

}  // namespace

struct CudaAdainBackend::Impl {
    Context ctx;
    Network encoder, decoder;
    Tensor<float> image;     // device: the input image
    Tensor<float> features;  // device: the mixed features
    Impl(int gpu, const NetModel& enc, const NetModel& dec)
        : ctx(gpu), encoder(ctx, enc.desc, enc.params.data(), kWorkspace),
          decoder(ctx, dec.desc, dec.params.data(), kWorkspace) {}

    void upload(Tensor<float>& dst, const void* src, Shape shape) {
        if (dst.shape() != shape) dst = Tensor<float>(shape, Device::Cuda);
        NST_CUDA_CHECK(
            cudaMemcpyAsync(dst.data(), src, shape.numel() * sizeof(float), cudaMemcpyHostToDevice, ctx.stream()));
    }
    ConstView<float> encode(ConstView<float> rgb) {
        upload(image, rgb.data, rgb.shape);
        return encoder.forward(image.cview(), false);
    }
};

CudaAdainBackend::CudaAdainBackend(int gpu, const NetModel& encoder, const NetModel& decoder)
    : m(std::make_unique<Impl>(gpu, encoder, decoder)) {}

CudaAdainBackend::~CudaAdainBackend() = default;

AdainStyleCode CudaAdainBackend::encode_style(ConstView<float> rgb, cpu::AdainStats stats) {
    const ConstView<float> f = m->encode(rgb);
    const Shape st{1, f.shape.c, 1, 1};
    Tensor<float> mean(st, Device::Cuda), sigma(st, Device::Cuda);
    // The style's sigma: eps under Port, none under Official (nn/adain.h).
    kernels::adain_channel_stats(mean.data(), sigma.data(), f.data, 1, f.shape.c, f.shape.plane(), unbiased(stats),
                                 stats == cpu::AdainStats::Port ? cpu::kAdainEps : 0.0, m->ctx.stream());
    AdainStyleCode code{Tensor<float>(st), Tensor<float>(st)};
    NST_CUDA_CHECK(cudaMemcpyAsync(code.mean.data(), mean.data(), st.numel() * sizeof(float), cudaMemcpyDeviceToHost,
                                   m->ctx.stream()));
    NST_CUDA_CHECK(cudaMemcpyAsync(code.std.data(), sigma.data(), st.numel() * sizeof(float), cudaMemcpyDeviceToHost,
                                   m->ctx.stream()));
    m->ctx.synchronize();
    return code;
}

Tensor<float> CudaAdainBackend::stylize(ConstView<float> rgb, const std::vector<AdainStyleCode>& styles,
                                        const AdainMix& mix) {
    const int k_styles = int(styles.size());
    if (k_styles > kernels::kAdainMaxStyles)
        throw_usage("AdaIN on CUDA takes at most " + std::to_string(kernels::kAdainMaxStyles) + " styles");
    const ConstView<float> f = m->encode(rgb);
    const int c = f.shape.c;
    // The styles' statistics as (K, C) arrays on the device.
    std::vector<float> host_mean, host_sigma;
    for (const AdainStyleCode& s : styles) {
        NST_REQUIRE(s.mean.shape() == (Shape{1, c, 1, 1}), "AdaIN: style statistics do not fit the features");
        host_mean.insert(host_mean.end(), s.mean.begin(), s.mean.end());
        host_sigma.insert(host_sigma.end(), s.std.begin(), s.std.end());
    }
    Tensor<float> style_mean, style_sigma;
    m->upload(style_mean, host_mean.data(), Shape{k_styles, c, 1, 1});
    m->upload(style_sigma, host_sigma.data(), Shape{k_styles, c, 1, 1});
    if (m->features.shape() != f.shape) m->features = Tensor<float>(f.shape, Device::Cuda);
    if (mix.regions.empty()) {
        kernels::AdainWeights w;
        w.count = k_styles;
        for (int k = 0; k < k_styles; ++k) w.w[k] = mix.weights[std::size_t(k)];
        kernels::adain_blend(m->features.data(), f.data, style_mean.data(), style_sigma.data(), w, mix.alpha, 1, c,
                             f.shape.plane(), 1, unbiased(mix.stats), m->ctx.stream());
    } else {
        NST_REQUIRE(mix.regions.size() == f.shape.plane(), "AdaIN: one region label per feature pixel");
        const std::vector<std::size_t> n = cpu::region_pixel_counts(mix.regions, k_styles);
        cpu::check_region_counts(n, mix.stats);
        kernels::AdainRegionCounts counts;
        counts.regions = k_styles;
        for (int k = 0; k < k_styles; ++k) counts.n[k] = (long long)n[std::size_t(k)];
        Buffer labels(mix.regions.size() * sizeof(std::int32_t), Device::Cuda);
        NST_CUDA_CHECK(cudaMemcpyAsync(labels.data(), mix.regions.data(), labels.bytes(), cudaMemcpyHostToDevice,
                                       m->ctx.stream()));
        kernels::adain_regions(m->features.data(), f.data, static_cast<const std::int32_t*>(labels.data()),
                               style_mean.data(), style_sigma.data(), counts, mix.alpha, c, f.shape.plane(),
                               unbiased(mix.stats), m->ctx.stream());
        m->ctx.synchronize();  // labels is freed at the end of this scope
    }
    const ConstView<float> y = m->decoder.forward(m->features.cview(), false);
    Tensor<float> out(y.shape);
    NST_CUDA_CHECK(
        cudaMemcpyAsync(out.data(), y.data, y.numel() * sizeof(float), cudaMemcpyDeviceToHost, m->ctx.stream()));
    m->ctx.synchronize();
    return out;
}

Tensor<float> CudaAdainBackend::last_features() const {
    Tensor<float> out(m->features.shape());
    NST_CUDA_CHECK(cudaMemcpyAsync(out.data(), m->features.data(), out.numel() * sizeof(float), cudaMemcpyDeviceToHost,
                                   m->ctx.stream()));
    m->ctx.synchronize();
    return out;
}

}  // namespace nst::cuda
