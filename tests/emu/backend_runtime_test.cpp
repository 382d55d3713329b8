// SPDX-License-Identifier: MIT
// The backend emulation's own runtime and cuDNN (cuda_runtime_emu.cpp, cudnn_emu.cpp): what the
// CUDA suite running on top of them relies on without checking itself. Device memory within the
// emulated capacity, stream capture that records instead of running and a graph that replays,
// the calls that invalidate a capture, bf16 rounding, cuDNN's scaling and workspace rules, and
// that the engine's later iterations really are replays of one captured graph.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include "cuda_runtime_emu.h"
#include "cuda_test_util.h"
#include "kernels/bias_relu.h"
#include "reference_fixture.h"

using namespace nst;

namespace {

std::uint32_t bits(float f) {
    std::uint32_t u;
    std::memcpy(&u, &f, sizeof u);
    return u;
}

float from_bits(std::uint32_t u) {
    float f;
    std::memcpy(&f, &u, sizeof f);
    return f;
}

}  // namespace

TEST_CASE("emu runtime: cudaMalloc within the emulated capacity") {
    const std::size_t before = emu::device_bytes_allocated();
    void* p = nullptr;
    REQUIRE(cudaMalloc(&p, 1000) == cudaSuccess);
    CHECK(reinterpret_cast<std::uintptr_t>(p) % 256 == 0);
    CHECK(emu::device_bytes_allocated() == before + 1000);
    // Fresh memory is poisoned: NaN as float.
    CHECK(std::isnan(static_cast<float*>(p)[17]));
    std::size_t free_bytes = 0, total = 0;
    REQUIRE(cudaMemGetInfo(&free_bytes, &total) == cudaSuccess);
    CHECK(total == emu::device_capacity());
    CHECK(free_bytes == total - emu::device_bytes_allocated());
    void* q = nullptr;
    CHECK(cudaMalloc(&q, total) == cudaErrorMemoryAllocation);
    CHECK(q == nullptr);
    CHECK(cudaFree(p) == cudaSuccess);
    CHECK(emu::device_bytes_allocated() == before);
    CHECK(cudaFree(p) == cudaErrorInvalidValue);  // not allocated (any more)
    cudaDeviceProp prop{};
    REQUIRE(cudaGetDeviceProperties(&prop, 0) == cudaSuccess);
    CHECK(std::string(prop.name) == "emulated");
    CHECK(prop.multiProcessorCount == 132);
    CHECK(cudaGetDeviceProperties(&prop, 1) == cudaErrorInvalidDevice);
}

TEST_CASE("emu runtime: a capture records work and a graph replays it") {
    cudaStream_t s = nullptr;
    REQUIRE(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking) == cudaSuccess);
    const int channels = 2;
    const std::size_t plane = 300, n = channels * plane;
    float *x = nullptr, *y = nullptr, *b = nullptr;
    REQUIRE(cudaMalloc(&x, n * sizeof(float)) == cudaSuccess);
    REQUIRE(cudaMalloc(&y, n * sizeof(float)) == cudaSuccess);
    REQUIRE(cudaMalloc(&b, channels * sizeof(float)) == cudaSuccess);
    const float bias[channels] = {1.0f, -2.0f};
    REQUIRE(cudaMemcpy(b, bias, sizeof bias, cudaMemcpyHostToDevice) == cudaSuccess);
    std::vector<float> host(n, 0.5f);

    REQUIRE(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal) == cudaSuccess);
    CHECK(cudaMemsetAsync(y, 0, n * sizeof(float), s) == cudaSuccess);
    CHECK(cudaMemcpyAsync(x, host.data(), n * sizeof(float), cudaMemcpyHostToDevice, s) == cudaSuccess);
    kernels::bias_act(y, x, b, channels, plane, true, s);
    cudaGraph_t graph = nullptr;
    REQUIRE(cudaStreamEndCapture(s, &graph) == cudaSuccess);
    // Nothing ran yet: y is still poisoned.
    CHECK(std::isnan(y[0]));
    cudaGraphExec_t exec = nullptr;
    REQUIRE(cudaGraphInstantiate(&exec, graph, 0) == cudaSuccess);
    CHECK(cudaGraphDestroy(graph) == cudaSuccess);  // the executable graph keeps its own copy
    REQUIRE(cudaGraphLaunch(exec, s) == cudaSuccess);
    CHECK(y[0] == 1.5f);
    CHECK(y[plane] == 0.0f);  // 0.5 - 2 < 0: ReLU
    // A replay reads the host memory anew (the copy node keeps the pointer, not the bytes).
    std::fill(host.begin(), host.end(), 3.0f);
    REQUIRE(cudaGraphLaunch(exec, s) == cudaSuccess);
    CHECK(y[0] == 4.0f);
    CHECK(y[plane] == 1.0f);
    CHECK(cudaGraphExecDestroy(exec) == cudaSuccess);

    // Illegal during capture: the call fails and the capture is invalidated.
    REQUIRE(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal) == cudaSuccess);
    kernels::bias_act(y, x, b, channels, plane, false, s);
    void* p = nullptr;
    CHECK(cudaMalloc(&p, 64) == cudaErrorStreamCaptureUnsupported);
    CHECK(p == nullptr);
    CHECK(cudaStreamSynchronize(s) == cudaErrorStreamCaptureUnsupported);
    graph = nullptr;
    CHECK(cudaStreamEndCapture(s, &graph) == cudaErrorStreamCaptureInvalidated);
    CHECK(graph == nullptr);
    CHECK(y[0] == 4.0f);  // the recorded launch never ran
    // The stream works normally afterwards.
    CHECK(cudaStreamSynchronize(s) == cudaSuccess);
    kernels::bias_act(y, x, b, channels, plane, false, s);
    CHECK(y[plane] == 1.0f);
    CHECK(cudaFree(x) == cudaSuccess);
    CHECK(cudaFree(y) == cudaSuccess);
    CHECK(cudaFree(b) == cudaSuccess);
    CHECK(cudaStreamDestroy(s) == cudaSuccess);
}

TEST_CASE("emu runtime: bf16 rounds to nearest even") {
    // 1 + 2^-8 is halfway between two bf16 values: ties go to the even one (1); just above rounds up.
    CHECK(bits(__bfloat162float(__float2bfloat16_rn(1.0f + std::ldexp(1.0f, -8)))) == bits(1.0f));
    CHECK(__bfloat162float(__float2bfloat16_rn(1.0f + 3 * std::ldexp(1.0f, -8))) == 1.0f + std::ldexp(1.0f, -6));
    CHECK(__bfloat162float(__float2bfloat16_rn(from_bits(0x3f808001u))) == from_bits(0x3f810000u));
    CHECK(__bfloat162float(__float2bfloat16_rn(-2.5f)) == -2.5f);
    CHECK(std::isinf(__bfloat162float(__float2bfloat16_rn(std::numeric_limits<float>::max()))));
    CHECK(std::isnan(__bfloat162float(__float2bfloat16_rn(std::numeric_limits<float>::quiet_NaN()))));
    CHECK(std::isnan(__bfloat162float(__float2bfloat16_rn(from_bits(0x7f800001u)))));  // a NaN that rounding would make inf
}

TEST_CASE("emu cudnn: alpha and beta and the workspace") {
    cudnnHandle_t h = nullptr;
    REQUIRE(cudnnCreate(&h) == CUDNN_STATUS_SUCCESS);
    cudnnTensorDescriptor_t xd = nullptr, yd = nullptr;
    cudnnFilterDescriptor_t wd = nullptr;
    cudnnConvolutionDescriptor_t cd = nullptr;
    REQUIRE(cudnnCreateTensorDescriptor(&xd) == CUDNN_STATUS_SUCCESS);
    REQUIRE(cudnnCreateTensorDescriptor(&yd) == CUDNN_STATUS_SUCCESS);
    REQUIRE(cudnnCreateFilterDescriptor(&wd) == CUDNN_STATUS_SUCCESS);
    REQUIRE(cudnnCreateConvolutionDescriptor(&cd) == CUDNN_STATUS_SUCCESS);
    REQUIRE(cudnnSetTensor4dDescriptor(xd, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, 1, 3, 3) == CUDNN_STATUS_SUCCESS);
    REQUIRE(cudnnSetTensor4dDescriptor(yd, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, 1, 3, 3) == CUDNN_STATUS_SUCCESS);
    REQUIRE(cudnnSetFilter4dDescriptor(wd, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, 1, 1, 3, 3) == CUDNN_STATUS_SUCCESS);
    REQUIRE(cudnnSetConvolution2dDescriptor(cd, 1, 1, 1, 1, 1, 1, CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT) ==
            CUDNN_STATUS_SUCCESS);
    cudnnConvolutionFwdAlgoPerf_t perf[8];
    int count = 0;
    REQUIRE(cudnnGetConvolutionForwardAlgorithm_v7(h, xd, wd, cd, yd, 8, &count, perf) == CUDNN_STATUS_SUCCESS);
    REQUIRE(count >= 1);
    std::size_t ws = 0;
    REQUIRE(cudnnGetConvolutionForwardWorkspaceSize(h, xd, wd, cd, yd, perf[0].algo, &ws) == CUDNN_STATUS_SUCCESS);
    CHECK(ws > 0);
    // x: 1..9; w: only the top-left tap (reads x[i-1][j-1]) = 2.
    float x[9], w[9] = {2, 0, 0, 0, 0, 0, 0, 0, 0}, y[9];
    for (int i = 0; i < 9; ++i) {
        x[i] = float(i + 1);
        y[i] = 100.0f;
    }
    std::vector<char> workspace(ws);
    const float alpha = 0.5f, beta = 1.0f, zero = 0.0f;
    CHECK(cudnnConvolutionForward(h, &alpha, xd, x, wd, w, cd, perf[0].algo, nullptr, 0, &zero, yd, y) ==
          CUDNN_STATUS_BAD_PARAM);  // no workspace
    REQUIRE(cudnnConvolutionForward(h, &alpha, xd, x, wd, w, cd, perf[0].algo, workspace.data(), ws, &beta, yd, y) ==
            CUDNN_STATUS_SUCCESS);
    CHECK(y[0] == 100.0f);  // padding
    CHECK(y[4] == 101.0f);  // 100 + 0.5 * 2 * x[0]
    CHECK(y[8] == 105.0f);  // 100 + 0.5 * 2 * x[4]
    // beta = 0: y is not read (NaN there must not propagate).
    y[4] = std::numeric_limits<float>::quiet_NaN();
    REQUIRE(cudnnConvolutionForward(h, &alpha, xd, x, wd, w, cd, perf[0].algo, workspace.data(), ws, &zero, yd, y) ==
            CUDNN_STATUS_SUCCESS);
    CHECK(y[4] == 1.0f);
    // Backward data is the adjoint: dx[i][j] = 2 * dy[i+1][j+1] (alpha 1).
    const float one = 1.0f;
    float dx[9];
    REQUIRE(cudnnConvolutionBackwardData(h, &one, wd, w, yd, x, cd, CUDNN_CONVOLUTION_BWD_DATA_ALGO_0, nullptr, 0, &zero,
                                         xd, dx) == CUDNN_STATUS_SUCCESS);
    CHECK(dx[0] == 10.0f);
    CHECK(dx[4] == 18.0f);
    CHECK(dx[8] == 0.0f);
    cudnnDestroyConvolutionDescriptor(cd);
    cudnnDestroyFilterDescriptor(wd);
    cudnnDestroyTensorDescriptor(yd);
    cudnnDestroyTensorDescriptor(xd);
    cudnnDestroy(h);
}

TEST_CASE("emu backend: the engine replays one captured graph per run without a capture failure") {
    namespace ref = nst::test::reference;
    for (bool graph : {true, false}) {
        CAPTURE(graph);
        ProblemSpec spec = ref::problem_spec(ref::configs()[0]);
        spec.cuda.graph = graph;
        const emu::RuntimeStats before = emu::runtime_stats();
        auto engine = make_cuda_engine(ref::weights(), std::move(spec), 0);
        engine->advance(3);
        CHECK(engine->take_records().size() == 3);
        const emu::RuntimeStats& after = emu::runtime_stats();
        CHECK(after.illegal_calls_during_capture == before.illegal_calls_during_capture);
        CHECK(after.failed_captures == before.failed_captures);
        CHECK(after.captures - before.captures == (graph ? 1 : 0));
        CHECK(after.graphs_instantiated - before.graphs_instantiated == (graph ? 1 : 0));
        CHECK(after.graph_launches - before.graph_launches == (graph ? 2 : 0));  // iteration 1 runs eagerly
    }
}
