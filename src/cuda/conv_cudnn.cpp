// SPDX-License-Identifier: MIT
// Conv3x3Cudnn: descriptors, weight upload, per-size algorithm choice and the cuDNN calls.
//
// Algorithm choice uses cuDNN's heuristics (cudnnGet..._v7), not cudnnFind...Ex. Find ranks
// algorithms by timing them, and timings are noisy: two runs of the same problem could pick
// different algorithms and so differ in the last bits, while bit-reproducible runs are
// required. The heuristics' ranking depends only on the GPU, the cuDNN version and the
// problem, so the choice is the same every run. It also needs no trial buffers, so prepare()
// never allocates a search workspace next to the real one. We take the first entry of that
// ranking (best first) that reports success and CUDNN_DETERMINISTIC, whose math type suits the
// precision, and whose workspace, queried again under the math type it will run with, fits
// the limit.
//
// Precision:
//   Fp32  float tensors, CUDNN_FMA_MATH on every call: no TF32, results comparable with the
//         CPU oracle. Entries reported with a tensor-op math type are rejected as well.
//   Tf32  float tensors, CUDNN_TENSOR_OP_MATH: TF32 tensor cores allowed.
//   Bf16  bf16 x, w, y with float accumulation (cuDNN's PSEUDO_BFLOAT16 configuration); the
//         float activations are cast into the net's bf16 staging buffers around each call.
// For Tf32 and Bf16 the descriptor is set to the math type the chosen entry reports before
// each call, as cuDNN pairs an algorithm with its math type.
#include "cuda/conv_cudnn.h"

#include <algorithm>
#include <map>
#include <utility>
#include <vector>

#include "cuda/check.h"
#include "cuda/cudnn_desc.h"
#include "kernels/bias_relu.h"
#include "kernels/cast.h"

namespace nst::cuda {

namespace {

bool is_tensor_op(cudnnMathType_t math) {
    return math == CUDNN_TENSOR_OP_MATH || math == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION;
}

// The math type the descriptor carries while the heuristics rank algorithms.
cudnnMathType_t requested_math(Precision p) { return p == Precision::Fp32 ? CUDNN_FMA_MATH : CUDNN_TENSOR_OP_MATH; }

// The math type a call runs with, given the entry the heuristics reported.
cudnnMathType_t call_math(Precision p, cudnnMathType_t reported) {
    return p == Precision::Fp32 ? CUDNN_FMA_MATH : reported;
}

std::string mib(std::size_t bytes) { return std::to_string((bytes + (std::size_t(1) << 20) - 1) >> 20) + " MiB"; }

}  // namespace

struct Conv3x3Cudnn::Impl {
    // What one input size needs: its tensor descriptors and the chosen algorithms.
    struct Plan {
        TensorDesc x, y;  // (1, I, h, w), (1, O, h, w) in the data type of the precision
        cudnnConvolutionFwdAlgo_t fwd_algo = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM;
        cudnnMathType_t fwd_math = CUDNN_DEFAULT_MATH;
        std::size_t fwd_bytes = 0;
        cudnnConvolutionBwdDataAlgo_t bwd_algo = CUDNN_CONVOLUTION_BWD_DATA_ALGO_1;
        cudnnMathType_t bwd_math = CUDNN_DEFAULT_MATH;
        std::size_t bwd_bytes = 0;
    };

    Context& ctx;
    std::string name;
    Precision precision;
    std::size_t workspace_limit;
    cudnnDataType_t dtype;
    int out_ch = 0, in_ch = 0;
    Tensor<float> w;                 // (O, I, 3, 3) device; empty for Bf16
    Tensor<__nv_bfloat16> w16;       // (O, I, 3, 3) device; Bf16 only
    Tensor<float> b;                 // (1, O, 1, 1) device
    FilterDesc wdesc;
    ConvDesc conv;
    std::map<std::pair<int, int>, std::unique_ptr<Plan>> plans;

    Impl(Context& c, const std::string& n, Precision p, std::size_t limit)
        : ctx(c), name(n), precision(p), workspace_limit(limit),
          dtype(p == Precision::Bf16 ? CUDNN_DATA_BFLOAT16 : CUDNN_DATA_FLOAT) {}

    const void* weights() const {
        return precision == Precision::Bf16 ? static_cast<const void*>(w16.data()) : static_cast<const void*>(w.data());
    }

    std::string where(int h, int w_) const {
        return name + " at " + std::to_string(h) + "x" + std::to_string(w_) + " (" + precision_name(precision) + ")";
    }

    const Plan& plan(int h, int w_) const {
        const auto it = plans.find({h, w_});
        NST_REQUIRE(it != plans.end(), "Conv3x3Cudnn: " + where(h, w_) + " was not prepared");
        return *it->second;
    }

    void set_math(cudnnMathType_t math) { NST_CUDNN_CHECK(cudnnSetConvolutionMathType(conv.get(), math)); }

    void choose_forward(Plan& p, int h, int w_) {
        int max_count = 0;
        NST_CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithmMaxCount(ctx.cudnn(), &max_count));
        std::vector<cudnnConvolutionFwdAlgoPerf_t> perf(std::size_t(max_count > 0 ? max_count : 1));
        int count = 0;
        set_math(requested_math(precision));
        NST_CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(ctx.cudnn(), p.x.get(), wdesc.get(), conv.get(),
                                                                p.y.get(), int(perf.size()), &count, perf.data()));
        for (int i = 0; i < count; ++i) {
            const cudnnConvolutionFwdAlgoPerf_t& r = perf[std::size_t(i)];
            if (r.status != CUDNN_STATUS_SUCCESS || r.determinism != CUDNN_DETERMINISTIC) continue;
            if (precision == Precision::Fp32 && is_tensor_op(r.mathType)) continue;
            const cudnnMathType_t math = call_math(precision, r.mathType);
            set_math(math);
            std::size_t bytes = 0;
            // Not checked: an algorithm cuDNN cannot size for this problem is simply skipped.
            if (cudnnGetConvolutionForwardWorkspaceSize(ctx.cudnn(), p.x.get(), wdesc.get(), conv.get(), p.y.get(),
                                                        r.algo, &bytes) != CUDNN_STATUS_SUCCESS)
                continue;
            if (bytes > workspace_limit) continue;
            p.fwd_algo = r.algo;
            p.fwd_math = math;
            p.fwd_bytes = bytes;
            return;
        }
        throw_runtime("cuDNN offers no deterministic forward algorithm for " + where(h, w_) +
                      " within the workspace limit of " + mib(workspace_limit));
    }

    void choose_backward(Plan& p, int h, int w_) {
        int max_count = 0;
        NST_CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithmMaxCount(ctx.cudnn(), &max_count));
        std::vector<cudnnConvolutionBwdDataAlgoPerf_t> perf(std::size_t(max_count > 0 ? max_count : 1));
        int count = 0;
        set_math(requested_math(precision));
        // Backward data maps dy (the forward's y) to dx (the forward's x).
        NST_CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithm_v7(ctx.cudnn(), wdesc.get(), p.y.get(), conv.get(),
                                                                     p.x.get(), int(perf.size()), &count,
                                                                     perf.data()));
        for (int i = 0; i < count; ++i) {
            const cudnnConvolutionBwdDataAlgoPerf_t& r = perf[std::size_t(i)];
            if (r.status != CUDNN_STATUS_SUCCESS || r.determinism != CUDNN_DETERMINISTIC) continue;
            if (precision == Precision::Fp32 && is_tensor_op(r.mathType)) continue;
            const cudnnMathType_t math = call_math(precision, r.mathType);
            set_math(math);
            std::size_t bytes = 0;
            if (cudnnGetConvolutionBackwardDataWorkspaceSize(ctx.cudnn(), wdesc.get(), p.y.get(), conv.get(),
                                                             p.x.get(), r.algo, &bytes) != CUDNN_STATUS_SUCCESS)
                continue;
            if (bytes > workspace_limit) continue;
            p.bwd_algo = r.algo;
            p.bwd_math = math;
            p.bwd_bytes = bytes;
            return;
        }
        throw_runtime("cuDNN offers no deterministic backward-data algorithm for " + where(h, w_) +
                      " within the workspace limit of " + mib(workspace_limit));
    }
};

Conv3x3Cudnn::Conv3x3Cudnn(Context& ctx, const std::string& name, ConstView<float> weight, ConstView<float> bias,
                           Precision precision, std::size_t workspace_limit)
    : m(std::make_unique<Impl>(ctx, name, precision, workspace_limit)) {
    NST_REQUIRE(weight.device == Device::Host && bias.device == Device::Host,
                "Conv3x3Cudnn: " + name + " weights must be host tensors");
    NST_REQUIRE(weight.shape.h == 3 && weight.shape.w == 3 && weight.shape.n > 0 && weight.shape.c > 0,
                "Conv3x3Cudnn: " + name + " weights must be (O, I, 3, 3), got " + weight.shape.str());
    NST_REQUIRE(bias.numel() == std::size_t(weight.shape.n),
                "Conv3x3Cudnn: " + name + " bias must be (1, O, 1, 1), got " + bias.shape.str());
    Impl& s = *m;
    s.out_ch = weight.shape.n;
    s.in_ch = weight.shape.c;
    const cudaStream_t stream = ctx.stream();

    // Copies from pageable host memory are staged before cudaMemcpyAsync returns, so the host
    // tensors may go away afterwards; the stream orders the copies before any use.
    Tensor<float> w(weight.shape, Device::Cuda);
    NST_CUDA_CHECK(cudaMemcpyAsync(w.data(), weight.data, weight.numel() * sizeof(float), cudaMemcpyHostToDevice,
                                   stream));
    s.b = Tensor<float>(Shape{1, s.out_ch, 1, 1}, Device::Cuda);
    NST_CUDA_CHECK(cudaMemcpyAsync(s.b.data(), bias.data, bias.numel() * sizeof(float), cudaMemcpyHostToDevice,
                                   stream));
    if (precision == Precision::Bf16) {
        // Rounded on the device by the same kernel as the activations; the float copy is then
        // dropped, once the cast has run.
        s.w16 = Tensor<__nv_bfloat16>(weight.shape, Device::Cuda);
        kernels::float_to_bf16(s.w16.data(), w.data(), w.numel(), stream);
        ctx.synchronize();
    } else {
        s.w = std::move(w);
    }

    NST_CUDNN_CHECK(cudnnSetFilter4dDescriptor(s.wdesc.get(), s.dtype, CUDNN_TENSOR_NCHW, s.out_ch, s.in_ch, 3, 3));
    // Cross-correlation (no kernel flip), as PyTorch's and the CPU's convolution; float
    // accumulation for every precision.
    NST_CUDNN_CHECK(cudnnSetConvolution2dDescriptor(s.conv.get(), 1, 1, 1, 1, 1, 1, CUDNN_CROSS_CORRELATION,
                                                    CUDNN_DATA_FLOAT));
    s.set_math(requested_math(precision));
}

Conv3x3Cudnn::~Conv3x3Cudnn() = default;

int Conv3x3Cudnn::in_channels() const { return m->in_ch; }

int Conv3x3Cudnn::out_channels() const { return m->out_ch; }

std::size_t Conv3x3Cudnn::prepare(int h, int w) {
    Impl& s = *m;
    NST_REQUIRE(h > 0 && w > 0, "Conv3x3Cudnn::prepare: bad size " + std::to_string(h) + "x" + std::to_string(w));
    auto it = s.plans.find({h, w});
    if (it == s.plans.end()) {
        auto p = std::make_unique<Impl::Plan>();
        NST_CUDNN_CHECK(cudnnSetTensor4dDescriptor(p->x.get(), CUDNN_TENSOR_NCHW, s.dtype, 1, s.in_ch, h, w));
        NST_CUDNN_CHECK(cudnnSetTensor4dDescriptor(p->y.get(), CUDNN_TENSOR_NCHW, s.dtype, 1, s.out_ch, h, w));
        int on = 0, oc = 0, oh = 0, ow = 0;
        NST_CUDNN_CHECK(
            cudnnGetConvolution2dForwardOutputDim(s.conv.get(), p->x.get(), s.wdesc.get(), &on, &oc, &oh, &ow));
        NST_REQUIRE(on == 1 && oc == s.out_ch && oh == h && ow == w,
                    "Conv3x3Cudnn: cuDNN's output size for " + s.where(h, w) + " is not the input size");
        s.choose_forward(*p, h, w);
        s.choose_backward(*p, h, w);
        it = s.plans.emplace(std::make_pair(h, w), std::move(p)).first;
    }
    return std::max(it->second->fwd_bytes, it->second->bwd_bytes);
}

void Conv3x3Cudnn::forward(TensorView<float> y, ConstView<float> x, bool relu, const ConvScratch& scratch) {
    Impl& s = *m;
    NST_REQUIRE(x.device == Device::Cuda && y.device == Device::Cuda, "Conv3x3Cudnn::forward needs device tensors");
    NST_REQUIRE(x.shape.n == 1 && x.shape.c == s.in_ch && y.shape == (Shape{1, s.out_ch, x.shape.h, x.shape.w}),
                "Conv3x3Cudnn::forward: " + s.name + " shapes " + x.shape.str() + " -> " + y.shape.str());
    const Impl::Plan& p = s.plan(x.shape.h, x.shape.w);
    NST_REQUIRE(scratch.workspace_bytes >= p.fwd_bytes && (p.fwd_bytes == 0 || scratch.workspace),
                "Conv3x3Cudnn::forward: workspace too small for " + s.name);
    const cudaStream_t stream = s.ctx.stream();
    const float one = 1.f, zero = 0.f;  // float scaling factors for float and bf16 data
    s.set_math(p.fwd_math);
    const std::size_t plane = std::size_t(x.shape.h) * std::size_t(x.shape.w);
    if (s.precision == Precision::Bf16) {
        NST_REQUIRE(scratch.in16 && scratch.out16 && scratch.elems16 >= x.numel() && scratch.elems16 >= y.numel(),
                    "Conv3x3Cudnn::forward: bf16 staging buffers too small for " + s.name);
        kernels::float_to_bf16(scratch.in16, x.data, x.numel(), stream);
        NST_CUDNN_CHECK(cudnnConvolutionForward(s.ctx.cudnn(), &one, p.x.get(), scratch.in16, s.wdesc.get(),
                                                s.weights(), s.conv.get(), p.fwd_algo, scratch.workspace, p.fwd_bytes,
                                                &zero, p.y.get(), scratch.out16));
        kernels::bf16_to_float_bias_act(y.data, scratch.out16, s.b.data(), s.out_ch, plane, relu, stream);
    } else {
        NST_CUDNN_CHECK(cudnnConvolutionForward(s.ctx.cudnn(), &one, p.x.get(), x.data, s.wdesc.get(), s.weights(),
                                                s.conv.get(), p.fwd_algo, scratch.workspace, p.fwd_bytes, &zero,
                                                p.y.get(), y.data));
        kernels::bias_act(y.data, y.data, s.b.data(), s.out_ch, plane, relu, stream);
    }
}

void Conv3x3Cudnn::backward_data(TensorView<float> dx, ConstView<float> dy, const float* mask,
                                 const ConvScratch& scratch) {
    Impl& s = *m;
    NST_REQUIRE(dx.device == Device::Cuda && dy.device == Device::Cuda,
                "Conv3x3Cudnn::backward_data needs device tensors");
    NST_REQUIRE(dy.shape.n == 1 && dy.shape.c == s.out_ch && dx.shape == (Shape{1, s.in_ch, dy.shape.h, dy.shape.w}),
                "Conv3x3Cudnn::backward_data: " + s.name + " shapes " + dy.shape.str() + " -> " + dx.shape.str());
    const Impl::Plan& p = s.plan(dy.shape.h, dy.shape.w);
    NST_REQUIRE(scratch.workspace_bytes >= p.bwd_bytes && (p.bwd_bytes == 0 || scratch.workspace),
                "Conv3x3Cudnn::backward_data: workspace too small for " + s.name);
    const cudaStream_t stream = s.ctx.stream();
    const float one = 1.f, zero = 0.f;
    s.set_math(p.bwd_math);
    if (s.precision == Precision::Bf16) {
        NST_REQUIRE(scratch.in16 && scratch.out16 && scratch.elems16 >= dx.numel() && scratch.elems16 >= dy.numel(),
                    "Conv3x3Cudnn::backward_data: bf16 staging buffers too small for " + s.name);
        kernels::float_to_bf16(scratch.in16, dy.data, dy.numel(), stream);
        NST_CUDNN_CHECK(cudnnConvolutionBackwardData(s.ctx.cudnn(), &one, s.wdesc.get(), s.weights(), p.y.get(),
                                                     scratch.in16, s.conv.get(), p.bwd_algo, scratch.workspace,
                                                     p.bwd_bytes, &zero, p.x.get(), scratch.out16));
        if (mask)
            kernels::bf16_to_float_masked(dx.data, scratch.out16, mask, dx.numel(), stream);
        else
            kernels::bf16_to_float(dx.data, scratch.out16, dx.numel(), stream);
    } else {
        NST_CUDNN_CHECK(cudnnConvolutionBackwardData(s.ctx.cudnn(), &one, s.wdesc.get(), s.weights(), p.y.get(),
                                                     dy.data, s.conv.get(), p.bwd_algo, scratch.workspace,
                                                     p.bwd_bytes, &zero, p.x.get(), dx.data));
        if (mask) kernels::relu_mask(dx.data, mask, dx.numel(), stream);
    }
}

}  // namespace nst::cuda
