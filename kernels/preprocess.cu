// SPDX-License-Identifier: MIT
// Preprocessing kernels: one thread per pixel, all three channels at once (see preprocess.h).
// The constants are those of io/preprocess.cpp. Products and sums use the _rn intrinsics so
// that nvcc cannot contract them into FMAs: each operation rounds as the C++ expression says.
#include "kernels/preprocess.h"

#include "core/error.h"
#include "cuda/check.h"
#include "kernels/common.cuh"

namespace nst::kernels {

namespace {

// Scalars rather than arrays: constexpr scalars are usable in device code, arrays are not.
// caffe: mean of the B, G, R channels in 0..255 units.
constexpr double kCaffeMeanB = 103.939, kCaffeMeanG = 116.779, kCaffeMeanR = 123.68;
// torchvision: ImageNet statistics of the R, G, B channels in 0..1 units.
constexpr double kTorchMeanR = 0.485, kTorchMeanG = 0.456, kTorchMeanB = 0.406;
constexpr double kTorchStdR = 0.229, kTorchStdG = 0.224, kTorchStdB = 0.225;

// The image encoders' clamp (io/quantize.cpp): NaN fails `v > 0` and becomes 0.
__device__ __forceinline__ float clamp_unit(float v) {
    if (!(v > 0.f)) return 0.f;
    if (v >= 1.f) return 1.f;
    return v;
}

// The three planes of pixel `base` of an RGB image, clamped to [0, 1] when asked.
__device__ __forceinline__ void store_rgb(float* rgb, std::size_t base, std::size_t plane, float r, float g, float b,
                                          bool clamp01) {
    rgb[base] = clamp01 ? clamp_unit(r) : r;
    rgb[base + plane] = clamp01 ? clamp_unit(g) : g;
    rgb[base + 2 * plane] = clamp01 ? clamp_unit(b) : b;
}

__global__ void caffe_to_network_kernel(float* x, const float* rgb, std::size_t plane, std::size_t pixels,
                                        double s) {
    const std::size_t stride = std::size_t(gridDim.x) * blockDim.x;
    for (std::size_t p = std::size_t(blockIdx.x) * blockDim.x + threadIdx.x; p < pixels; p += stride) {
        const std::size_t base = (p / plane) * 3 * plane + p % plane;
        const double r = rgb[base], g = rgb[base + plane], b = rgb[base + 2 * plane];
        // Blue goes to channel 0, red to channel 2.
        x[base] = float(__dsub_rn(__dmul_rn(s, b), kCaffeMeanB));
        x[base + plane] = float(__dsub_rn(__dmul_rn(s, g), kCaffeMeanG));
        x[base + 2 * plane] = float(__dsub_rn(__dmul_rn(s, r), kCaffeMeanR));
    }
}

__global__ void torch_to_network_kernel(float* x, const float* rgb, std::size_t plane, std::size_t pixels) {
    const std::size_t stride = std::size_t(gridDim.x) * blockDim.x;
    for (std::size_t p = std::size_t(blockIdx.x) * blockDim.x + threadIdx.x; p < pixels; p += stride) {
        const std::size_t base = (p / plane) * 3 * plane + p % plane;
        const double r = rgb[base], g = rgb[base + plane], b = rgb[base + 2 * plane];
        x[base] = float((r - kTorchMeanR) / kTorchStdR);
        x[base + plane] = float((g - kTorchMeanG) / kTorchStdG);
        x[base + 2 * plane] = float((b - kTorchMeanB) / kTorchStdB);
    }
}

__global__ void caffe_to_image_kernel(float* rgb, const float* x, std::size_t plane, std::size_t pixels, double s,
                                      bool clamp01) {
    const std::size_t stride = std::size_t(gridDim.x) * blockDim.x;
    for (std::size_t p = std::size_t(blockIdx.x) * blockDim.x + threadIdx.x; p < pixels; p += stride) {
        const std::size_t base = (p / plane) * 3 * plane + p % plane;
        const double x0 = x[base], x1 = x[base + plane], x2 = x[base + 2 * plane];
        // x0 is blue, x2 red.
        const float r = float((x2 + kCaffeMeanR) / s);
        const float g = float((x1 + kCaffeMeanG) / s);
        const float b = float((x0 + kCaffeMeanB) / s);
        store_rgb(rgb, base, plane, r, g, b, clamp01);
    }
}

__global__ void torch_to_image_kernel(float* rgb, const float* x, std::size_t plane, std::size_t pixels,
                                      bool clamp01) {
    const std::size_t stride = std::size_t(gridDim.x) * blockDim.x;
    for (std::size_t p = std::size_t(blockIdx.x) * blockDim.x + threadIdx.x; p < pixels; p += stride) {
        const std::size_t base = (p / plane) * 3 * plane + p % plane;
        const double x0 = x[base], x1 = x[base + plane], x2 = x[base + 2 * plane];
        const float r = float(__dadd_rn(__dmul_rn(x0, kTorchStdR), kTorchMeanR));
        const float g = float(__dadd_rn(__dmul_rn(x1, kTorchStdG), kTorchMeanG));
        const float b = float(__dadd_rn(__dmul_rn(x2, kTorchStdB), kTorchMeanB));
        store_rgb(rgb, base, plane, r, g, b, clamp01);
    }
}

void check_scale(const Preprocessor& pre) {
    NST_REQUIRE(pre.kind != PreprocessKind::Caffe || pre.caffe_scale > 0.f, "caffe scale must be positive");
    NST_REQUIRE(!pre.image_space, "the preprocessing kernels map into the network's input, not an image-space iterate");
}

}  // namespace

void to_network(float* x, const float* rgb, int n, std::size_t plane, const Preprocessor& pre, cudaStream_t stream) {
    check_scale(pre);
    const std::size_t pixels = std::size_t(n > 0 ? n : 0) * plane;
    if (pixels == 0) return;
    const int blocks = elementwise_blocks(pixels);
    if (pre.kind == PreprocessKind::Caffe)
        caffe_to_network_kernel<<<blocks, kThreads, 0, stream>>>(x, rgb, plane, pixels, double(pre.caffe_scale));
    else
        torch_to_network_kernel<<<blocks, kThreads, 0, stream>>>(x, rgb, plane, pixels);
    NST_CUDA_CHECK(cudaGetLastError());
}

void to_image(float* rgb, const float* x, int n, std::size_t plane, const Preprocessor& pre, bool clamp01,
              cudaStream_t stream) {
    check_scale(pre);
    const std::size_t pixels = std::size_t(n > 0 ? n : 0) * plane;
    if (pixels == 0) return;
    const int blocks = elementwise_blocks(pixels);
    if (pre.kind == PreprocessKind::Caffe)
        caffe_to_image_kernel<<<blocks, kThreads, 0, stream>>>(rgb, x, plane, pixels, double(pre.caffe_scale),
                                                               clamp01);
    else
        torch_to_image_kernel<<<blocks, kThreads, 0, stream>>>(rgb, x, plane, pixels, clamp01);
    NST_CUDA_CHECK(cudaGetLastError());
}

}  // namespace nst::kernels
