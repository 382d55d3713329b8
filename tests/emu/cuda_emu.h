// SPDX-License-Identifier: MIT
// A host-side emulator of CUDA kernels, so that the REAL kernel sources of kernels/*.cu run on
// the CPU in CI (which has nvcc but no GPU) and can be compared with the CPU oracle.
//
// How a kernel file gets here: tools/emu_kernel.py rewrites every launch
//     kernel<<<grid, block, shmem, stream>>>(args);
// into
//     ::nst::emu::launch(::nst::emu::LaunchSite{"kernel", __FILE__, __LINE__}, dim3(grid), dim3(block),
//                        (shmem), (stream), [=]() { kernel(args); });
// and the result is compiled as C++ with tests/emu/include first on the include path, where
// cuda_runtime.h and cudnn.h are this emulator's (see include/cuda_runtime.h for the API subset).
//
// WHAT IT MODELS
//   - The execution model of one launch: every CUDA thread of a block is a fiber (its own stack),
//     with threadIdx / blockIdx / blockDim / gridDim set as on the device, 1-D to 3-D.
//   - __syncthreads(): a fiber runs until it reaches a barrier or returns; when every fiber of
//     the block has arrived, all continue. A barrier that some threads reach while others have
//     returned (a divergent __syncthreads) is reported as an error. That is stricter than current
//     hardware, which tolerates exited threads; CUDA calls it undefined.
//   - __shared__ memory, as function-local statics (see "does not" below for the consequence).
//   - The launch configuration limits (block <= 1024 threads, grid.y/z <= 65535, no zero
//     dimension): a bad configuration makes cudaGetLastError() return
//     cudaErrorInvalidConfiguration and runs nothing, as the runtime does.
//   - Misaligned float4 __ldg loads, which fault on the device: the launch throws KernelFault.
//   - Stream order, trivially: a launch runs to completion before launch() returns.
//   - Arithmetic: float and double as IEEE-754 binary32 / binary64 with round-to-nearest, the
//     _rn intrinsics as single correctly rounded operations, fmaf / fma as fused. This holds only
//     when the emulated sources are compiled with -ffp-contract=off (tests/emu/CMakeLists.txt
//     does so) on a target without excess precision (checked below).
//
// WHAT IT DOES NOT MODEL
//   - Warps: no warp-level semantics, no lockstep execution, no __shfl / __syncwarp / __ballot /
//     warpSize (they are not declared, so a kernel using them does not compile here).
//   - Concurrency: blocks run one after another and the threads of a block one after another
//     between barriers, in a fixed order (Order::Forward, or Order::Reverse to shake out order
//     dependencies). Data races, missing barriers and missing __threadfence are NOT detected in
//     general; a race shows up only if the two orders give different results.
//   - __shared__ as statics: correct only because exactly one block runs at a time and all of its
//     fibers share the statics. Dynamic (extern) shared memory is not supported.
//   - Memory: one flat host address space. No device / host distinction, no memory model, no
//     caches or coherence, no out-of-bounds detection (the tests guard their buffers instead),
//     no atomics.
//   - nvcc's floating point: nvcc contracts a * b + c into an FMA by default; the emulator
//     rounds every operation of a plain expression separately. Expressions the kernels write with
//     _rn intrinsics (or whose products are exact in double) behave identically on both; any other
//     product feeding a sum may differ on the GPU in the last bit. The device's pow / exp / log /
//     sin are not emulated either: the host libm's are used.
//   - Performance, occupancy, register limits, __launch_bounds__, and anything of the CUDA runtime
//     beyond error reporting (streams, events, graphs, memory management) — nor cuDNN. The
//     backend emulation (nst_emu_backend_tests) adds those on top: cuda_runtime_emu.cpp and
//     cudnn_emu.cpp, declared by include/cuda_runtime_host.h and include/cudnn.h.
//
// The emulator is single-threaded: launch() must not be called concurrently or from a kernel.
// Fibers switch with a few instructions of assembly on x86-64 (ucontext elsewhere, when the
// shadow stack of Intel CET is active, or when NST_EMU_UCONTEXT=1 is set). It is not annotated
// for AddressSanitizer or Valgrind, and it relies on __syncthreads() being an opaque call (no
// LTO across cuda_emu.cpp), so that the compiler reloads shared memory after a barrier.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <functional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#if !defined(NST_CUDA_EMU)
#error "tests/emu/include must come first on the include path: the real cuda_runtime.h was found"
#endif
#if defined(__FLT_EVAL_METHOD__) && __FLT_EVAL_METHOD__ != 0
#error "the kernel emulator needs float and double arithmetic without excess precision (SSE2, not x87)"
#endif

namespace nst::emu {

// Where a launch comes from (filled in by tools/emu_kernel.py): for error messages.
struct LaunchSite {
    const char* kernel;  // the launched expression, e.g. "gram_partial_kernel<true>"
    const char* file;
    int line;
};

// A device-side error of a launch (divergent barrier, misaligned load, exception in device
// code, nested launch). The launch is abandoned; the emulator stays usable.
class KernelFault : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// The order in which blocks, and the threads of a block between two barriers, are run.
// Reverse runs the last block first and, in every barrier interval, the last thread first.
// The environment variable NST_EMU_ORDER=reverse selects Reverse before the first launch.
enum class Order { Forward, Reverse };
void set_order(Order order);
Order order();

// Counters since the last reset_stats().
struct Stats {
    long long launches = 0;        // launches that ran (invalid configurations excluded)
    long long blocks = 0;
    long long threads = 0;         // fibers run
    long long barriers = 0;        // block-wide barrier releases
};
const Stats& stats();
void reset_stats();

using Body = void (*)(void* context);

// Runs body(context) as every thread of a grid x block launch, block after block. Throws
// KernelFault on a device-side error; an invalid configuration sets the error returned by
// cudaGetLastError() and runs nothing, as the runtime does. `stream` is ignored (every launch is
// synchronous); shmem must be 0 (no dynamic shared memory).
void launch_body(const LaunchSite& site, dim3 grid, dim3 block, std::size_t shmem, cudaStream_t stream, Body body,
                 void* context);

namespace detail {
// Stream capture (the backend emulation's runtime, cuda_runtime_emu.cpp, sets these; the kernel
// suite leaves them null and every launch runs at once). capturing(stream): whether work issued
// on `stream` is to be recorded; record(stream, work): appends it to the stream's capture.
extern bool (*capturing)(cudaStream_t stream);
extern void (*record)(cudaStream_t stream, std::function<void()> work);
// Whether a launch configuration is valid; if not, sets the error cudaGetLastError() returns.
bool check_launch(const LaunchSite& site, dim3 grid, dim3 block, std::size_t shmem);
}  // namespace detail

// The form the rewritten kernel files call: `kernel` is a lambda running one thread's kernel.
// On a capturing stream the launch (configuration checked now, as the runtime does) is recorded
// with a copy of the lambda, i.e. of the kernel's arguments, and runs when the graph is launched.
template <typename Kernel>
void launch(const LaunchSite& site, dim3 grid, dim3 block, std::size_t shmem, cudaStream_t stream,
            Kernel&& kernel) {
    using K = std::remove_reference_t<Kernel>;
    if (detail::capturing && detail::capturing(stream)) {
        if (!detail::check_launch(site, grid, block, shmem)) return;
        detail::record(stream, [site, grid, block, shmem, stream, k = std::decay_t<Kernel>(kernel)]() mutable {
            using KC = decltype(k);
            launch_body(site, grid, block, shmem, stream, [](void* p) { (*static_cast<KC*>(p))(); }, &k);
        });
        return;
    }
    launch_body(site, grid, block, shmem, stream, [](void* k) { (*static_cast<K*>(k))(); },
                const_cast<void*>(static_cast<const void*>(&kernel)));
}

// The device's %globaltimer (nanoseconds of wall time): the host's steady clock. The rewriter
// (tools/emu_kernel.py) turns `asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));` into
// `t = ::nst::emu::globaltimer_ns();`.
unsigned long long globaltimer_ns();

// Ends the current launch with KernelFault(message), from device code. Outside a launch, throws.
[[noreturn]] void fault(const std::string& message);

}  // namespace nst::emu
