// SPDX-License-Identifier: MIT
// cuda::Lbfgs and cuda::Adam (optim_cuda.h): the device buffers, their initial state and the
// fixed launch sequence of one step. The arithmetic lives in kernels/lbfgs.cu and
// kernels/adam.cu; this file only allocates (constructor), queues (step) and copies back for
// the inspection functions that tests use.
#include "cuda/optim_cuda.h"

#include <cmath>
#include <initializer_list>

#include "core/buffer.h"
#include "core/error.h"
#include "cuda/check.h"
#include "cuda/nvtx.h"
#include "kernels/adam.h"
#include "kernels/lbfgs.h"

namespace nst::cuda {

namespace {

// Device buffer of `count` elements of T.
template <typename T>
Buffer device_array(std::size_t count) {
    return Buffer(count * sizeof(T), Device::Cuda);
}

// Queues zeroing of a whole buffer.
void zero(Buffer& b, cudaStream_t stream) { NST_CUDA_CHECK(cudaMemsetAsync(b.data(), 0, b.bytes(), stream)); }

// Copies `bytes` from the device to the host after the stream's queued work (synchronises).
void copy_to_host(void* dst, const void* src, std::size_t bytes, const Context& ctx) {
    NST_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, ctx.stream()));
    ctx.synchronize();
}

}  // namespace

// ---- L-BFGS --------------------------------------------------------------------------------

struct Lbfgs::Impl {
    Context& ctx;
    std::size_t n;
    cpu::LbfgsOptions options;
    Buffer scalars;   // kernels::LbfgsScalars
    Buffer rho;       // (M) doubles
    Buffer alpha;     // (M) doubles
    Buffer partials;  // kernels::kLbfgsPartials doubles
    Buffer history;   // (2, M, n) floats or bf16 values (options.history_precision): s slots, then y slots
    Buffer d;         // (n) floats
    Buffer g_prev;    // (n) floats
    Buffer tol_partials;  // 2 * kMaxPartials doubles: lbfgs_tolerances' block maxima
    kernels::LbfgsView view{};

    kernels::LbfgsScalars read_scalars() const {
        kernels::LbfgsScalars sc{};
        copy_to_host(&sc, scalars.data(), sizeof(sc), ctx);
        return sc;
    }

    // Ring slot of pair i (0 = oldest), checked against the pairs kept.
    int slot_of(int i) const {
        const kernels::LbfgsScalars sc = read_scalars();
        NST_REQUIRE(i >= 0 && i < sc.count, "L-BFGS pair index out of range");
        return (sc.head + i) % options.history;
    }

    std::vector<float> vector_at(const float* src) const {
        std::vector<float> out(n);
        copy_to_host(out.data(), src, n * sizeof(float), ctx);
        return out;
    }

    // History vector `index` (s slots 0..M-1, then y slots), converted to float.
    std::vector<float> history_vector(std::size_t index) const {
        if (view.history) return vector_at(view.history + index * n);
        std::vector<Bf16> half(n);
        copy_to_host(half.data(), view.history_half + index * n, n * sizeof(Bf16), ctx);
        std::vector<float> out(n);
        for (std::size_t e = 0; e < n; ++e) out[e] = bf16_to_float(half[e]);
        return out;
    }
};

Lbfgs::Lbfgs(Context& ctx, std::size_t n, cpu::LbfgsOptions options, RunState* state, const double* total) {
    // The CPU twin's checks, with its messages.
    if (options.history < 1) throw_usage("--lbfgs-history: must be at least 1");
    if (!(options.learning_rate > 0) || !std::isfinite(options.learning_rate))
        throw_usage("--learning-rate: must be a positive number");
    NST_REQUIRE(n > 0, "L-BFGS needs a non-empty variable");
    NST_REQUIRE(state != nullptr && total != nullptr, "L-BFGS needs the run state and the total");
    const cudaStream_t stream = ctx.stream();
    const std::size_t m_slots = std::size_t(options.history);

    // The whole history up front (2 * M * n values of 4 or, with bf16, 2 bytes): step() must never
    // allocate. It needs no initial values: a slot is read only after a pair was stored in it.
    const bool half = options.history_precision == HistoryPrecision::Bf16;
    m = std::unique_ptr<Impl>(new Impl{ctx, n, options, device_array<kernels::LbfgsScalars>(1),
                                       device_array<double>(m_slots), device_array<double>(m_slots),
                                       device_array<double>(kernels::kLbfgsPartials),
                                       half ? device_array<Bf16>(2 * m_slots * n) : device_array<float>(2 * m_slots * n),
                                       device_array<float>(n),
                                       device_array<float>(n), device_array<double>(2 * kernels::kMaxPartials), {}});
    for (Buffer* b : {&m->rho, &m->alpha, &m->partials, &m->d, &m->g_prev}) zero(*b, stream);
    kernels::LbfgsScalars init{};
    init.skip = 1;
    init.h_diag = 1.0;  // as cpu::Lbfgs before its first step
    NST_CUDA_CHECK(cudaMemcpyAsync(m->scalars.data(), &init, sizeof(init), cudaMemcpyHostToDevice, stream));
    ctx.synchronize();  // `init` is a local; the memsets are done too

    kernels::LbfgsView& v = m->view;
    v.scalars = static_cast<kernels::LbfgsScalars*>(m->scalars.data());
    v.rho = static_cast<double*>(m->rho.data());
    v.alpha = static_cast<double*>(m->alpha.data());
    v.partials = static_cast<double*>(m->partials.data());
    v.history = half ? nullptr : static_cast<float*>(m->history.data());
    v.history_half = half ? static_cast<Bf16*>(m->history.data()) : nullptr;
    v.d = static_cast<float*>(m->d.data());
    v.g_prev = static_cast<float*>(m->g_prev.data());
    v.n = static_cast<long long>(n);
    v.m = options.history;
    v.blocks = kernels::reduce_blocks(n);
    v.learning_rate = options.learning_rate;
    v.tol_grad = options.tol_grad;
    v.tol_change = options.tol_change;
    v.tol_partials = static_cast<double*>(m->tol_partials.data());
    v.state = state;
    v.total = total;
}

Lbfgs::~Lbfgs() = default;

void Lbfgs::step(float* x, const float* g) {
    NvtxRange range("lbfgs step");
    const kernels::LbfgsView& v = m->view;
    const cudaStream_t stream = m->ctx.stream();
    // Always the same 2M + 4 launches (kernels/lbfgs.h): positions beyond the pairs kept return
    // on the device, so the sequence does not depend on device state and can live in a graph.
    kernels::lbfgs_tolerances(v, g, stream);
    kernels::lbfgs_begin(v, stream);
    kernels::lbfgs_pair_dots(v, g, stream);
    kernels::lbfgs_first_pass(v, g, stream);
    for (int p = 0; p < v.m; ++p) kernels::lbfgs_loop1(v, p, stream);
    for (int p = 0; p < v.m; ++p) kernels::lbfgs_loop2(v, p, g, stream);
    kernels::lbfgs_finish(v, x, stream);
}

int Lbfgs::iterations() const { return m->read_scalars().iter; }

int Lbfgs::num_pairs() const { return m->read_scalars().count; }

double Lbfgs::last_step_size() const { return m->read_scalars().t; }

double Lbfgs::h_diag() const { return m->read_scalars().h_diag; }

std::vector<float> Lbfgs::direction() const { return m->vector_at(m->view.d); }

std::vector<float> Lbfgs::s(int i) const {
    return m->history_vector(std::size_t(m->slot_of(i)));
}

std::vector<float> Lbfgs::y(int i) const {
    return m->history_vector(std::size_t(m->options.history) + std::size_t(m->slot_of(i)));
}

std::size_t Lbfgs::device_bytes() const {
    return m->scalars.bytes() + m->rho.bytes() + m->alpha.bytes() + m->partials.bytes() + m->history.bytes() +
           m->d.bytes() + m->g_prev.bytes();
}

// ---- Adam ----------------------------------------------------------------------------------

struct Adam::Impl {
    Context& ctx;
    Buffer scalars;  // kernels::AdamScalars
    Buffer m;        // (n) floats
    Buffer v;        // (n) floats
    kernels::AdamView view{};
};

Adam::Adam(Context& ctx, std::size_t n, cpu::AdamOptions options, RunState* state, const double* total) {
    // The CPU twin's checks, with its messages.
    if (!(options.learning_rate > 0) || !std::isfinite(options.learning_rate))
        throw_usage("--learning-rate: must be a positive number");
    NST_REQUIRE(options.beta1 >= 0 && options.beta1 < 1 && options.beta2 >= 0 && options.beta2 < 1,
                "Adam betas must lie in [0, 1)");
    NST_REQUIRE(n > 0, "Adam needs a non-empty variable");
    NST_REQUIRE(state != nullptr && total != nullptr, "Adam needs the run state and the total");
    const cudaStream_t stream = ctx.stream();
    m = std::unique_ptr<Impl>(
        new Impl{ctx, device_array<kernels::AdamScalars>(1), device_array<float>(n), device_array<float>(n), {}});
    for (Buffer* b : {&m->scalars, &m->m, &m->v}) zero(*b, stream);  // iter 0, zero moments
    ctx.synchronize();

    kernels::AdamView& a = m->view;
    a.scalars = static_cast<kernels::AdamScalars*>(m->scalars.data());
    a.m = static_cast<float*>(m->m.data());
    a.v = static_cast<float*>(m->v.data());
    a.n = static_cast<long long>(n);
    a.learning_rate = options.learning_rate;
    a.beta1 = options.beta1;
    a.beta2 = options.beta2;
    a.eps = options.eps;
    a.state = state;
    a.total = total;
}

Adam::~Adam() = default;

void Adam::step(float* x, const float* g) {
    NvtxRange range("adam step");
    const cudaStream_t stream = m->ctx.stream();
    kernels::adam_begin(m->view, stream);
    kernels::adam_update(m->view, x, g, stream);
}

void Adam::set_learning_rate(double learning_rate) {
    NST_REQUIRE(learning_rate > 0 && std::isfinite(learning_rate), "Adam: the learning rate must be positive");
    m->view.learning_rate = learning_rate;
}

int Adam::iterations() const {
    kernels::AdamScalars sc{};
    copy_to_host(&sc, m->scalars.data(), sizeof(sc), m->ctx);
    return sc.iter;
}

std::vector<float> Adam::first_moment() const {
    std::vector<float> out(std::size_t(m->view.n));
    copy_to_host(out.data(), m->m.data(), out.size() * sizeof(float), m->ctx);
    return out;
}

std::vector<float> Adam::second_moment() const {
    std::vector<float> out(std::size_t(m->view.n));
    copy_to_host(out.data(), m->v.data(), out.size() * sizeof(float), m->ctx);
    return out;
}

void Adam::set_state(int iterations, const float* first, const float* second) {
    NST_REQUIRE(iterations >= 0, "Adam state: negative step count");
    const cudaStream_t stream = m->ctx.stream();
    const std::size_t bytes = std::size_t(m->view.n) * sizeof(float);
    // The bias corrections are recomputed from iter by adam_begin, so iter is all the scalars hold.
    kernels::AdamScalars sc{};
    sc.iter = iterations;
    NST_CUDA_CHECK(cudaMemcpyAsync(m->scalars.data(), &sc, sizeof(sc), cudaMemcpyHostToDevice, stream));
    NST_CUDA_CHECK(cudaMemcpyAsync(m->m.data(), first, bytes, cudaMemcpyHostToDevice, stream));
    NST_CUDA_CHECK(cudaMemcpyAsync(m->v.data(), second, bytes, cudaMemcpyHostToDevice, stream));
    m->ctx.synchronize();  // the host arrays may go away on return
}

}  // namespace nst::cuda
