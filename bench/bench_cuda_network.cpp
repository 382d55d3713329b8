// SPDX-License-Identifier: MIT
// CUDA benchmarks of the feed-forward transformer (issue #12), the GPU twins of bench_network.cpp
// and the nst side of `bench/torch_transformer.py --device cuda` (built only with the CUDA
// backend; without a device each case reports "no CUDA device" and is skipped):
//
//   BM_cuda_network_forward/size:S     TransformerNet (pytorch/examples layout, full width,
//       torch-default init) inference on one S x S image: forward(x, false).
//   BM_cuda_network_train/batch:N/size:S/vgg:V   one training step's device work at batch N:
//       V = 0: the transformer alone, forward(x, true) + backward to every parameter (zeroed
//       first; a fixed dy, no input gradient), as BM_transformer_train on the CPU;
//       V = 1: plus the VGG16 loss network as pytorch/examples runs it (random16 weights, taps
//       relu1_2 relu2_2 relu3_3 relu4_3): per image, a forward of the input x (content target)
//       and of the output y, and the backward from the taps to dy. The loss kernels themselves
//       (4 Grams and MSEs per image, a few % of the step on the CPU) and the Adam update over
//       1.7 M parameters are left out, and cuda::VggNet takes one image at a time, so this is a
//       lower bound of a CUDA training step, to put beside PyTorch's full step.
//
// fp32 throughout (cuDNN without TF32, as nst computes). Timing: CUDA events around the work on
// the context's stream (UseManualTime); counters ms_per_iter and peak_MiB (nst's device
// allocations).
#ifdef NST_HAVE_CUDA
#include <benchmark/benchmark.h>
#include <cuda_runtime.h>

#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "bench_cuda_util.h"
#include "core/device_memory.h"
#include "core/rng.h"
#include "cuda/check.h"
#include "cuda/context.h"
#include "cuda/device_stats.h"
#include "cuda/network_cuda.h"
#include "cuda/vgg19_cuda.h"
#include "engine/engine.h"
#include "nn/net_model.h"
#include "nn/transformer_net.h"
#include "nn/vgg19_layers.h"
#include "nn/weights.h"

namespace {

using nst::bench::time_on_stream;

// Uniform [0, 255) RGB, as bench_network.cpp's inputs.
nst::Tensor<float> device_image(nst::Shape s, std::uint64_t stream) { return nst::bench::device_uniform(s, 255, 5, stream); }

void BM_cuda_network_forward(benchmark::State& state) {
    if (nst::cuda_device_count() == 0) {
        state.SkipWithError("no CUDA device");
        return;
    }
    const int size = int(state.range(0));
    try {
        nst::cuda::Context ctx(0);
        nst::cuda::reset_device_peak();
        const nst::NetDesc d = nst::transformer_net_desc(nst::TransformerLayout::PytorchExamples);
        const std::vector<float> p = nst::init_params(d, 1);
        nst::cuda::Network net(ctx, d, p.data(), nst::CudaOptions{}.workspace_limit);
        const nst::Tensor<float> x = device_image(nst::Shape{1, 3, size, size}, 0);
        time_on_stream(state, ctx, [&] { benchmark::DoNotOptimize(net.forward(x.cview(), false).data); });
    } catch (const std::exception& e) {
        state.SkipWithError(e.what());
    }
}

// pytorch/examples' loss layers in VGG16.
constexpr const char* kVgg16Taps[] = {"relu1_2", "relu2_2", "relu3_3", "relu4_3"};

void BM_cuda_network_train(benchmark::State& state) {
    if (nst::cuda_device_count() == 0) {
        state.SkipWithError("no CUDA device");
        return;
    }
    const int batch = int(state.range(0));
    const int size = int(state.range(1));
    const bool with_vgg = state.range(2) != 0;
    try {
        nst::cuda::Context ctx(0);
        nst::cuda::reset_device_peak();
        const nst::NetDesc d = nst::transformer_net_desc(nst::TransformerLayout::PytorchExamples);
        const std::vector<float> p = nst::init_params(d, 1);
        nst::cuda::Network net(ctx, d, p.data(), nst::CudaOptions{}.workspace_limit);
        const nst::Shape xs{batch, 3, size, size};
        const nst::Tensor<float> x = device_image(xs, 0);
        nst::Tensor<float> dy = device_image(xs, 1);  // fixed; its values do not change the work
        nst::Tensor<float> grads(nst::Shape{1, 1, 1, int(nst::param_count(d))}, nst::Device::Cuda);

        std::unique_ptr<nst::cuda::VggNet> vgg;
        if (with_vgg) {
            static const nst::VggWeights w16 = nst::random_weights(0, nst::VggArch::Vgg16);
            vgg = std::make_unique<nst::cuda::VggNet>(ctx, w16, nst::Pooling::Max, nst::Precision::Fp32,
                                                      nst::CudaOptions{}.workspace_limit);
            std::vector<int> taps;
            for (const char* name : kVgg16Taps) taps.push_back(nst::layer_index(name, nst::VggArch::Vgg16));
            vgg->set_taps(taps);
            vgg->prepare(size, size);
        }
        const std::size_t image = std::size_t(3) * size * size;
        auto once = [&] {
            const nst::ConstView<float> y = net.forward(x.cview(), true);
            if (vgg) {
                for (int b = 0; b < batch; ++b) {
                    const nst::Shape one{1, 3, size, size};
                    vgg->forward(nst::ConstView<float>(x.data() + std::size_t(b) * image, one, nst::Device::Cuda));
                    vgg->forward(nst::ConstView<float>(y.data + std::size_t(b) * image, one, nst::Device::Cuda));
                    vgg->zero_grads();
                    vgg->backward(nst::TensorView<float>(dy.data() + std::size_t(b) * image, one, nst::Device::Cuda));
                }
            }
            NST_CUDA_CHECK(cudaMemsetAsync(grads.data(), 0, grads.numel() * sizeof(float), ctx.stream()));
            net.backward(dy.cview(), nst::TensorView<float>(), grads.data());
        };
        time_on_stream(state, ctx, once);
    } catch (const std::exception& e) {
        state.SkipWithError(e.what());
    }
}

}  // namespace

BENCHMARK(BM_cuda_network_forward)
    ->ArgsProduct({{512, 1024}})
    ->ArgNames({"size"})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->MinTime(0.5);
BENCHMARK(BM_cuda_network_train)
    ->ArgsProduct({{4}, {256}, {0, 1}})
    ->ArgNames({"batch", "size", "vgg"})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->MinTime(0.5);

#endif  // NST_HAVE_CUDA
