// SPDX-License-Identifier: MIT
// The emulated CUDA runtime of the backend emulation (include/cuda_runtime_host.h says what it
// models): device memory as host memory within an emulated capacity, streams whose work runs when
// issued, and stream capture into graphs that replay the recorded work.
#include "cuda_runtime_emu.h"

#include <cuda_profiler_api.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "cuda_emu.h"

struct CUstream_st {
    unsigned int flags = 0;
    bool capturing = false;
    bool invalidated = false;              // an illegal call happened during the capture
    std::vector<std::function<void()>> work;  // recorded while capturing
};

struct CUgraph_st {
    std::vector<std::function<void()>> work;
};

struct CUgraphExec_st {
    std::vector<std::function<void()>> work;
};

namespace {

constexpr std::size_t kAlignment = 256;  // cudaMalloc's guarantee

struct Runtime {
    std::mutex mutex;
    std::unordered_map<void*, std::size_t> allocations;
    std::size_t in_use = 0;
    std::size_t capacity = std::size_t(8) << 30;
    bool poison = true;
    int streams_alive = 0;
    std::vector<CUstream_st*> capturing;  // streams in capture mode
    nst::emu::RuntimeStats stats;

    Runtime() {
        if (const char* env = std::getenv("NST_EMU_DEVICE_MEMORY_MIB"); env && *env)
            capacity = std::size_t(std::strtoull(env, nullptr, 10)) << 20;
        if (const char* env = std::getenv("NST_EMU_POISON"); env && *env) poison = std::string(env) != "0";
    }
};

Runtime& rt() {
    static Runtime* r = new Runtime;  // never destroyed: frees may come from static destructors
    return *r;
}


// Marks every capture invalid (the thread-local and global modes both forbid the call from the
// capturing thread) and says so on stderr, so that a silent fallback is visible in the log.
cudaError_t illegal_during_capture(const char* call) {
    Runtime& r = rt();
    if (r.capturing.empty()) return cudaSuccess;
    for (CUstream_st* s : r.capturing) s->invalidated = true;
    ++r.stats.illegal_calls_during_capture;
    std::fprintf(stderr, "cuda_runtime_emu: %s during stream capture (cudaErrorStreamCaptureUnsupported)\n", call);
    return cudaErrorStreamCaptureUnsupported;
}

bool stream_capturing(cudaStream_t s) {
    if (s) return s->capturing;
    // The legacy default stream cannot capture; work on it while another stream captures is an
    // error in the real runtime (it synchronises with the capturing stream).
    return false;
}

void record_work(cudaStream_t s, std::function<void()> work) { s->work.push_back(std::move(work)); }

struct InstallHooks {
    InstallHooks() {
        nst::emu::detail::capturing = &stream_capturing;
        nst::emu::detail::record = &record_work;
    }
} g_install_hooks;

bool capturing_any() { return !rt().capturing.empty(); }

// Legacy-stream work while a stream captures (cudaMemcpyAsync on stream 0 etc.).
cudaError_t legacy_during_capture(cudaStream_t s, const char* call) {
    if (!s && capturing_any()) return illegal_during_capture(call);
    return cudaSuccess;
}

}  // namespace

namespace nst::emu {

const RuntimeStats& runtime_stats() { return rt().stats; }

std::size_t device_bytes_allocated() {
    Runtime& r = rt();
    std::lock_guard<std::mutex> lock(r.mutex);
    return r.in_use;
}

void set_device_capacity(std::size_t bytes) { rt().capacity = bytes; }
std::size_t device_capacity() { return rt().capacity; }

void run_or_record(cudaStream_t stream, std::function<void()> work) {
    if (stream && stream->capturing) {
        stream->work.push_back(std::move(work));
        return;
    }
    work();
}

}  // namespace nst::emu

// ---- device --------------------------------------------------------------------------------------
cudaError_t cudaGetDeviceCount(int* count) {
    if (!count) return cudaErrorInvalidValue;
    *count = 1;
    return cudaSuccess;
}

cudaError_t cudaSetDevice(int device) { return device == 0 ? cudaSuccess : cudaErrorInvalidDevice; }

cudaError_t cudaGetDevice(int* device) {
    if (!device) return cudaErrorInvalidValue;
    *device = 0;
    return cudaSuccess;
}

cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device) {
    if (!prop) return cudaErrorInvalidValue;
    if (device != 0) return cudaErrorInvalidDevice;
    *prop = cudaDeviceProp{};
    std::snprintf(prop->name, sizeof prop->name, "%s", "emulated");
    prop->totalGlobalMem = rt().capacity;
    prop->multiProcessorCount = 132;
    prop->major = 9;
    prop->minor = 0;
    prop->warpSize = 32;
    prop->maxThreadsPerBlock = 1024;
    return cudaSuccess;
}

cudaError_t cudaDeviceSynchronize() {
    if (const cudaError_t e = illegal_during_capture("cudaDeviceSynchronize")) return e;
    return cudaSuccess;
}

cudaError_t cudaMemGetInfo(std::size_t* free_bytes, std::size_t* total_bytes) {
    Runtime& r = rt();
    std::lock_guard<std::mutex> lock(r.mutex);
    if (free_bytes) *free_bytes = r.capacity > r.in_use ? r.capacity - r.in_use : 0;
    if (total_bytes) *total_bytes = r.capacity;
    return cudaSuccess;
}

// ---- memory --------------------------------------------------------------------------------------
cudaError_t cudaMalloc(void** ptr, std::size_t bytes) {
    if (!ptr) return cudaErrorInvalidValue;
    *ptr = nullptr;
    if (const cudaError_t e = illegal_during_capture("cudaMalloc")) return e;
    if (bytes == 0) return cudaSuccess;
    Runtime& r = rt();
    {
        std::lock_guard<std::mutex> lock(r.mutex);
        if (bytes > r.capacity || r.in_use > r.capacity - bytes) return cudaErrorMemoryAllocation;
    }
    const std::size_t rounded = (bytes + kAlignment - 1) / kAlignment * kAlignment;
    void* p = std::aligned_alloc(kAlignment, rounded);
    if (!p) return cudaErrorMemoryAllocation;
    // Fresh device memory is not zeroed: poison it (all bits set: NaN as float and double), so
    // that a read before the first write shows.
    if (r.poison) std::memset(p, 0xff, rounded);
    std::lock_guard<std::mutex> lock(r.mutex);
    r.allocations[p] = bytes;
    r.in_use += bytes;
    ++r.stats.allocations;
    *ptr = p;
    return cudaSuccess;
}

cudaError_t cudaFree(void* ptr) {
    if (const cudaError_t e = illegal_during_capture("cudaFree")) return e;
    if (!ptr) return cudaSuccess;
    Runtime& r = rt();
    {
        std::lock_guard<std::mutex> lock(r.mutex);
        const auto it = r.allocations.find(ptr);
        if (it == r.allocations.end()) return cudaErrorInvalidValue;
        r.in_use -= it->second;
        r.allocations.erase(it);
    }
    std::free(ptr);
    return cudaSuccess;
}

cudaError_t cudaMemcpy(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind) {
    if (const cudaError_t e = illegal_during_capture("cudaMemcpy")) return e;
    if (int(kind) < 0 || int(kind) > 4) return cudaErrorInvalidValue;
    if (bytes) std::memmove(dst, src, bytes);
    return cudaSuccess;
}

cudaError_t cudaMemcpyAsync(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind, cudaStream_t stream) {
    if (const cudaError_t e = legacy_during_capture(stream, "cudaMemcpyAsync on the legacy stream")) return e;
    if (int(kind) < 0 || int(kind) > 4) return cudaErrorInvalidValue;
    if (bytes == 0) return cudaSuccess;
    nst::emu::run_or_record(stream, [dst, src, bytes] { std::memmove(dst, src, bytes); });
    return cudaSuccess;
}

cudaError_t cudaMemset(void* dst, int value, std::size_t bytes) {
    if (const cudaError_t e = illegal_during_capture("cudaMemset")) return e;
    if (bytes) std::memset(dst, value, bytes);
    return cudaSuccess;
}

cudaError_t cudaMemsetAsync(void* dst, int value, std::size_t bytes, cudaStream_t stream) {
    if (const cudaError_t e = legacy_during_capture(stream, "cudaMemsetAsync on the legacy stream")) return e;
    if (bytes == 0) return cudaSuccess;
    nst::emu::run_or_record(stream, [dst, value, bytes] { std::memset(dst, value, bytes); });
    return cudaSuccess;
}

// ---- streams -------------------------------------------------------------------------------------
cudaError_t cudaStreamCreate(cudaStream_t* stream) { return cudaStreamCreateWithFlags(stream, cudaStreamDefault); }

cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned int flags) {
    if (!stream) return cudaErrorInvalidValue;
    *stream = new CUstream_st;
    (*stream)->flags = flags;
    ++rt().streams_alive;
    return cudaSuccess;
}

cudaError_t cudaStreamDestroy(cudaStream_t stream) {
    if (!stream) return cudaErrorInvalidValue;
    Runtime& r = rt();
    r.capturing.erase(std::remove(r.capturing.begin(), r.capturing.end(), stream), r.capturing.end());
    delete stream;
    --r.streams_alive;
    return cudaSuccess;
}

cudaError_t cudaStreamSynchronize(cudaStream_t stream) {
    if (stream && stream->capturing) {
        stream->invalidated = true;
        return illegal_during_capture("cudaStreamSynchronize on a capturing stream");
    }
    if (const cudaError_t e = legacy_during_capture(stream, "cudaStreamSynchronize on the legacy stream")) return e;
    return cudaSuccess;
}

cudaError_t cudaStreamBeginCapture(cudaStream_t stream, cudaStreamCaptureMode mode) {
    if (!stream) return cudaErrorStreamCaptureUnsupported;  // the legacy stream cannot capture
    if (int(mode) < 0 || int(mode) > 2) return cudaErrorInvalidValue;
    if (stream->capturing) return cudaErrorIllegalStateEmu;
    stream->capturing = true;
    stream->invalidated = false;
    stream->work.clear();
    rt().capturing.push_back(stream);
    ++rt().stats.captures;
    return cudaSuccess;
}

cudaError_t cudaStreamEndCapture(cudaStream_t stream, cudaGraph_t* graph) {
    if (!graph) return cudaErrorInvalidValue;
    *graph = nullptr;
    if (!stream || !stream->capturing) return cudaErrorIllegalStateEmu;
    Runtime& r = rt();
    r.capturing.erase(std::remove(r.capturing.begin(), r.capturing.end(), stream), r.capturing.end());
    stream->capturing = false;
    std::vector<std::function<void()>> work;
    work.swap(stream->work);
    if (stream->invalidated) {
        stream->invalidated = false;
        ++r.stats.failed_captures;
        return cudaErrorStreamCaptureInvalidated;
    }
    *graph = new CUgraph_st{std::move(work)};
    return cudaSuccess;
}

cudaError_t cudaStreamIsCapturing(cudaStream_t stream, cudaStreamCaptureStatus* status) {
    if (!status) return cudaErrorInvalidValue;
    *status = !stream || !stream->capturing ? cudaStreamCaptureStatusNone
              : stream->invalidated        ? cudaStreamCaptureStatusInvalidated
                                           : cudaStreamCaptureStatusActive;
    return cudaSuccess;
}

// ---- graphs --------------------------------------------------------------------------------------
cudaError_t cudaGraphInstantiate(cudaGraphExec_t* exec, cudaGraph_t graph, unsigned long long) {
    if (!exec || !graph) return cudaErrorInvalidValue;
    *exec = new CUgraphExec_st{graph->work};  // a copy: the graph may be destroyed right after
    ++rt().stats.graphs_instantiated;
    return cudaSuccess;
}

cudaError_t cudaGraphLaunch(cudaGraphExec_t exec, cudaStream_t stream) {
    if (!exec) return cudaErrorInvalidValue;
    if (stream && stream->capturing) return illegal_during_capture("cudaGraphLaunch into a capturing stream");
    ++rt().stats.graph_launches;
    for (auto& w : exec->work) w();
    return cudaSuccess;
}

cudaError_t cudaGraphDestroy(cudaGraph_t graph) {
    delete graph;
    return cudaSuccess;
}

cudaError_t cudaGraphExecDestroy(cudaGraphExec_t exec) {
    delete exec;
    return cudaSuccess;
}

// ---- profiler ------------------------------------------------------------------------------------
cudaError_t cudaProfilerStart() { return cudaSuccess; }
cudaError_t cudaProfilerStop() { return cudaSuccess; }
