// SPDX-License-Identifier: MIT
// The kernel emulator (see cuda_emu.h for what it models): fibers, the barrier scheduler, the
// runtime's error reporting, and the nst glue the kernel files link against (throw_cuda).
#include "cuda_emu.h"

#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "cuda/check.h"

// ---- fast context switch (x86-64 System V) ------------------------------------------------------
// nst_emu_switch(save, load): pushes the callee-saved registers, stores the stack pointer in
// *save, loads `load` as the stack pointer and pops the registers saved there. A fiber that never
// ran has a stack prepared by prepare() that "returns" into fiber_entry. The x87 control
// word and MXCSR are not switched: nothing in the emulator changes them.
#if defined(__x86_64__)
#define NST_EMU_FAST_SWITCH 1
asm(R"(
    .pushsection .text
    .p2align 4
    .globl nst_emu_switch
    .hidden nst_emu_switch
    .type nst_emu_switch, @function
nst_emu_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size nst_emu_switch, .-nst_emu_switch
    .popsection
)");
extern "C" void nst_emu_switch(void** save, void* load);
#else
#define NST_EMU_FAST_SWITCH 0
#endif

namespace {

constexpr std::size_t kStackBytes = 256 * 1024;  // per fiber; kernels need a few KiB
constexpr unsigned kMaxThreadsPerBlock = 1024;

enum class FiberState { Running, AtBarrier, Done };

struct Fiber {
    void* sp = nullptr;       // saved stack pointer (fast switch)
    ucontext_t context{};     // saved context (ucontext switch)
    char* stack = nullptr;    // usable stack [stack, stack + kStackBytes), guard page below
    FiberState state = FiberState::Done;
    uint3 thread{};
};

struct Emulator {
    // The built-in variables the kernels read (cuda_runtime.h binds references to these).
    uint3 thread_idx{}, block_idx{};
    dim3 block_dim, grid_dim;

    std::vector<Fiber> fibers;  // stacks are kept for the process's lifetime
    void* scheduler_sp = nullptr;
    ucontext_t scheduler_context{};
    int current = -1;           // fiber running now, -1: the scheduler (host code)
    bool in_launch = false;
    bool use_ucontext = false;

    nst::emu::Body body = nullptr;
    void* body_context = nullptr;
    const nst::emu::LaunchSite* site = nullptr;
    std::string fault_message;  // non-empty: the running launch faulted

    nst::emu::Order order = nst::emu::Order::Forward;
    nst::emu::Stats stats;
    cudaError_t last_error = cudaSuccess;
};

// One emulator per process. A plain global, so that the built-in variables below are bound to
// it by constant initialisation.
Emulator g_emulator;

Emulator& state() { return g_emulator; }

// Whether Intel CET's shadow stack is active: then returns must match calls, which the fast
// switch violates, and glibc's swapcontext (which switches shadow stacks) is used instead.
// RDSSPQ is a no-op without an active shadow stack and leaves its operand at 0.
bool shadow_stack_active() {
#if defined(__x86_64__)
    unsigned long long ssp = 0;
    asm volatile(".byte 0xf3, 0x48, 0x0f, 0x1e, 0xc8" : "+a"(ssp));  // rdsspq %rax
    return ssp != 0;
#else
    return false;
#endif
}

bool choose_ucontext() {
    if (!NST_EMU_FAST_SWITCH) return true;
    const char* env = std::getenv("NST_EMU_UCONTEXT");
    if (env && *env && std::string(env) != "0") return true;
    return shadow_stack_active();
}

std::string where(const Emulator& e) {
    const nst::emu::LaunchSite* s = e.site;
    std::string w = s ? std::string(s->kernel) + " (launched at " + s->file + ":" + std::to_string(s->line) + ")"
                      : std::string("a kernel");
    w += ", block (" + std::to_string(e.block_idx.x) + "," + std::to_string(e.block_idx.y) + "," +
         std::to_string(e.block_idx.z) + ")";
    if (e.current >= 0)
        w += ", thread (" + std::to_string(e.thread_idx.x) + "," + std::to_string(e.thread_idx.y) + "," +
             std::to_string(e.thread_idx.z) + ")";
    return w;
}

char* allocate_stack() {
    const std::size_t page = std::size_t(sysconf(_SC_PAGESIZE));
    void* p = mmap(nullptr, kStackBytes + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                   -1, 0);
    if (p == MAP_FAILED) throw std::runtime_error("cuda_emu: cannot map a fiber stack");
    if (mprotect(p, page, PROT_NONE) != 0) throw std::runtime_error("cuda_emu: cannot protect a stack guard page");
    return static_cast<char*>(p) + page;  // an overflow hits the guard page (SIGSEGV), not memory
}

// Switches from the running fiber back to the scheduler.
void yield_to_scheduler(Emulator& e) {
    Fiber& f = e.fibers[std::size_t(e.current)];
#if NST_EMU_FAST_SWITCH
    if (!e.use_ucontext) {
        nst_emu_switch(&f.sp, e.scheduler_sp);
        return;
    }
#endif
    swapcontext(&f.context, &e.scheduler_context);
}

// Every fiber starts here; it runs one thread of the kernel and never returns.
[[noreturn]] void run_fiber() {
    Emulator& e = state();
    try {
        e.body(e.body_context);
    } catch (const std::exception& ex) {
        e.fault_message = "exception thrown in device code of " + where(e) + ": " + ex.what();
    } catch (...) {
        e.fault_message = "exception thrown in device code of " + where(e);
    }
    e.fibers[std::size_t(e.current)].state = FiberState::Done;
    yield_to_scheduler(e);
    std::fputs("cuda_emu: a finished fiber was resumed\n", stderr);
    std::abort();
}

void fiber_entry() { run_fiber(); }

// Makes fiber f start at run_fiber on its next resume.
void prepare(Emulator& e, Fiber& f) {
    if (!f.stack) f.stack = allocate_stack();
    f.state = FiberState::Running;
#if NST_EMU_FAST_SWITCH
    if (!e.use_ucontext) {
        // Top of the stack, 16-byte aligned: 6 callee-saved registers (zero), the "return
        // address" fiber_entry, and a dummy return address for it, so that fiber_entry starts
        // with rsp = 8 (mod 16) as after a call.
        auto top = reinterpret_cast<std::uintptr_t>(f.stack + kStackBytes) & ~std::uintptr_t(15);
        auto* frame = reinterpret_cast<void**>(top) - 8;
        for (int i = 0; i < 6; ++i) frame[i] = nullptr;
        frame[6] = reinterpret_cast<void*>(&fiber_entry);
        frame[7] = nullptr;
        f.sp = frame;
        return;
    }
#endif
    getcontext(&f.context);
    f.context.uc_stack.ss_sp = f.stack;
    f.context.uc_stack.ss_size = kStackBytes;
    f.context.uc_link = nullptr;
    makecontext(&f.context, &fiber_entry, 0);
}

// Resumes fiber f until it reaches a barrier, returns, or faults.
void resume(Emulator& e, Fiber& f) {
#if NST_EMU_FAST_SWITCH
    if (!e.use_ucontext) {
        nst_emu_switch(&e.scheduler_sp, f.sp);
        return;
    }
#endif
    swapcontext(&e.scheduler_context, &f.context);
}

bool valid_configuration(dim3 grid, dim3 block) {
    if (grid.x == 0 || grid.y == 0 || grid.z == 0 || block.x == 0 || block.y == 0 || block.z == 0) return false;
    if (grid.x > 0x7fffffffu || grid.y > 65535 || grid.z > 65535) return false;
    if (block.x > 1024 || block.y > 1024 || block.z > 64) return false;
    return std::size_t(block.x) * block.y * block.z <= kMaxThreadsPerBlock;
}

// Leaves the launch state (fibers of a faulted launch are simply abandoned) and throws.
[[noreturn]] void abandon_launch(Emulator& e, std::string message) {  // by value: it may be e.fault_message
    e.in_launch = false;
    e.current = -1;
    e.site = nullptr;
    e.fault_message.clear();
    throw nst::emu::KernelFault("cuda_emu: " + message);
}

// Runs one block: rounds of "resume every waiting fiber once" until all have returned.
void run_block(Emulator& e, unsigned threads) {
    const bool reverse = e.order == nst::emu::Order::Reverse;
    for (unsigned t = 0; t < threads; ++t) {
        Fiber& f = e.fibers[t];
        prepare(e, f);
        f.thread = uint3{t % e.block_dim.x, (t / e.block_dim.x) % e.block_dim.y, t / (e.block_dim.x * e.block_dim.y)};
    }
    e.stats.threads += threads;
    for (;;) {
        unsigned done = 0, waiting = 0;
        for (unsigned i = 0; i < threads; ++i) {
            const unsigned t = reverse ? threads - 1 - i : i;
            Fiber& f = e.fibers[t];
            if (f.state == FiberState::Done) {
                ++done;
                continue;
            }
            f.state = FiberState::Running;
            e.current = int(t);
            e.thread_idx = f.thread;
            resume(e, f);
            e.current = -1;
            if (!e.fault_message.empty()) abandon_launch(e, e.fault_message);
            if (f.state == FiberState::Done)
                ++done;
            else
                ++waiting;
        }
        if (waiting == 0) return;
        if (done > 0) {
            abandon_launch(e, "divergent __syncthreads in " + where(e) + ": " + std::to_string(waiting) +
                                  " threads wait at a barrier that " + std::to_string(done) +
                                  " threads of the block never reach (they returned)");
        }
        ++e.stats.barriers;
    }
}

}  // namespace

// ---- built-in variables ---------------------------------------------------------------------------
const uint3& threadIdx = g_emulator.thread_idx;
const uint3& blockIdx = g_emulator.block_idx;
const dim3& blockDim = g_emulator.block_dim;
const dim3& gridDim = g_emulator.grid_dim;

void __syncthreads() {
    Emulator& e = state();
    if (e.current < 0) throw std::logic_error("cuda_emu: __syncthreads() called outside a kernel");
    e.fibers[std::size_t(e.current)].state = FiberState::AtBarrier;
    yield_to_scheduler(e);
}

// ---- runtime API ------------------------------------------------------------------------------
cudaError_t cudaGetLastError() {
    const cudaError_t r = state().last_error;
    state().last_error = cudaSuccess;
    return r;
}

cudaError_t cudaPeekAtLastError() { return state().last_error; }

const char* cudaGetErrorName(cudaError_t error) {
    switch (error) {
        case cudaSuccess: return "cudaSuccess";
        case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
        case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
        case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
        case cudaErrorMisalignedAddress: return "cudaErrorMisalignedAddress";
        case cudaErrorLaunchFailure: return "cudaErrorLaunchFailure";
        case cudaErrorNotSupported: return "cudaErrorNotSupported";
        case cudaErrorInvalidDevice: return "cudaErrorInvalidDevice";
        case cudaErrorStreamCaptureUnsupported: return "cudaErrorStreamCaptureUnsupported";
        case cudaErrorStreamCaptureInvalidated: return "cudaErrorStreamCaptureInvalidated";
        case cudaErrorStreamCaptureUnmatched: return "cudaErrorStreamCaptureUnmatched";
        case cudaErrorStreamCaptureWrongThread: return "cudaErrorStreamCaptureWrongThread";
    }
    return "cudaErrorUnknown";
}

const char* cudaGetErrorString(cudaError_t error) {
    switch (error) {
        case cudaSuccess: return "no error";
        case cudaErrorInvalidValue: return "invalid argument";
        case cudaErrorMemoryAllocation: return "out of memory";
        case cudaErrorInvalidConfiguration: return "invalid configuration argument";
        case cudaErrorMisalignedAddress: return "misaligned address";
        case cudaErrorLaunchFailure: return "unspecified launch failure";
        case cudaErrorNotSupported: return "operation not supported";
        case cudaErrorInvalidDevice: return "invalid device ordinal";
        case cudaErrorStreamCaptureUnsupported: return "operation not permitted when stream is capturing";
        case cudaErrorStreamCaptureInvalidated:
            return "operation failed due to a previous error during capture";
        case cudaErrorStreamCaptureUnmatched: return "capture was not initiated in this stream";
        case cudaErrorStreamCaptureWrongThread:
            return "attempt to terminate a thread-local capture sequence from another thread";
    }
    return "unknown error";
}

#if !defined(NST_EMU_BACKEND)  // the backend emulation's cudnn_emu.cpp has the real one
const char* cudnnGetErrorString(cudnnStatus_t status) {
    return status == CUDNN_STATUS_SUCCESS ? "CUDNN_STATUS_SUCCESS" : "cuDNN is not emulated";
}
#endif

namespace nst::emu {

namespace detail {
void misaligned_load(const void* address, std::size_t alignment) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%p", address);
    fault("misaligned address: " + std::to_string(alignment) + "-byte load from " + buf);
}
}  // namespace detail

namespace detail {
bool (*capturing)(cudaStream_t) = nullptr;
void (*record)(cudaStream_t, std::function<void()>) = nullptr;

bool check_launch(const LaunchSite& site, dim3 grid, dim3 block, std::size_t shmem) {
    if (!valid_configuration(grid, block)) {
        state().last_error = cudaErrorInvalidConfiguration;
        return false;
    }
    if (shmem != 0)
        throw KernelFault(std::string("cuda_emu: ") + site.kernel + " at " + site.file + ":" +
                          std::to_string(site.line) + ": dynamic shared memory is not emulated");
    return true;
}
}  // namespace detail

unsigned long long globaltimer_ns() {
    return static_cast<unsigned long long>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
            .count());
}

void set_order(Order order) { state().order = order; }
Order order() { return state().order; }
const Stats& stats() { return state().stats; }
void reset_stats() { state().stats = Stats{}; }

void fault(const std::string& message) {
    Emulator& e = state();
    if (e.current < 0) throw KernelFault("cuda_emu: " + message);
    e.fault_message = message + " in " + where(e);
    e.fibers[std::size_t(e.current)].state = FiberState::Done;
    yield_to_scheduler(e);
    std::fputs("cuda_emu: a faulted fiber was resumed\n", stderr);
    std::abort();
}

void launch_body(const LaunchSite& site, dim3 grid, dim3 block, std::size_t shmem, cudaStream_t, Body body,
                 void* context) {
    Emulator& e = state();
    if (e.in_launch)
        fault(std::string("launch of ") + site.kernel + " from device code (dynamic parallelism is not emulated)");
    if (!valid_configuration(grid, block)) {
        e.last_error = cudaErrorInvalidConfiguration;
        return;
    }
    if (shmem != 0)
        throw KernelFault(std::string("cuda_emu: ") + site.kernel + " at " + site.file + ":" +
                          std::to_string(site.line) + ": dynamic shared memory is not emulated");
    if (e.fibers.empty()) {
        e.use_ucontext = choose_ucontext();
        e.fibers.resize(kMaxThreadsPerBlock);
        // NST_EMU_ORDER=reverse runs a whole program (e.g. the backend emulation's suite) in
        // Order::Reverse from its first launch on.
        const char* env = std::getenv("NST_EMU_ORDER");
        if (env && std::string(env) == "reverse") e.order = Order::Reverse;
    }
    e.in_launch = true;
    e.site = &site;
    e.body = body;
    e.body_context = context;
    e.grid_dim = grid;
    e.block_dim = block;
    ++e.stats.launches;

    const unsigned threads = block.x * block.y * block.z;
    const unsigned long long blocks = (unsigned long long)grid.x * grid.y * grid.z;
    const bool reverse = e.order == Order::Reverse;
    for (unsigned long long i = 0; i < blocks; ++i) {
        const unsigned long long b = reverse ? blocks - 1 - i : i;
        e.block_idx = uint3{unsigned(b % grid.x), unsigned((b / grid.x) % grid.y), unsigned(b / (grid.x * grid.y))};
        run_block(e, threads);
        ++e.stats.blocks;
    }
    e.in_launch = false;
    e.site = nullptr;
}

}  // namespace nst::emu

// ---- the nst glue the kernel launchers call (src/cuda/check.h) -----------------------------------
// The backend emulation links src/cuda/check.cpp instead.
#if !defined(NST_EMU_BACKEND)
namespace nst::cuda {

void throw_cuda(cudaError_t status, const char* expr, const char* file, int line) {
    cudaGetLastError();
    throw_runtime(std::string("CUDA error: ") + cudaGetErrorName(status) + " (" + cudaGetErrorString(status) +
                  ") in " + expr + " at " + file + ":" + std::to_string(line));
}

void throw_cudnn(cudnnStatus_t status, const char* expr, const char* file, int line) {
    throw_runtime(std::string("cuDNN error: ") + cudnnGetErrorString(status) + " in " + expr + " at " + file + ":" +
                  std::to_string(line));
}

}  // namespace nst::cuda
#endif  // !NST_EMU_BACKEND
