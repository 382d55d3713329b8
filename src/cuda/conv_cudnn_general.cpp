// SPDX-License-Identifier: MIT
// ConvCudnn: descriptors, per-shape algorithm choice and the three cuDNN calls (see
// conv_cudnn_general.h). fp32 with CUDNN_FMA_MATH on every call, so that results are comparable
// with the CPU network; entries the heuristics report with a tensor-op math type are skipped.
#include "cuda/conv_cudnn_general.h"

#include <algorithm>
#include <map>
#include <tuple>
#include <utility>
#include <vector>

#include "cuda/check.h"
#include "cuda/cudnn_desc.h"

namespace nst::cuda {

namespace {

std::string mib(std::size_t bytes) { return std::to_string((bytes + (std::size_t(1) << 20) - 1) >> 20) + " MiB"; }

bool usable(cudnnStatus_t status, cudnnDeterminism_t det, cudnnMathType_t math) {
    return status == CUDNN_STATUS_SUCCESS && det == CUDNN_DETERMINISTIC && math != CUDNN_TENSOR_OP_MATH &&
           math != CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION;
}

// The first entry of the heuristics' ranking that is usable and whose workspace (queried by
// `bytes_of`, which returns false when cuDNN cannot size it) fits the limit.
template <typename Perf, typename Algo, typename BytesOf>
bool pick(const std::vector<Perf>& perf, int count, std::size_t limit, BytesOf bytes_of, Algo& algo,
          std::size_t& bytes) {
    for (int i = 0; i < count; ++i) {
        const Perf& r = perf[std::size_t(i)];
        if (!usable(r.status, r.determinism, r.mathType)) continue;
        std::size_t b = 0;
        if (!bytes_of(r.algo, b) || b > limit) continue;
        algo = r.algo;
        bytes = b;
        return true;
    }
    return false;
}

}  // namespace

struct ConvCudnn::Impl {
    struct Plan {
        TensorDesc x, y;
        cudnnConvolutionFwdAlgo_t fwd = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM;
        cudnnConvolutionBwdDataAlgo_t bwd_data = CUDNN_CONVOLUTION_BWD_DATA_ALGO_1;
        cudnnConvolutionBwdFilterAlgo_t bwd_filter = CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1;
        std::size_t fwd_bytes = 0, data_bytes = 0, filter_bytes = 0;
    };

    Context& ctx;
    std::string name;
    ConvGeometryCudnn g;
    std::size_t limit;
    FilterDesc wdesc;
    ConvDesc conv;
    std::map<std::tuple<int, int, int>, std::unique_ptr<Plan>> plans;

    Impl(Context& c, const std::string& n, const ConvGeometryCudnn& geo, std::size_t l)
        : ctx(c), name(n), g(geo), limit(l) {}

    std::string where(Shape x) const { return name + " at input " + x.str(); }

    const Plan& plan(Shape x) const {
        const auto it = plans.find({x.n, x.h, x.w});
        NST_REQUIRE(it != plans.end() && x.c == g.in_channels, "ConvCudnn: " + where(x) + " was not prepared");
        return *it->second;
    }

    [[noreturn]] void none(const char* pass, Shape x) const {
        throw_runtime(std::string("cuDNN offers no deterministic ") + pass + " algorithm for " + where(x) +
                      " within the workspace limit of " + mib(limit));
    }

    void choose(Plan& p, Shape x) {
        const cudnnHandle_t h = ctx.cudnn();
        int max_count = 0, count = 0;

        NST_CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithmMaxCount(h, &max_count));
        std::vector<cudnnConvolutionFwdAlgoPerf_t> fwd(std::size_t(std::max(max_count, 1)));
        NST_CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(h, p.x.get(), wdesc.get(), conv.get(), p.y.get(),
                                                                int(fwd.size()), &count, fwd.data()));
        // Not checked: an algorithm cuDNN cannot size for this problem is simply skipped.
        if (!pick(fwd, count, limit,
                  [&](cudnnConvolutionFwdAlgo_t a, std::size_t& b) {
                      return cudnnGetConvolutionForwardWorkspaceSize(h, p.x.get(), wdesc.get(), conv.get(),
                                                                     p.y.get(), a, &b) == CUDNN_STATUS_SUCCESS;
                  },
                  p.fwd, p.fwd_bytes))
            none("forward", x);

        NST_CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithmMaxCount(h, &max_count));
        std::vector<cudnnConvolutionBwdDataAlgoPerf_t> data(std::size_t(std::max(max_count, 1)));
        NST_CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithm_v7(h, wdesc.get(), p.y.get(), conv.get(), p.x.get(),
                                                                     int(data.size()), &count, data.data()));
        if (!pick(data, count, limit,
                  [&](cudnnConvolutionBwdDataAlgo_t a, std::size_t& b) {
                      return cudnnGetConvolutionBackwardDataWorkspaceSize(h, wdesc.get(), p.y.get(), conv.get(),
                                                                          p.x.get(), a, &b) == CUDNN_STATUS_SUCCESS;
                  },
                  p.bwd_data, p.data_bytes))
            none("backward-data", x);

        NST_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithmMaxCount(h, &max_count));
        std::vector<cudnnConvolutionBwdFilterAlgoPerf_t> filter(std::size_t(std::max(max_count, 1)));
        NST_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, p.x.get(), p.y.get(), conv.get(),
                                                                       wdesc.get(), int(filter.size()), &count,
                                                                       filter.data()));
        if (!pick(filter, count, limit,
                  [&](cudnnConvolutionBwdFilterAlgo_t a, std::size_t& b) {
                      return cudnnGetConvolutionBackwardFilterWorkspaceSize(h, p.x.get(), p.y.get(), conv.get(),
                                                                            wdesc.get(), a, &b) ==
                             CUDNN_STATUS_SUCCESS;
                  },
                  p.bwd_filter, p.filter_bytes))
            none("backward-filter", x);
    }
};

ConvCudnn::ConvCudnn(Context& ctx, const std::string& name, const ConvGeometryCudnn& g, std::size_t workspace_limit)
    : m(std::make_unique<Impl>(ctx, name, g, workspace_limit)) {
    NST_REQUIRE(g.out_channels > 0 && g.in_channels > 0 && g.kernel > 0 && g.stride > 0 && g.pad >= 0,
                "ConvCudnn: bad geometry for " + name);
    NST_CUDNN_CHECK(cudnnSetFilter4dDescriptor(m->wdesc.get(), CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, g.out_channels,
                                               g.in_channels, g.kernel, g.kernel));
    // Cross-correlation (no kernel flip), as PyTorch's and the CPU's convolution.
    NST_CUDNN_CHECK(cudnnSetConvolution2dDescriptor(m->conv.get(), g.pad, g.pad, g.stride, g.stride, 1, 1,
                                                    CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    NST_CUDNN_CHECK(cudnnSetConvolutionMathType(m->conv.get(), CUDNN_FMA_MATH));
}

ConvCudnn::~ConvCudnn() = default;

Shape ConvCudnn::output_shape(Shape x) const {
    const ConvGeometryCudnn& g = m->g;
    return Shape{x.n, g.out_channels, (x.h + 2 * g.pad - g.kernel) / g.stride + 1,
                 (x.w + 2 * g.pad - g.kernel) / g.stride + 1};
}

std::size_t ConvCudnn::prepare(Shape x) {
    Impl& s = *m;
    NST_REQUIRE(x.n > 0 && x.c == s.g.in_channels && x.h > 0 && x.w > 0, "ConvCudnn::prepare: " + s.where(x));
    auto it = s.plans.find({x.n, x.h, x.w});
    if (it == s.plans.end()) {
        const Shape y = output_shape(x);
        NST_REQUIRE(y.h > 0 && y.w > 0, "ConvCudnn::prepare: empty output for " + s.where(x));
        auto p = std::make_unique<Impl::Plan>();
        NST_CUDNN_CHECK(cudnnSetTensor4dDescriptor(p->x.get(), CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, x.n, x.c, x.h, x.w));
        NST_CUDNN_CHECK(cudnnSetTensor4dDescriptor(p->y.get(), CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, y.n, y.c, y.h, y.w));
        int on = 0, oc = 0, oh = 0, ow = 0;
        NST_CUDNN_CHECK(
            cudnnGetConvolution2dForwardOutputDim(s.conv.get(), p->x.get(), s.wdesc.get(), &on, &oc, &oh, &ow));
        NST_REQUIRE(on == y.n && oc == y.c && oh == y.h && ow == y.w,
                    "ConvCudnn: cuDNN's output size for " + s.where(x) + " is not " + y.str());
        s.choose(*p, x);
        it = s.plans.emplace(std::make_tuple(x.n, x.h, x.w), std::move(p)).first;
    }
    const Impl::Plan& p = *it->second;
    return std::max({p.fwd_bytes, p.data_bytes, p.filter_bytes});
}

void ConvCudnn::forward(TensorView<float> y, ConstView<float> x, const float* w, void* workspace,
                        std::size_t workspace_bytes) {
    Impl& s = *m;
    NST_REQUIRE(x.device == Device::Cuda && y.device == Device::Cuda && y.shape == output_shape(x.shape),
                "ConvCudnn::forward: " + s.name + " shapes " + x.shape.str() + " -> " + y.shape.str());
    const Impl::Plan& p = s.plan(x.shape);
    NST_REQUIRE(workspace_bytes >= p.fwd_bytes, "ConvCudnn::forward: workspace too small for " + s.name);
    const float one = 1.f, zero = 0.f;
    NST_CUDNN_CHECK(cudnnConvolutionForward(s.ctx.cudnn(), &one, p.x.get(), x.data, s.wdesc.get(), w, s.conv.get(),
                                            p.fwd, workspace, p.fwd_bytes, &zero, p.y.get(), y.data));
}

void ConvCudnn::backward_data(TensorView<float> dx, ConstView<float> dy, const float* w, void* workspace,
                              std::size_t workspace_bytes) {
    Impl& s = *m;
    NST_REQUIRE(dx.device == Device::Cuda && dy.device == Device::Cuda && dy.shape == output_shape(dx.shape),
                "ConvCudnn::backward_data: " + s.name + " shapes " + dy.shape.str() + " -> " + dx.shape.str());
    const Impl::Plan& p = s.plan(dx.shape);
    NST_REQUIRE(workspace_bytes >= p.data_bytes, "ConvCudnn::backward_data: workspace too small for " + s.name);
    const float one = 1.f, zero = 0.f;
    NST_CUDNN_CHECK(cudnnConvolutionBackwardData(s.ctx.cudnn(), &one, s.wdesc.get(), w, p.y.get(), dy.data,
                                                 s.conv.get(), p.bwd_data, workspace, p.data_bytes, &zero, p.x.get(),
                                                 dx.data));
}

void ConvCudnn::backward_filter(float* dw, ConstView<float> dy, ConstView<float> x, void* workspace,
                                std::size_t workspace_bytes) {
    Impl& s = *m;
    NST_REQUIRE(x.device == Device::Cuda && dy.device == Device::Cuda && dy.shape == output_shape(x.shape),
                "ConvCudnn::backward_filter: " + s.name + " shapes " + x.shape.str() + " / " + dy.shape.str());
    const Impl::Plan& p = s.plan(x.shape);
    NST_REQUIRE(workspace_bytes >= p.filter_bytes, "ConvCudnn::backward_filter: workspace too small for " + s.name);
    const float one = 1.f;  // beta = 1: the gradient accumulates into dw
    NST_CUDNN_CHECK(cudnnConvolutionBackwardFilter(s.ctx.cudnn(), &one, p.x.get(), x.data, p.y.get(), dy.data,
                                                   s.conv.get(), p.bwd_filter, workspace, p.filter_bytes, &one,
                                                   s.wdesc.get(), dw));
}

}  // namespace nst::cuda
