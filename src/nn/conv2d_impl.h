// SPDX-License-Identifier: MIT
// Internals of the CPU 3x3 convolution shared by conv2d.cpp, vgg19.cpp, the tests and the
// benchmarks: the two algorithms with pre-transformed filters, and Conv3x3Layer, which owns one
// layer's weights in every form the algorithms need so that nothing is re-derived per call.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "core/tensor.h"
#include "nn/conv2d.h"

namespace nst::cpu::detail {

// What happens to the convolution's result before it is stored. Applied in the last pass over
// the output (Winograd's output transform), so that fusing costs no extra trip through memory.
template <typename T>
struct ConvEpilogue {
    const T* bias = nullptr;  // (O): added per output channel; nullptr = no bias
    bool relu = false;        // max(., 0) after the bias
    // (1, O, H, W): multiply by (mask > 0). The backward pass uses it to apply the ReLU of the
    // previous layer (mask = that ReLU's output, or its input) while the data gradient is being
    // written.
    const T* mask = nullptr;
    // (1, O, H, W): the same with a compact mask, one byte per value (0 or 1), as positive_out
    // writes it: a quarter (float) of the memory the ReLU's output would take.
    const std::uint8_t* mask_bytes = nullptr;
    // (1, O, H, W): receives 1 where the stored result is > 0 and 0 elsewhere (after bias and
    // ReLU): the compact mask of a fused ReLU for the backward pass, written while the result
    // is still in registers so that making it costs no pass over the output.
    std::uint8_t* positive_out = nullptr;
};

// Per-thread scratch memory that grows and is kept: the OpenMP pool threads live for the whole
// process, so after the first call of a size no allocation (or page fault, or zeroing by the
// kernel) happens in the hot loops. Contents are undefined on return.
enum class ScratchSlot { Im2col, WinogradV, WinogradM, Count };

using ScratchBytes = std::array<std::size_t, std::size_t(ScratchSlot::Count)>;  // per slot

template <typename T>
T* conv_scratch(ScratchSlot slot, std::size_t n) {
    thread_local Buffer bufs[int(ScratchSlot::Count)];
    Buffer& b = bufs[int(slot)];
    if (b.bytes() < n * sizeof(T)) b = Buffer(n * sizeof(T), Device::Host);
    return static_cast<T*>(b.data());
}

// ---- Direct: im2col + BLAS GEMM -------------------------------------------------------------
template <typename T>
void direct_forward(TensorView<T> y,  // (1, O, H, W)
                    ConstView<T> x,   // (1, I, H, W)
                    ConstView<T> w,   // (O, I, 3, 3)
                    const ConvEpilogue<T>& ep);

// GEMM with the transposed weights, then col2im (no flipped copy of the weights needed).
template <typename T>
void direct_backward_data(TensorView<T> dx,            // (1, I, H, W)
                          ConstView<T> dy,             // (1, O, H, W)
                          ConstView<T> w,              // (O, I, 3, 3)
                          const ConvEpilogue<T>& ep);  // bias, relu and positive_out must be off

// conv_scratch bytes that direct_forward (channels = I) or direct_backward_data (channels = I,
// the channels of dx) takes for an H x W image: the im2col band, on the calling thread only.
ScratchBytes direct_scratch_bytes(int channels, int h, int w, std::size_t elem_bytes);

// The backward-data kernel of a stride-1 pad-1 3x3 convolution as a forward kernel:
// wf[i][o][ky][kx] = w[o][i][2 - ky][2 - kx]. conv(dy, wf) = conv3x3_backward_data(dy, w).
template <typename T>
Tensor<T> flip_weights(ConstView<T> w);  // (O, I, 3, 3) -> (I, O, 3, 3)

// ---- Winograd F(2x2, 3x3) ---------------------------------------------------------------------
// Filters transformed once (U = G g G^T, 16 values per (o, i)) and packed in the order the GEMM
// micro-kernel reads them.
template <typename T>
class WinogradFilter {
public:
    WinogradFilter() = default;
    explicit WinogradFilter(ConstView<T> w);  // (O, I, 3, 3)
    int out_channels() const { return m_out; }
    int in_channels() const { return m_in; }
    bool empty() const { return m_packed.empty(); }
    const T* packed() const { return m_packed.data(); }
    std::size_t xi_stride() const { return m_xi_stride; }  // elements between transform positions

private:
    Tensor<T> m_packed;  // [16][O / MR][I][MR], O padded to a multiple of MR with zeros
    int m_out = 0, m_in = 0;
    std::size_t m_xi_stride = 0;
};

// unpadded: a valid convolution of x (1, I, H + 2, W + 2) (no padding; e.g. after an explicit
// reflection pad, nn/convolution.h); otherwise zero padding 1 of x (1, I, H, W).
template <typename T>
void winograd_forward(TensorView<T> y,  // (1, O, H, W)
                      ConstView<T> x,   // (1, I, H, W) or (1, I, H + 2, W + 2) when unpadded
                      const WinogradFilter<T>& filter, const ConvEpilogue<T>& ep, bool unpadded = false);

// An upper bound of the conv_scratch bytes winograd_forward takes per thread for an I -> O
// convolution of an H x W image, whatever the thread count (V and M blocks; a backward pass is
// the forward of the flipped filter, O -> I).
ScratchBytes winograd_scratch_bytes(int in, int out, int h, int w, std::size_t elem_bytes);

// ---- One convolution layer ----------------------------------------------------------------------
// Owns the weights converted to T and, made on first use, the Winograd filters of both
// directions (backward: of the flipped weights). Layers a run never reaches cost no transform.
template <typename T>
class Conv3x3Layer {
public:
    Conv3x3Layer() = default;
    Conv3x3Layer(ConstView<float> w,  // (O, I, 3, 3)
                 ConstView<float> b,  // (1, O, 1, 1)
                 ConvAlgo algo);
    int out_channels() const { return m_out; }
    int in_channels() const { return m_in; }
    ConvAlgo forward_algo() const { return m_fwd_algo; }
    ConvAlgo backward_algo() const { return m_bwd_algo; }

    // y = conv(x) + b, relu if asked. Assigns y, and positive_out = (y > 0) when given.
    void forward(TensorView<T> y,  // (1, O, H, W)
                 ConstView<T> x,   // (1, I, H, W)
                 bool relu,
                 std::uint8_t* positive_out = nullptr);  // (1, O, H, W) or nullptr
    // dx = conv^T(dy), then multiplied by (mask > 0) when mask is given, by (mask_bytes != 0)
    // when mask_bytes is. Assigns dx.
    void backward(TensorView<T> dx,  // (1, I, H, W)
                  ConstView<T> dy,   // (1, O, H, W)
                  const T* mask,     // (1, I, H, W) or nullptr
                  const std::uint8_t* mask_bytes = nullptr);  // (1, I, H, W) or nullptr

private:
    Tensor<T> m_w, m_b;  // (O, I, 3, 3), (1, O, 1, 1)
    WinogradFilter<T> m_wino_fwd, m_wino_bwd;
    int m_out = 0, m_in = 0;
    ConvAlgo m_fwd_algo = ConvAlgo::Direct, m_bwd_algo = ConvAlgo::Direct;
};

// Resolves Auto. Float: Winograd, measured faster than Direct for every VGG19 convolution in
// both directions, conv1_1 (3 -> 64) included: it writes the output once with bias and ReLU
// fused, where Direct writes an im2col matrix and makes a second pass for the epilogue
// (256x256, one thread: forward 3.2 vs 9.3 ms, backward 5.0 vs 5.0 ms; two threads 1.9 vs 23
// and 2.6 vs 16 ms, as OpenBLAS does not parallelise the K = 27 GEMM well). Double: Direct, the
// exact reference that finite-difference tests want, and OpenBLAS's dgemm outruns the portable
// double micro-kernel of Winograd.
template <typename T>
ConvAlgo resolve_algo(ConvAlgo algo) {
    if (algo != ConvAlgo::Auto) return algo;
    return std::is_same_v<T, double> ? ConvAlgo::Direct : ConvAlgo::Winograd;
}

}  // namespace nst::cpu::detail
