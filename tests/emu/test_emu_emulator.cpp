// SPDX-License-Identifier: MIT
// The emulator itself (cuda_emu.h): built-in variables, barriers, launch errors and faults, and
// the rounding of the _rn intrinsics. The kernels here are written in the test, in CUDA style,
// and launched through nst::emu::launch as the rewritten kernel files do.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "cuda_emu.h"
#include "emu_test_util.h"

namespace {

using nst::emu::KernelFault;
using nst::emu::LaunchSite;
using nst::emu::Order;

const LaunchSite kSite{"test_kernel", __FILE__, __LINE__};

// Restores the default order when a test ends, whatever happens.
struct OrderGuard {
    explicit OrderGuard(Order o) { nst::emu::set_order(o); }
    ~OrderGuard() { nst::emu::set_order(Order::Forward); }
};

// Each thread records its global coordinates and the launch shape it sees.
__global__ void record_kernel(unsigned* seen, unsigned* shape) {
    const unsigned tid = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
    const unsigned bid = blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z);
    const unsigned threads = blockDim.x * blockDim.y * blockDim.z;
    seen[bid * threads + tid] += 1;
    if (bid == 0 && tid == 0) {
        shape[0] = gridDim.x, shape[1] = gridDim.y, shape[2] = gridDim.z;
        shape[3] = blockDim.x, shape[4] = blockDim.y, shape[5] = blockDim.z;
    }
}

// Reverses `in` within each block through shared memory: needs the barrier between the phases.
__global__ void reverse_kernel(const int* in, int* out) {
    __shared__ int tile[256];
    const int t = int(threadIdx.x), base = int(blockIdx.x * blockDim.x);
    tile[t] = in[base + t];
    __syncthreads();
    out[base + t] = tile[int(blockDim.x) - 1 - t];
}

// A fixed-order tree sum over the block, as kernels/common.cuh's block_sum: many barriers.
__global__ void tree_sum_kernel(const double* in, double* out) {
    __shared__ double s[128];
    const int t = int(threadIdx.x);
    s[t] = in[blockIdx.x * 128 + t];
    __syncthreads();
    for (int stride = 64; stride > 0; stride >>= 1) {
        if (t < stride) s[t] += s[t + stride];
        __syncthreads();
    }
    if (t == 0) out[blockIdx.x] = s[0];
}

// Threads below `quit` return before the barrier the others wait at.
__global__ void divergent_kernel(int quit, int* out) {
    if (int(threadIdx.x) < quit) return;
    __syncthreads();
    out[threadIdx.x] = 1;
}

__global__ void order_kernel(int* log, int* next) {
    if (threadIdx.x == 0) log[(*next)++] = int(blockIdx.x);
}

template <typename F>
void launch(dim3 grid, dim3 block, F&& kernel) {
    nst::emu::launch(kSite, grid, block, 0, nullptr, kernel);
}

}  // namespace

TEST_CASE("emu: built-in variables of a 3-D launch") {
    const dim3 grid(3, 2, 2), block(4, 3, 2);
    const unsigned blocks = 12, threads = 24;
    std::vector<unsigned> seen(blocks * threads, 0), shape(6, 0);
    unsigned* s = seen.data();
    unsigned* sh = shape.data();
    nst::emu::reset_stats();
    launch(grid, block, [=]() { record_kernel(s, sh); });
    for (unsigned v : seen) CHECK(v == 1);  // every (block, thread) exactly once
    CHECK(shape == std::vector<unsigned>{3, 2, 2, 4, 3, 2});
    CHECK(nst::emu::stats().launches == 1);
    CHECK(nst::emu::stats().blocks == blocks);
    CHECK(nst::emu::stats().threads == blocks * threads);
}

TEST_CASE("emu: a barrier orders shared-memory writes and reads") {
    for (Order order : {Order::Forward, Order::Reverse}) {
        OrderGuard guard(order);
        const int n = 3 * 256;
        std::vector<int> in(n), out(n, -1);
        for (int i = 0; i < n; ++i) in[i] = 7 * i + 1;
        const int* pi = in.data();
        int* po = out.data();
        launch(3, 256, [=]() { reverse_kernel(pi, po); });
        for (int i = 0; i < n; ++i) REQUIRE(out[i] == in[(i / 256) * 256 + 255 - i % 256]);

        std::vector<double> v(4 * 128), sums(4, 0);
        nst::emu_test::fill_normal(v.data(), v.size(), 1);
        const double* pv = v.data();
        double* ps = sums.data();
        nst::emu::reset_stats();
        launch(4, 128, [=]() { tree_sum_kernel(pv, ps); });
        CHECK(nst::emu::stats().barriers == 4 * 8);  // 1 + 7 levels per block
        for (int b = 0; b < 4; ++b) {
            // The same tree on the host.
            std::vector<double> s(v.begin() + b * 128, v.begin() + (b + 1) * 128);
            for (int stride = 64; stride > 0; stride >>= 1)
                for (int t = 0; t < stride; ++t) s[t] += s[t + stride];
            CHECK(sums[b] == s[0]);
        }
    }
}

TEST_CASE("emu: the reverse order runs the last block first") {
    std::vector<int> log(5, -1);
    int next = 0;
    int* pl = log.data();
    int* pn = &next;
    {
        OrderGuard guard(Order::Reverse);
        launch(5, 32, [=]() { order_kernel(pl, pn); });
    }
    CHECK(log == std::vector<int>{4, 3, 2, 1, 0});
    next = 0;
    launch(5, 32, [=]() { order_kernel(pl, pn); });
    CHECK(log == std::vector<int>{0, 1, 2, 3, 4});
}

TEST_CASE("emu: a divergent barrier is a kernel fault") {
    std::vector<int> out(64, 0);
    int* po = out.data();
    std::string message;
    try {
        launch(1, 64, [=]() { divergent_kernel(5, po); });
    } catch (const KernelFault& e) {
        message = e.what();
    }
    CHECK(message.find("divergent __syncthreads") != std::string::npos);
    CHECK(message.find("test_kernel") != std::string::npos);
    // The emulator is usable again, and a barrier every thread reaches is fine.
    launch(2, 64, [=]() { divergent_kernel(0, po); });
    CHECK(out[63] == 1);
}

TEST_CASE("emu: an invalid configuration is a launch error and runs nothing") {
    std::vector<unsigned> seen(4, 0), shape(6, 0);
    unsigned* s = seen.data();
    unsigned* sh = shape.data();
    CHECK(cudaGetLastError() == cudaSuccess);
    launch(dim3(1), dim3(2048), [=]() { record_kernel(s, sh); });  // > 1024 threads
    CHECK(cudaPeekAtLastError() == cudaErrorInvalidConfiguration);
    CHECK(cudaGetLastError() == cudaErrorInvalidConfiguration);
    CHECK(cudaGetLastError() == cudaSuccess);  // not sticky
    launch(dim3(0), dim3(4), [=]() { record_kernel(s, sh); });
    CHECK(cudaGetLastError() == cudaErrorInvalidConfiguration);
    launch(dim3(1, 65536), dim3(4), [=]() { record_kernel(s, sh); });
    CHECK(cudaGetLastError() == cudaErrorInvalidConfiguration);
    CHECK(seen == std::vector<unsigned>(4, 0));
    CHECK(std::string(cudaGetErrorName(cudaErrorInvalidConfiguration)) == "cudaErrorInvalidConfiguration");
}

TEST_CASE("emu: device faults end the launch") {
    alignas(16) float buf[12] = {};
    const float* misaligned = buf + 1;
    std::string message;
    try {
        launch(1, 8, [=]() { (void)__ldg(reinterpret_cast<const float4*>(misaligned)); });
    } catch (const KernelFault& e) {
        message = e.what();
    }
    CHECK(message.find("misaligned address") != std::string::npos);

    message.clear();
    try {
        launch(2, 8, [=]() {
            if (blockIdx.x == 1 && threadIdx.x == 3) throw std::runtime_error("boom");
        });
    } catch (const KernelFault& e) {
        message = e.what();
    }
    CHECK(message.find("boom") != std::string::npos);
    CHECK(message.find("block (1,0,0), thread (3,0,0)") != std::string::npos);

    CHECK_THROWS_AS(__syncthreads(), std::logic_error);  // host code has no block
    const float4 v = __ldg(reinterpret_cast<const float4*>(buf));  // aligned: fine
    CHECK(v.x == 0.f);
}

TEST_CASE("emu: the _rn intrinsics round every operation") {
    // a * b = 1 + 2^-11 + 2^-24 exactly: one rounding gives 1 + 2^-11 (a tie, to even), so the
    // separate multiply and add cancel to 0 while a fused multiply-add keeps 2^-24.
    volatile float a = 1.0f + 0x1p-12f, c = -(1.0f + 0x1p-11f);
    CHECK(__fadd_rn(__fmul_rn(a, a), c) == 0.0f);
    CHECK(a * a + c == 0.0f);  // plain expressions too: -ffp-contract=off
    CHECK(fmaf(a, a, c) == 0x1p-24f);
    CHECK(__fmaf_rn(a, a, c) == 0x1p-24f);
    volatile double x = 1.0 + 0x1p-30, z = -(1.0 + 0x1p-29);
    CHECK(__dadd_rn(__dmul_rn(x, x), z) == 0.0);
    CHECK(__double2float_rn(1.0 + 0x1p-24) == 1.0f);  // tie to even
    CHECK(__double2float_rn(1.0 + 0x1p-24 + 0x1p-40) == 1.0f + 0x1p-23f);
}
