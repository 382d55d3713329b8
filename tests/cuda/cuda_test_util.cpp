// SPDX-License-Identifier: MIT
#include "cuda_test_util.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>

#include "core/device_memory.h"
#include "core/error.h"
#include "core/rng.h"
#include "cuda/check.h"
#include "nn/conv2d.h"
#include "nn/pool.h"
#include "nn/relu.h"

namespace nst::test::gpu {

cuda::Context& context() {
    // Never destroyed: at exit the CUDA runtime may already be shutting down.
    static cuda::Context* ctx = new cuda::Context(0);
    return *ctx;
}

void copy_to_device(void* dst, const void* src, std::size_t bytes) {
    device_memory::copy(dst, src, bytes, true, false);
    // A pageable host-to-device cudaMemcpy may return before the DMA has finished; work queued
    // afterwards on a non-blocking stream must not see the old bytes.
    NST_CUDA_CHECK(cudaDeviceSynchronize());
}

void copy_to_host(void* dst, const void* src, std::size_t bytes) { device_memory::copy(dst, src, bytes, false, true); }

Tensor<float> upload(ConstView<float> host) {
    NST_REQUIRE(host.device == Device::Host, "upload: host tensor expected");
    Tensor<float> d(host.shape, Device::Cuda);
    if (host.numel() > 0) copy_to_device(d.data(), host.data, host.numel() * sizeof(float));
    return d;
}

void upload_into(TensorView<float> device, ConstView<float> host) {
    NST_REQUIRE(device.device == Device::Cuda && host.device == Device::Host && device.shape == host.shape,
                "upload_into: shapes " + device.shape.str() + " and " + host.shape.str());
    if (host.numel() > 0) copy_to_device(device.data, host.data, host.numel() * sizeof(float));
}

Tensor<float> download(ConstView<float> device) {
    NST_REQUIRE(device.device == Device::Cuda, "download: device view expected");
    Tensor<float> h(device.shape);
    if (device.numel() > 0) copy_to_host(h.data(), device.data, device.numel() * sizeof(float));
    return h;
}

Tensor<double> download_double(ConstView<float> device) {
    const Tensor<float> h = download(device);
    return cast<double, float>(h.cview());
}

std::vector<int> relu_layers_upto(int deepest) {
    std::vector<int> k;
    for (int i = 0; i <= deepest && i < kNumLayers; ++i)
        if (vgg19_layers()[i].kind == LayerKind::Relu) k.push_back(i);
    return k;
}

std::vector<int> merge_layers(std::vector<int> a, const std::vector<int>& b) {
    a.insert(a.end(), b.begin(), b.end());
    std::sort(a.begin(), a.end());
    a.erase(std::unique(a.begin(), a.end()), a.end());
    return a;
}

std::vector<int> layers_by_name(const std::vector<std::string>& names) {
    std::vector<int> k;
    for (const auto& n : names) k.push_back(layer_index(n));
    return k;
}

Tensor<double> reference_backward(const Vgg19Weights& weights, Pooling pooling, int h, int w,
                                  const std::map<int, Tensor<float>>& relu_outputs,
                                  const std::map<int, Tensor<double>>& taps) {
    const auto& layers = vgg19_layers();
    const int deepest = taps.empty() ? -1 : taps.rbegin()->first;
    auto decision = [&](int k) -> Tensor<double> {
        const auto it = relu_outputs.find(k);
        NST_REQUIRE(it != relu_outputs.end(), "reference_backward: no ReLU output for layer " + layers[k].name);
        return cast<double, float>(it->second.cview());
    };
    Tensor<double> g;  // gradient w.r.t. the output of layer k
    for (int k = deepest; k >= 0; --k) {
        if (const auto t = taps.find(k); t != taps.end()) {
            if (g.empty()) g = filled(t->second.shape(), 0.0);
            NST_REQUIRE(g.shape() == t->second.shape(), "reference_backward: tap shape at " + layers[k].name);
            for (std::size_t j = 0; j < g.numel(); ++j) g[j] += t->second[j];
        }
        if (g.empty()) continue;
        switch (layers[k].kind) {
            case LayerKind::Relu: {
                const Tensor<double> y = decision(k);
                cpu::relu_backward<double>(g.view(), g.cview(), y.cview());
                break;
            }
            case LayerKind::Pool: {
                const Tensor<double> x = decision(k - 1);  // the pool's input is the ReLU below
                Tensor<double> dx(x.shape());
                cpu::pool2x2_backward<double>(dx.view(), g.cview(), x.cview(), pooling);
                g = std::move(dx);
                break;
            }
            case LayerKind::Conv: {
                const int c = layers[k].conv;
                const Tensor<double> wd = cast<double, float>(weights.conv[c].weight.cview());
                Tensor<double> dx(Shape{1, conv_in_channels(c), g.shape().h, g.shape().w});
                cpu::conv3x3_backward_data<double>(dx.view(), g.cview(), wd.cview(), cpu::ConvAlgo::Direct);
                g = std::move(dx);
                break;
            }
        }
    }
    if (g.empty()) return filled(Shape{1, 3, h, w}, 0.0);
    NST_REQUIRE(g.shape() == (Shape{1, 3, h, w}), "reference_backward: dx shape " + g.shape().str());
    return g;
}

Tensor<float> test_image(Shape shape, std::uint64_t stream, double scale, double offset) {
    Tensor<float> x(shape);
    for (std::size_t j = 0; j < x.numel(); ++j) x[j] = float(scale * rng::uniform(4242, stream, j) + offset);
    return x;
}

double max_abs(ConstView<float> a) {
    double m = 0;
    for (std::size_t i = 0; i < a.numel(); ++i) m = std::max(m, double(std::fabs(a[i])));
    return m;
}

}  // namespace nst::test::gpu
