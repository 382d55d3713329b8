// SPDX-License-Identifier: MIT
// The fake cuDNN of the backend emulation: the legacy convolution API that
// src/cuda/conv_cudnn.cpp and conv_cudnn_general.cpp call (forward, backward data, backward filter), with descriptors as plain structs and the convolutions computed
// in double on the host (im2col and one double GEMM per image, through OpenBLAS).
//
// What it models:
//   - NCHW float and bf16 tensors and filters, 2-D cross-correlation or convolution with zero
//     padding, stride 1 and dilation 1 (anything else is CUDNN_STATUS_NOT_SUPPORTED).
//   - Data types: operands are read exactly (bf16 widened), every product and sum is in double,
//     the result is rounded once to the output type (float: nearest; bf16: nearest even). Under
//     CUDNN_TENSOR_OP_MATH with float data, the operands are first rounded to TF32 (10 explicit
//     mantissa bits, nearest even), as tensor cores do.
//   - alpha / beta: y = alpha * conv + beta * y, with y not read when beta == 0 (float scalars for
//     float and bf16 data, as cuDNN).
//   - The heuristics: two deterministic algorithms per direction, ranked, carrying the math type
//     the descriptor requests; the first needs a workspace of kWorkspaceBytes (which the call
//     checks and writes to), the second none.
//   - Streams: a call on a capturing stream (cudnnSetStream) is recorded and runs at replay.
// Not modelled: cuDNN's own accumulation order and rounding (the emulation is more accurate than
// any real algorithm), NHWC, groups, half precision, the other algorithms.
#include <cudnn.h>

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <new>
#include <vector>

#include <cuda_bf16.h>

#include "cuda_runtime_emu.h"

struct cudnnContext {
    cudaStream_t stream = nullptr;
};

struct cudnnTensorStruct {
    bool set = false;
    cudnnDataType_t type = CUDNN_DATA_FLOAT;
    int n = 0, c = 0, h = 0, w = 0;
};

struct cudnnFilterStruct {
    bool set = false;
    cudnnDataType_t type = CUDNN_DATA_FLOAT;
    int k = 0, c = 0, h = 0, w = 0;
};

struct cudnnConvolutionStruct {
    bool set = false;
    int pad_h = 0, pad_w = 0, u = 1, v = 1, dil_h = 1, dil_w = 1;
    cudnnConvolutionMode_t mode = CUDNN_CROSS_CORRELATION;
    cudnnDataType_t compute = CUDNN_DATA_FLOAT;
    cudnnMathType_t math = CUDNN_DEFAULT_MATH;
};

namespace {

constexpr std::size_t kWorkspaceBytes = 1024;

bool supported_type(cudnnDataType_t t) { return t == CUDNN_DATA_FLOAT || t == CUDNN_DATA_BFLOAT16; }

using nst::emu::round_tf32;

// Reads n elements of type t as doubles (TF32-rounded when tf32).
std::vector<double> load(const void* p, cudnnDataType_t t, std::size_t n, bool tf32) {
    std::vector<double> out(n);
    if (t == CUDNN_DATA_BFLOAT16) {
        const auto* b = static_cast<const __nv_bfloat16*>(p);
        for (std::size_t i = 0; i < n; ++i) out[i] = double(__bfloat162float(b[i]));
    } else {
        const auto* f = static_cast<const float*>(p);
        for (std::size_t i = 0; i < n; ++i) out[i] = double(tf32 ? round_tf32(f[i]) : f[i]);
    }
    return out;
}

// y = alpha * acc + beta * y, rounded to the output type.
void store(void* p, cudnnDataType_t t, const std::vector<double>& acc, float alpha, float beta) {
    const std::size_t n = acc.size();
    if (t == CUDNN_DATA_BFLOAT16) {
        auto* b = static_cast<__nv_bfloat16*>(p);
        for (std::size_t i = 0; i < n; ++i) {
            double v = double(alpha) * acc[i];
            if (beta != 0.f) v += double(beta) * double(__bfloat162float(b[i]));
            b[i] = __float2bfloat16_rn(float(v));
        }
    } else {
        auto* f = static_cast<float*>(p);
        for (std::size_t i = 0; i < n; ++i) {
            double v = double(alpha) * acc[i];
            if (beta != 0.f) v += double(beta) * double(f[i]);
            f[i] = float(v);
        }
    }
}

struct Problem {
    cudnnTensorStruct x, y;  // forward's input and output (backward: dx and dy)
    cudnnFilterStruct w;
    cudnnConvolutionStruct conv;
};

cudnnStatus_t check(const cudnnTensorStruct* x, const cudnnFilterStruct* w, const cudnnConvolutionStruct* conv,
                    const cudnnTensorStruct* y) {
    if (!x || !w || !conv || !y || !x->set || !w->set || !conv->set || !y->set) return CUDNN_STATUS_BAD_PARAM;
    if (x->type != w->type || x->type != y->type || !supported_type(x->type)) return CUDNN_STATUS_NOT_SUPPORTED;
    if (conv->dil_h != 1 || conv->dil_w != 1) return CUDNN_STATUS_NOT_SUPPORTED;
    if (x->c != w->c || y->c != w->k || x->n != y->n) return CUDNN_STATUS_BAD_PARAM;
    if (y->h != (x->h + 2 * conv->pad_h - w->h) / conv->u + 1 || y->w != (x->w + 2 * conv->pad_w - w->w) / conv->v + 1 ||
        x->h + 2 * conv->pad_h < w->h || x->w + 2 * conv->pad_w < w->w)
        return CUDNN_STATUS_BAD_PARAM;
    return CUDNN_STATUS_SUCCESS;
}

// The filter tap (r, s) that multiplies input (i + r - pad) for output i: cross-correlation
// reads w[r][s], convolution the flipped w[R-1-r][S-1-s].
std::vector<double> oriented_weights(const Problem& p, const void* w) {
    const bool tf32 = p.w.type == CUDNN_DATA_FLOAT && (p.conv.math == CUDNN_TENSOR_OP_MATH ||
                                                       p.conv.math == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION);
    std::vector<double> wd = load(w, p.w.type, std::size_t(p.w.k) * p.w.c * p.w.h * p.w.w, tf32);
    if (p.conv.mode == CUDNN_CONVOLUTION) {
        const std::size_t taps = std::size_t(p.w.h) * p.w.w;
        for (std::size_t f = 0; f < wd.size(); f += taps)
            for (std::size_t a = 0, b = taps - 1; a < b; ++a, --b) std::swap(wd[f + a], wd[f + b]);
    }
    return wd;
}

bool tf32_math(const Problem& p) {
    return p.x.type == CUDNN_DATA_FLOAT &&
           (p.conv.math == CUDNN_TENSOR_OP_MATH || p.conv.math == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION);
}

// The im2col matrix of one image: row (c, r, s), column (i, j) holds input (i u + r - ph,
// j v + s - pw) of channel c (u, v the strides), or 0 in the padding. Shared by forward
// (multiplied), backward data (scattered) and backward filter (multiplied). f(to, from) is called
// per element inside the input, in a fixed order.
template <typename F>
void for_each_tap(const Problem& p, F&& f) {
    const int C = p.x.c, H = p.x.h, W = p.x.w, R = p.w.h, S = p.w.w;
    const int Ho = p.y.h, Wo = p.y.w, ph = p.conv.pad_h, pw = p.conv.pad_w, u = p.conv.u, v = p.conv.v;
    const std::size_t cols = std::size_t(Ho) * Wo;
    for (int c = 0; c < C; ++c)
        for (int r = 0; r < R; ++r)
            for (int s = 0; s < S; ++s) {
                const std::size_t row = (std::size_t(c) * R + r) * S + s;
                // Output columns j0..j1-1 read inside the input: 0 <= j v + s - pw < W.
                const int j0 = std::max(0, (pw - s + v - 1) / v);
                const int j1 = W + pw - s <= 0 ? 0 : std::min(Wo, (W + pw - s - 1) / v + 1);
                for (int i = 0; i < Ho; ++i) {
                    const int xi = i * u + r - ph;
                    if (xi < 0 || xi >= H) continue;
                    const std::size_t to = row * cols + std::size_t(i) * Wo;
                    const std::size_t from = (std::size_t(c) * H + xi) * W + s - pw;  // + j v
                    for (int j = j0; j < j1; ++j) f(to + j, from + std::size_t(j) * v);
                }
            }
}

// y = W x as one GEMM per image: (K x CRS) times the (CRS x HoWo) im2col matrix, in double
// (OpenBLAS; the order of the sums is the library's, immaterial at double precision).
void forward(const Problem& p, float alpha, const void* x, const void* w, float beta, void* y) {
    const int N = p.x.n, C = p.x.c, H = p.x.h, W = p.x.w, K = p.w.k, R = p.w.h, S = p.w.w;
    const std::size_t cols = std::size_t(p.y.h) * p.y.w, crs = std::size_t(C) * R * S;
    const std::vector<double> xd = load(x, p.x.type, std::size_t(N) * C * H * W, tf32_math(p));
    const std::vector<double> wd = oriented_weights(p, w);
    std::vector<double> acc(std::size_t(N) * K * cols, 0.0), col(crs * cols);
    for (int n = 0; n < N; ++n) {
        std::fill(col.begin(), col.end(), 0.0);
        const double* in = xd.data() + std::size_t(n) * C * H * W;
        for_each_tap(p, [&](std::size_t to, std::size_t from) { col[to] = in[from]; });
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, K, int(cols), int(crs), 1.0, wd.data(), int(crs),
                    col.data(), int(cols), 0.0, acc.data() + std::size_t(n) * K * cols, int(cols));
    }
    store(y, p.y.type, acc, alpha, beta);
}

// dx = W^T dy: the (CRS x HoWo) product W^T dy, scattered back (col2im) in a fixed order.
void backward_data(const Problem& p, float alpha, const void* w, const void* dy, float beta, void* dx) {
    const int N = p.x.n, C = p.x.c, H = p.x.h, W = p.x.w, K = p.w.k, R = p.w.h, S = p.w.w;
    const std::size_t cols = std::size_t(p.y.h) * p.y.w, crs = std::size_t(C) * R * S;
    const std::vector<double> dyd = load(dy, p.y.type, std::size_t(N) * K * cols, tf32_math(p));
    const std::vector<double> wd = oriented_weights(p, w);
    std::vector<double> acc(std::size_t(N) * C * H * W, 0.0), col(crs * cols);
    for (int n = 0; n < N; ++n) {
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, int(crs), int(cols), K, 1.0, wd.data(), int(crs),
                    dyd.data() + std::size_t(n) * K * cols, int(cols), 0.0, col.data(), int(cols));
        double* out = acc.data() + std::size_t(n) * C * H * W;
        for_each_tap(p, [&](std::size_t from, std::size_t to) { out[to] += col[from]; });
    }
    store(dx, p.x.type, acc, alpha, beta);
}

// dw = dy x^T summed over the images: (K x HoWo) times the transposed (CRS x HoWo) im2col
// matrix of each image, accumulated in double, stored once in the filter's orientation.
void backward_filter(const Problem& p, float alpha, const void* x, const void* dy, float beta, void* dw) {
    const int N = p.x.n, C = p.x.c, H = p.x.h, W = p.x.w, K = p.w.k, R = p.w.h, S = p.w.w;
    const std::size_t cols = std::size_t(p.y.h) * p.y.w, crs = std::size_t(C) * R * S;
    const bool tf32 = tf32_math(p);
    const std::vector<double> xd = load(x, p.x.type, std::size_t(N) * C * H * W, tf32);
    const std::vector<double> dyd = load(dy, p.y.type, std::size_t(N) * K * cols, tf32);
    std::vector<double> acc(std::size_t(K) * crs, 0.0), col(crs * cols);
    for (int n = 0; n < N; ++n) {
        std::fill(col.begin(), col.end(), 0.0);
        const double* in = xd.data() + std::size_t(n) * C * H * W;
        for_each_tap(p, [&](std::size_t to, std::size_t from) { col[to] = in[from]; });
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, K, int(crs), int(cols), 1.0,
                    dyd.data() + std::size_t(n) * K * cols, int(cols), col.data(), int(cols), 1.0, acc.data(),
                    int(crs));
    }
    if (p.conv.mode == CUDNN_CONVOLUTION) {  // the gradient of the flipped filter, flipped back
        const std::size_t taps = std::size_t(R) * S;
        for (std::size_t f = 0; f < acc.size(); f += taps)
            for (std::size_t a = 0, b = taps - 1; a < b; ++a, --b) std::swap(acc[f + a], acc[f + b]);
    }
    store(dw, p.w.type, acc, alpha, beta);
}

cudnnStatus_t check_workspace(std::size_t needed, void* workspace, std::size_t bytes) {
    if (needed == 0) return CUDNN_STATUS_SUCCESS;
    if (!workspace || bytes < needed) return CUDNN_STATUS_BAD_PARAM;
    std::memset(workspace, 0, needed);  // the workspace must be real, writable memory
    return CUDNN_STATUS_SUCCESS;
}

std::size_t fwd_workspace(cudnnConvolutionFwdAlgo_t a) {
    return a == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM ? kWorkspaceBytes : 0;
}
bool fwd_supported(cudnnConvolutionFwdAlgo_t a) {
    return a == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM || a == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM;
}
std::size_t bwd_workspace(cudnnConvolutionBwdDataAlgo_t a) {
    return a == CUDNN_CONVOLUTION_BWD_DATA_ALGO_1 ? kWorkspaceBytes : 0;
}
bool bwd_supported(cudnnConvolutionBwdDataAlgo_t a) {
    return a == CUDNN_CONVOLUTION_BWD_DATA_ALGO_1 || a == CUDNN_CONVOLUTION_BWD_DATA_ALGO_0;
}

std::size_t filter_workspace(cudnnConvolutionBwdFilterAlgo_t a) {
    return a == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1 ? kWorkspaceBytes : 0;
}
bool filter_supported(cudnnConvolutionBwdFilterAlgo_t a) {
    return a == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1 || a == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0;
}

template <typename T>
cudnnStatus_t create(T** desc) {
    if (!desc) return CUDNN_STATUS_BAD_PARAM;
    *desc = new (std::nothrow) T;
    return *desc ? CUDNN_STATUS_SUCCESS : CUDNN_STATUS_ALLOC_FAILED;
}

}  // namespace

const char* cudnnGetErrorString(cudnnStatus_t status) {
    switch (status) {
        case CUDNN_STATUS_SUCCESS: return "CUDNN_STATUS_SUCCESS";
        case CUDNN_STATUS_NOT_INITIALIZED: return "CUDNN_STATUS_NOT_INITIALIZED";
        case CUDNN_STATUS_BAD_PARAM: return "CUDNN_STATUS_BAD_PARAM";
        case CUDNN_STATUS_NOT_SUPPORTED: return "CUDNN_STATUS_NOT_SUPPORTED";
        case CUDNN_STATUS_ALLOC_FAILED: return "CUDNN_STATUS_ALLOC_FAILED";
        case CUDNN_STATUS_EXECUTION_FAILED: return "CUDNN_STATUS_EXECUTION_FAILED";
    }
    return "CUDNN_STATUS_UNKNOWN";
}

cudnnStatus_t cudnnCreate(cudnnHandle_t* handle) { return create(handle); }
cudnnStatus_t cudnnDestroy(cudnnHandle_t handle) {
    delete handle;
    return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnSetStream(cudnnHandle_t handle, cudaStream_t stream) {
    if (!handle) return CUDNN_STATUS_NOT_INITIALIZED;
    handle->stream = stream;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnCreateTensorDescriptor(cudnnTensorDescriptor_t* desc) { return create(desc); }
cudnnStatus_t cudnnDestroyTensorDescriptor(cudnnTensorDescriptor_t desc) {
    delete desc;
    return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnSetTensor4dDescriptor(cudnnTensorDescriptor_t desc, cudnnTensorFormat_t format,
                                         cudnnDataType_t type, int n, int c, int h, int w) {
    if (!desc || n <= 0 || c <= 0 || h <= 0 || w <= 0) return CUDNN_STATUS_BAD_PARAM;
    if (format != CUDNN_TENSOR_NCHW || !supported_type(type)) return CUDNN_STATUS_NOT_SUPPORTED;
    *desc = cudnnTensorStruct{true, type, n, c, h, w};
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnCreateFilterDescriptor(cudnnFilterDescriptor_t* desc) { return create(desc); }
cudnnStatus_t cudnnDestroyFilterDescriptor(cudnnFilterDescriptor_t desc) {
    delete desc;
    return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnSetFilter4dDescriptor(cudnnFilterDescriptor_t desc, cudnnDataType_t type,
                                         cudnnTensorFormat_t format, int k, int c, int h, int w) {
    if (!desc || k <= 0 || c <= 0 || h <= 0 || w <= 0) return CUDNN_STATUS_BAD_PARAM;
    if (format != CUDNN_TENSOR_NCHW || !supported_type(type)) return CUDNN_STATUS_NOT_SUPPORTED;
    *desc = cudnnFilterStruct{true, type, k, c, h, w};
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnCreateConvolutionDescriptor(cudnnConvolutionDescriptor_t* desc) { return create(desc); }
cudnnStatus_t cudnnDestroyConvolutionDescriptor(cudnnConvolutionDescriptor_t desc) {
    delete desc;
    return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnSetConvolution2dDescriptor(cudnnConvolutionDescriptor_t desc, int pad_h, int pad_w, int u, int v,
                                              int dilation_h, int dilation_w, cudnnConvolutionMode_t mode,
                                              cudnnDataType_t compute_type) {
    if (!desc || pad_h < 0 || pad_w < 0 || u <= 0 || v <= 0 || dilation_h <= 0 || dilation_w <= 0)
        return CUDNN_STATUS_BAD_PARAM;
    if (compute_type != CUDNN_DATA_FLOAT) return CUDNN_STATUS_NOT_SUPPORTED;
    const cudnnMathType_t math = desc->math;
    *desc = cudnnConvolutionStruct{true, pad_h, pad_w, u, v, dilation_h, dilation_w, mode, compute_type, math};
    return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnSetConvolutionMathType(cudnnConvolutionDescriptor_t desc, cudnnMathType_t math) {
    if (!desc) return CUDNN_STATUS_BAD_PARAM;
    desc->math = math;
    return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnGetConvolution2dForwardOutputDim(cudnnConvolutionDescriptor_t conv, cudnnTensorDescriptor_t x,
                                                    cudnnFilterDescriptor_t w, int* n, int* c, int* h, int* w_out) {
    if (!conv || !x || !w || !conv->set || !x->set || !w->set || x->c != w->c) return CUDNN_STATUS_BAD_PARAM;
    *n = x->n;
    *c = w->k;
    *h = (x->h + 2 * conv->pad_h - conv->dil_h * (w->h - 1) - 1) / conv->u + 1;
    *w_out = (x->w + 2 * conv->pad_w - conv->dil_w * (w->w - 1) - 1) / conv->v + 1;
    return CUDNN_STATUS_SUCCESS;
}

// ---- forward -------------------------------------------------------------------------------------
cudnnStatus_t cudnnGetConvolutionForwardAlgorithmMaxCount(cudnnHandle_t handle, int* count) {
    if (!handle || !count) return CUDNN_STATUS_BAD_PARAM;
    *count = CUDNN_CONVOLUTION_FWD_ALGO_COUNT;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnGetConvolutionForwardAlgorithm_v7(cudnnHandle_t handle, cudnnTensorDescriptor_t x,
                                                     cudnnFilterDescriptor_t w, cudnnConvolutionDescriptor_t conv,
                                                     cudnnTensorDescriptor_t y, int requested, int* returned,
                                                     cudnnConvolutionFwdAlgoPerf_t* perf) {
    if (!handle || !returned || !perf || requested <= 0) return CUDNN_STATUS_BAD_PARAM;
    if (const cudnnStatus_t s = check(x, w, conv, y)) return s;
    const cudnnConvolutionFwdAlgo_t ranked[] = {CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM,
                                                CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM};
    int n = 0;
    for (cudnnConvolutionFwdAlgo_t a : ranked) {
        if (n == requested) break;
        perf[n] = cudnnConvolutionFwdAlgoPerf_t{a, CUDNN_STATUS_SUCCESS, 0.1f * float(n + 1), fwd_workspace(a),
                                                CUDNN_DETERMINISTIC, conv->math, {0, 0, 0}};
        ++n;
    }
    *returned = n;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnGetConvolutionForwardWorkspaceSize(cudnnHandle_t handle, cudnnTensorDescriptor_t x,
                                                      cudnnFilterDescriptor_t w, cudnnConvolutionDescriptor_t conv,
                                                      cudnnTensorDescriptor_t y, cudnnConvolutionFwdAlgo_t algo,
                                                      std::size_t* bytes) {
    if (!handle || !bytes) return CUDNN_STATUS_BAD_PARAM;
    if (const cudnnStatus_t s = check(x, w, conv, y)) return s;
    if (!fwd_supported(algo)) return CUDNN_STATUS_NOT_SUPPORTED;
    *bytes = fwd_workspace(algo);
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnConvolutionForward(cudnnHandle_t handle, const void* alpha, cudnnTensorDescriptor_t x_desc,
                                      const void* x, cudnnFilterDescriptor_t w_desc, const void* w,
                                      cudnnConvolutionDescriptor_t conv, cudnnConvolutionFwdAlgo_t algo,
                                      void* workspace, std::size_t workspace_bytes, const void* beta,
                                      cudnnTensorDescriptor_t y_desc, void* y) {
    if (!handle) return CUDNN_STATUS_NOT_INITIALIZED;
    if (!alpha || !beta || !x || !w || !y) return CUDNN_STATUS_BAD_PARAM;
    if (const cudnnStatus_t s = check(x_desc, w_desc, conv, y_desc)) return s;
    if (!fwd_supported(algo)) return CUDNN_STATUS_NOT_SUPPORTED;
    const std::size_t needed = fwd_workspace(algo);
    if (needed && (!workspace || workspace_bytes < needed)) return CUDNN_STATUS_BAD_PARAM;
    // Descriptors and scalars are read now (they may change before a replay); data at run time.
    const Problem p{*x_desc, *y_desc, *w_desc, *conv};
    const float a = *static_cast<const float*>(alpha), b = *static_cast<const float*>(beta);
    nst::emu::run_or_record(handle->stream, [p, a, b, x, w, y, workspace, workspace_bytes, needed] {
        check_workspace(needed, workspace, workspace_bytes);
        forward(p, a, x, w, b, y);
    });
    return CUDNN_STATUS_SUCCESS;
}

// ---- backward data -------------------------------------------------------------------------------
cudnnStatus_t cudnnGetConvolutionBackwardDataAlgorithmMaxCount(cudnnHandle_t handle, int* count) {
    if (!handle || !count) return CUDNN_STATUS_BAD_PARAM;
    *count = CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnGetConvolutionBackwardDataAlgorithm_v7(cudnnHandle_t handle, cudnnFilterDescriptor_t w,
                                                          cudnnTensorDescriptor_t dy,
                                                          cudnnConvolutionDescriptor_t conv,
                                                          cudnnTensorDescriptor_t dx, int requested, int* returned,
                                                          cudnnConvolutionBwdDataAlgoPerf_t* perf) {
    if (!handle || !returned || !perf || requested <= 0) return CUDNN_STATUS_BAD_PARAM;
    if (const cudnnStatus_t s = check(dx, w, conv, dy)) return s;
    const cudnnConvolutionBwdDataAlgo_t ranked[] = {CUDNN_CONVOLUTION_BWD_DATA_ALGO_1,
                                                    CUDNN_CONVOLUTION_BWD_DATA_ALGO_0};
    int n = 0;
    for (cudnnConvolutionBwdDataAlgo_t a : ranked) {
        if (n == requested) break;
        perf[n] = cudnnConvolutionBwdDataAlgoPerf_t{a, CUDNN_STATUS_SUCCESS, 0.1f * float(n + 1), bwd_workspace(a),
                                                    CUDNN_DETERMINISTIC, conv->math, {0, 0, 0}};
        ++n;
    }
    *returned = n;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnGetConvolutionBackwardDataWorkspaceSize(cudnnHandle_t handle, cudnnFilterDescriptor_t w,
                                                           cudnnTensorDescriptor_t dy,
                                                           cudnnConvolutionDescriptor_t conv,
                                                           cudnnTensorDescriptor_t dx,
                                                           cudnnConvolutionBwdDataAlgo_t algo, std::size_t* bytes) {
    if (!handle || !bytes) return CUDNN_STATUS_BAD_PARAM;
    if (const cudnnStatus_t s = check(dx, w, conv, dy)) return s;
    if (!bwd_supported(algo)) return CUDNN_STATUS_NOT_SUPPORTED;
    *bytes = bwd_workspace(algo);
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnConvolutionBackwardData(cudnnHandle_t handle, const void* alpha, cudnnFilterDescriptor_t w_desc,
                                           const void* w, cudnnTensorDescriptor_t dy_desc, const void* dy,
                                           cudnnConvolutionDescriptor_t conv, cudnnConvolutionBwdDataAlgo_t algo,
                                           void* workspace, std::size_t workspace_bytes, const void* beta,
                                           cudnnTensorDescriptor_t dx_desc, void* dx) {
    if (!handle) return CUDNN_STATUS_NOT_INITIALIZED;
    if (!alpha || !beta || !w || !dy || !dx) return CUDNN_STATUS_BAD_PARAM;
    if (const cudnnStatus_t s = check(dx_desc, w_desc, conv, dy_desc)) return s;
    if (!bwd_supported(algo)) return CUDNN_STATUS_NOT_SUPPORTED;
    const std::size_t needed = bwd_workspace(algo);
    if (needed && (!workspace || workspace_bytes < needed)) return CUDNN_STATUS_BAD_PARAM;
    const Problem p{*dx_desc, *dy_desc, *w_desc, *conv};
    const float a = *static_cast<const float*>(alpha), b = *static_cast<const float*>(beta);
    nst::emu::run_or_record(handle->stream, [p, a, b, w, dy, dx, workspace, workspace_bytes, needed] {
        check_workspace(needed, workspace, workspace_bytes);
        backward_data(p, a, w, dy, b, dx);
    });
    return CUDNN_STATUS_SUCCESS;
}

// ---- backward filter -----------------------------------------------------------------------------
cudnnStatus_t cudnnGetConvolutionBackwardFilterAlgorithmMaxCount(cudnnHandle_t handle, int* count) {
    if (!handle || !count) return CUDNN_STATUS_BAD_PARAM;
    *count = CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnGetConvolutionBackwardFilterAlgorithm_v7(cudnnHandle_t handle, cudnnTensorDescriptor_t x,
                                                            cudnnTensorDescriptor_t dy,
                                                            cudnnConvolutionDescriptor_t conv,
                                                            cudnnFilterDescriptor_t dw, int requested, int* returned,
                                                            cudnnConvolutionBwdFilterAlgoPerf_t* perf) {
    if (!handle || !returned || !perf || requested <= 0) return CUDNN_STATUS_BAD_PARAM;
    if (const cudnnStatus_t s = check(x, dw, conv, dy)) return s;
    const cudnnConvolutionBwdFilterAlgo_t ranked[] = {CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1,
                                                      CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0};
    int n = 0;
    for (cudnnConvolutionBwdFilterAlgo_t a : ranked) {
        if (n == requested) break;
        perf[n] = cudnnConvolutionBwdFilterAlgoPerf_t{a, CUDNN_STATUS_SUCCESS, 0.1f * float(n + 1),
                                                      filter_workspace(a), CUDNN_DETERMINISTIC, conv->math, {0, 0, 0}};
        ++n;
    }
    *returned = n;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnGetConvolutionBackwardFilterWorkspaceSize(cudnnHandle_t handle, cudnnTensorDescriptor_t x,
                                                             cudnnTensorDescriptor_t dy,
                                                             cudnnConvolutionDescriptor_t conv,
                                                             cudnnFilterDescriptor_t dw,
                                                             cudnnConvolutionBwdFilterAlgo_t algo, std::size_t* bytes) {
    if (!handle || !bytes) return CUDNN_STATUS_BAD_PARAM;
    if (const cudnnStatus_t s = check(x, dw, conv, dy)) return s;
    if (!filter_supported(algo)) return CUDNN_STATUS_NOT_SUPPORTED;
    *bytes = filter_workspace(algo);
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnConvolutionBackwardFilter(cudnnHandle_t handle, const void* alpha, cudnnTensorDescriptor_t x_desc,
                                             const void* x, cudnnTensorDescriptor_t dy_desc, const void* dy,
                                             cudnnConvolutionDescriptor_t conv, cudnnConvolutionBwdFilterAlgo_t algo,
                                             void* workspace, std::size_t workspace_bytes, const void* beta,
                                             cudnnFilterDescriptor_t dw_desc, void* dw) {
    if (!handle) return CUDNN_STATUS_NOT_INITIALIZED;
    if (!alpha || !beta || !x || !dy || !dw) return CUDNN_STATUS_BAD_PARAM;
    if (const cudnnStatus_t s = check(x_desc, dw_desc, conv, dy_desc)) return s;
    if (!filter_supported(algo)) return CUDNN_STATUS_NOT_SUPPORTED;
    const std::size_t needed = filter_workspace(algo);
    if (needed && (!workspace || workspace_bytes < needed)) return CUDNN_STATUS_BAD_PARAM;
    const Problem p{*x_desc, *dy_desc, *dw_desc, *conv};
    const float a = *static_cast<const float*>(alpha), b = *static_cast<const float*>(beta);
    nst::emu::run_or_record(handle->stream, [p, a, b, x, dy, dw, workspace, workspace_bytes, needed] {
        check_workspace(needed, workspace, workspace_bytes);
        backward_filter(p, a, x, dy, b, dw);
    });
    return CUDNN_STATUS_SUCCESS;
}
