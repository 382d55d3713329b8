// SPDX-License-Identifier: MIT
// kernels/adam.cu and kernels/lbfgs.cu under emulation vs cpu::Adam<float> and cpu::Lbfgs<float>
// (src/optim), step by step.
//
// Both optimisers get the same gradient each step (computed from the CPU's state), so they differ
// only by their own rounding:
//   Adam: element formulas written with _rn intrinsics, scalars from the host's pow: x is
//         bit-identical.
//   L-BFGS: the dot products are double sums in another order, so alpha, beta, rho, H_diag and t
//         agree to ~1e-16 and the vectors to float rounding: y = g - g_prev is formed from
//         identical floats and must be bit-identical; s, d and x within 1e-5 of their max-norm;
//         pair counts, ring position, iteration counts and the run state exactly.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "core/bf16.h"
#include "cuda/run_state.h"
#include "cuda_emu.h"
#include "emu_test_util.h"
#include "kernels/adam.h"
#include "kernels/lbfgs.h"
#include "optim/adam.h"
#include "optim/lbfgs.h"

using nst::Bf16;
using nst::bf16_from_float;
using nst::bf16_to_float;
using nst::HistoryPrecision;
using nst::emu_test::Guarded;
namespace kernels = nst::kernels;
namespace cuda = nst::cuda;

namespace {

// max |a - b| / max |b|.
double max_norm_rel(const float* a, const float* b, std::size_t n) {
    double diff = 0, ref = 0;
    for (std::size_t i = 0; i < n; ++i) {
        diff = std::max(diff, std::fabs(double(a[i]) - double(b[i])));
        ref = std::max(ref, std::fabs(double(b[i])));
    }
    return ref > 0 ? diff / ref : diff;
}

// ---- L-BFGS ---------------------------------------------------------------------------------------

// The device state of one L-BFGS as cuda::Lbfgs's constructor sets it up (src/cuda/optim_cuda.cpp):
// rho, alpha, partials, d and g_prev zeroed, scalars {skip = 1, h_diag = 1}, the history left
// unset (NaN here, so that a slot read before it is written poisons d), and the run state and
// total the engine keeps. The history is floats or, with bf16 precision, bf16 values (NaN too).
struct EmuLbfgs {
    Guarded<kernels::LbfgsScalars> scalars;
    Guarded<double> rho, alpha, partials;
    Guarded<float> history;
    Guarded<Bf16> history_half;
    Guarded<float> d, g_prev;
    Guarded<cuda::RunState> state;
    Guarded<double> total;
    Guarded<double> tol_partials;  // lbfgs_tolerances' block maxima (used when a tolerance is set)
    kernels::LbfgsView v{};

    EmuLbfgs(std::size_t n, int m, double learning_rate, HistoryPrecision precision, double tol_grad = -1,
             double tol_change = -1)
        : scalars(1), rho(std::size_t(m), 0, 0.0), alpha(std::size_t(m), 0, 0.0),
          partials(kernels::kLbfgsPartials, 0, 0.0),
          history(precision == HistoryPrecision::Fp32 ? 2 * std::size_t(m) * n : 0, 0, NAN),
          history_half(precision == HistoryPrecision::Bf16 ? 2 * std::size_t(m) * n : 0, 0, bf16_from_float(NAN)),
          d(n, 0, 0.f), g_prev(n, 0, 0.f), state(1), total(1, 0, 1.0), tol_partials(2 * kernels::kMaxPartials, 0, 0.0) {
        scalars[0] = kernels::LbfgsScalars{};
        scalars[0].skip = 1;
        scalars[0].h_diag = 1.0;
        state[0] = cuda::RunState{0, cuda::kRunning, 0, 0};
        v.scalars = scalars.data();
        v.rho = rho.data();
        v.alpha = alpha.data();
        v.partials = partials.data();
        const bool half = precision == HistoryPrecision::Bf16;
        v.history = half ? nullptr : history.data();
        v.history_half = half ? history_half.data() : nullptr;
        v.d = d.data();
        v.g_prev = g_prev.data();
        v.n = (long long)n;
        v.m = m;
        v.blocks = kernels::reduce_blocks(n);
        v.learning_rate = learning_rate;
        v.state = state.data();
        v.total = total.data();
        v.tol_grad = tol_grad;
        v.tol_change = tol_change;
        v.tol_partials = tol_partials.data();
    }

    // cuda::Lbfgs::step: the fixed sequence of 2M + 4 launches (kernels/lbfgs.h has no single
    // launcher for it), then what the engine's iteration_record does to the run state.
    void step(float* x, const float* g) {
        kernels::lbfgs_tolerances(v, g, nullptr);  // queues nothing without a tolerance
        kernels::lbfgs_begin(v, nullptr);
        kernels::lbfgs_pair_dots(v, g, nullptr);
        kernels::lbfgs_first_pass(v, g, nullptr);
        for (int p = 0; p < v.m; ++p) kernels::lbfgs_loop1(v, p, nullptr);
        for (int p = 0; p < v.m; ++p) kernels::lbfgs_loop2(v, p, g, nullptr);
        kernels::lbfgs_finish(v, x, nullptr);
        ++state[0].iter;
    }

    // History vector `index` (s slots, then y slots) as floats.
    std::vector<float> stored(std::size_t index) const {
        const std::size_t n = std::size_t(v.n);
        if (v.history) return std::vector<float>(history.data() + index * n, history.data() + (index + 1) * n);
        std::vector<float> out(n);
        for (std::size_t e = 0; e < n; ++e) out[e] = bf16_to_float(history_half.data()[index * n + e]);
        return out;
    }
    std::vector<float> s(int slot) const { return stored(std::size_t(slot)); }
    std::vector<float> y(int slot) const { return stored(std::size_t(v.m) + std::size_t(slot)); }

    bool intact() const {
        return scalars.intact() && rho.intact() && alpha.intact() && partials.intact() && history.intact() &&
               history_half.intact() && d.intact() && g_prev.intact() && state.intact();
    }
};

struct LbfgsResult {
    double x_err = 0, d_err = 0, s_err = 0, scalar_err = 0;
    long long s_ulp_flips = 0;  // bf16: s elements one bf16 step from the CPU's
    int accepted = 0, rejected = 0, wraps = 0;
    std::vector<float> x, d;  // the emulated final state
};

// Runs one scenario. Step t's gradient is chosen by pattern[t-1] from the CPU's state:
//   'a'  accept: g = g_prev + c .* s with c in [0.5, 1.5] (y.s > 0)
//   'r'  reject: g = g_prev - s (y.s < 0), or at t = 1 a random g
//   'q'  the gradient of 1/2 sum a_i (x_i - c_i)^2 at the CPU's x
//   'n'  a non-finite total (the last step: the engine stops there)
//
// With bf16 history the device rounds s and y as the CPU does (core/bf16.h). y = g - g_prev is
// bit-identical before rounding, so it stays bit-identical; s = t d inherits d's summation-order
// differences, and an element within that distance of a rounding midpoint rounds to the other
// neighbour: each s element must equal the CPU's or be one bf16 step from it.
LbfgsResult run_lbfgs(std::size_t n, int m, const std::string& pattern, std::uint64_t stream,
                      HistoryPrecision precision = HistoryPrecision::Fp32) {
    const double lr = 0.7;
    nst::cpu::Lbfgs<float> cpu(n, nst::cpu::LbfgsOptions{lr, m, precision});
    EmuLbfgs emu(n, m, lr, precision);
    Guarded<float> x(n), g(n);
    std::vector<float> x_cpu(n), x_prev(n), g_prev(n), curvature(n), centre(n);
    nst::emu_test::fill_normal(x.data(), n, stream);
    std::copy(x.begin(), x.end(), x_cpu.begin());
    nst::emu_test::fill_uniform(curvature.data(), n, stream + 1, 0.5, 1.5);
    nst::emu_test::fill_normal(centre.data(), n, stream + 2);

    LbfgsResult r;
    for (std::size_t t = 1; t <= pattern.size(); ++t) {
        const char kind = pattern[t - 1];
        INFO("n = " << n << "  M = " << m << "  pattern " << pattern << "  step " << t << " (" << kind << ")");
        for (std::size_t i = 0; i < n; ++i) {
            const float s = x_cpu[i] - x_prev[i];
            if (kind == 'q')
                g[i] = curvature[i] * (x_cpu[i] - centre[i]);
            else if (t == 1)
                g[i] = float(nst::rng::normal(11, stream, i));
            else if (kind == 'a')
                g[i] = g_prev[i] + float(0.5 + nst::rng::uniform(12, stream + t, i)) * s;
            else
                g[i] = g_prev[i] - s;
        }
        const int count_before = emu.scalars[0].count;
        const int head_before = emu.scalars[0].head;
        const std::vector<float> x_before = x.to_vector();

        if (kind == 'n') {
            emu.total[0] = NAN;
            emu.step(x.data(), g.data());
            const cuda::RunState st = emu.state[0];
            CHECK(st.status == cuda::kNonFinite);
            CHECK(st.status_iter == int(t));
            CHECK(emu.scalars[0].iter == cpu.iterations());  // no step taken
            CHECK(emu.scalars[0].count == count_before);
            CHECK(nst::emu_test::first_bit_difference(x.data(), x_before.data(), n) == -1);
            // A run that is no longer running does not move, even with a finite total.
            emu.total[0] = 1.0;
            emu.step(x.data(), g.data());
            CHECK(emu.state[0].status == cuda::kNonFinite);
            CHECK(nst::emu_test::first_bit_difference(x.data(), x_before.data(), n) == -1);
            break;
        }

        std::copy(x_cpu.begin(), x_cpu.end(), x_prev.begin());
        const bool cpu_running = cpu.step(x_cpu.data(), g.data());
        emu.step(x.data(), g.data());
        REQUIRE(emu.intact());

        const kernels::LbfgsScalars& sc = emu.scalars[0];
        const cuda::RunState st = emu.state[0];
        REQUIRE(st.status == (cpu_running ? cuda::kRunning : cuda::kStopped));
        REQUIRE(sc.iter == cpu.iterations());
        REQUIRE(sc.count == cpu.num_pairs());
        if (t > 1) {
            if (kind == 'a') CHECK(sc.accepted == 1);
            if (kind == 'r') CHECK(sc.accepted == 0);
            sc.accepted ? ++r.accepted : ++r.rejected;
            if (sc.accepted && count_before == m) {
                ++r.wraps;
                CHECK(sc.head == (head_before + 1) % m);
            }
        }
        r.scalar_err = std::max({r.scalar_err, nst::emu_test::rel_diff(sc.h_diag, cpu.h_diag()),
                                 nst::emu_test::rel_diff(sc.t, cpu.last_step_size())});
        for (int i = 0; i < sc.count; ++i) {
            const int slot = (sc.head + i) % m;
            INFO("pair " << i << " in slot " << slot);
            const std::vector<float> emu_s = emu.s(slot), cpu_s = cpu.stored_s(i);
            CHECK(nst::emu_test::describe_difference(emu.y(slot).data(), cpu.stored_y(i).data(), n) ==
                  "bit-identical");
            r.s_err = std::max(r.s_err, max_norm_rel(emu_s.data(), cpu_s.data(), n));
            if (precision == HistoryPrecision::Bf16) {
                for (std::size_t e = 0; e < n; ++e) {
                    const long long a = bf16_from_float(emu_s[e]).bits, b = bf16_from_float(cpu_s[e]).bits;
                    REQUIRE(std::llabs(a - b) <= 1);
                    r.s_ulp_flips += a != b;
                }
            }
            r.scalar_err = std::max(r.scalar_err, nst::emu_test::rel_diff(emu.rho[std::size_t(slot)], cpu.rho(i)));
        }
        CHECK(nst::emu_test::first_bit_difference(emu.g_prev.data(), g.data(), n) == -1);
        r.d_err = std::max(r.d_err, max_norm_rel(emu.d.data(), cpu.direction(), n));
        r.x_err = std::max(r.x_err, max_norm_rel(x.data(), x_cpu.data(), n));
        CHECK(r.d_err <= 1e-5);
        if (precision == HistoryPrecision::Fp32) CHECK(r.s_err <= 1e-5);
        CHECK(r.x_err <= 1e-5);
        CHECK(r.scalar_err <= 1e-12);
        std::copy(g.begin(), g.end(), g_prev.begin());
        if (!cpu_running) break;
    }
    r.x = x.to_vector();
    r.d = emu.d.to_vector();
    return r;
}

struct Scenario {
    std::size_t n;
    int m;
    const char* pattern;
};

// The scenarios run one after another (streams stream + 10, + 20, ...): the worst errors and
// the summed counts.
LbfgsResult run_scenarios(const std::vector<Scenario>& scenarios, std::uint64_t stream,
                          HistoryPrecision precision = HistoryPrecision::Fp32) {
    LbfgsResult worst;
    for (const Scenario& s : scenarios) {
        const LbfgsResult r = run_lbfgs(s.n, s.m, s.pattern, stream += 10, precision);
        worst.x_err = std::max(worst.x_err, r.x_err);
        worst.d_err = std::max(worst.d_err, r.d_err);
        worst.s_err = std::max(worst.s_err, r.s_err);
        worst.scalar_err = std::max(worst.scalar_err, r.scalar_err);
        worst.accepted += r.accepted;
        worst.rejected += r.rejected;
        worst.wraps += r.wraps;
        worst.s_ulp_flips += r.s_ulp_flips;
    }
    return worst;
}

}  // namespace

TEST_CASE("emu: L-BFGS launch sequence vs cpu Lbfgs") {
    // Rejections before any pair (k = 0: d = -H_diag g), rejections later, the ring wrapping
    // around (M = 1 wraps on every accepted pair), one block with fewer elements than threads
    // (n = 5), several and many blocks (n = 4500: 3, n = 70000: 35), and a non-finite total.
    const LbfgsResult worst = run_scenarios({{4500, 2, "arrraaaraaaaraa"},
                                             {5, 3, "aaaaraaaaraaaaa"},
                                             {4500, 1, "aaaaaaaaaaraaaa"},
                                             {3000, 4, "qqqqqqqqqqqqqqq"},
                                             {70000, 3, "qqqqaqqrqq"},
                                             {3000, 3, "aaraaaan"}},
                                            1000);
    CHECK(worst.rejected >= 5);
    CHECK(worst.wraps >= 10);
    MESSAGE("L-BFGS vs cpu::Lbfgs<float>: x " << worst.x_err << "  d " << worst.d_err << "  s " << worst.s_err
                                              << "  scalars " << worst.scalar_err << " (" << worst.accepted
                                              << " pairs kept, " << worst.rejected << " rejected, " << worst.wraps
                                              << " ring wraps; y bit-identical)");
}

TEST_CASE("emu: L-BFGS with bf16 history vs cpu Lbfgs with bf16 history") {
    // The scenarios of the fp32 case that exercise acceptance, rejection, wrapping, several
    // blocks and a quadratic over many steps; the same tolerances on x, d and the scalars.
    const LbfgsResult worst = run_scenarios(
        {{4500, 2, "arrraaaraaaaraa"}, {5, 3, "aaaaraaaaraaaaa"}, {3000, 4, "qqqqqqqqqqqqqqq"}, {70000, 3, "qqqqaqqrqq"}},
        3000, HistoryPrecision::Bf16);
    CHECK(worst.rejected >= 3);
    CHECK(worst.wraps >= 5);
    MESSAGE("bf16 L-BFGS vs cpu::Lbfgs<float> bf16: x " << worst.x_err << "  d " << worst.d_err << "  s "
                                                        << worst.s_err << " (" << worst.s_ulp_flips
                                                        << " elements one bf16 step apart)  scalars "
                                                        << worst.scalar_err << " (" << worst.accepted << " kept, "
                                                        << worst.rejected << " rejected; y bit-identical)");
}

TEST_CASE("emu: L-BFGS is independent of the block and thread order") {
    // Block 0 of some kernels writes scalars that other blocks of the same kernel must not read:
    // running the last block first would expose it.
    const LbfgsResult forward = run_lbfgs(4500, 2, "arraaaraa", 7000);
    nst::emu::set_order(nst::emu::Order::Reverse);
    const LbfgsResult reverse = run_lbfgs(4500, 2, "arraaaraa", 7000);
    nst::emu::set_order(nst::emu::Order::Forward);
    CHECK(nst::emu_test::first_bit_difference(forward.x.data(), reverse.x.data(), forward.x.size()) == -1);
    CHECK(nst::emu_test::first_bit_difference(forward.d.data(), reverse.d.data(), forward.d.size()) == -1);
}

TEST_CASE("emu: Adam vs cpu Adam") {
    for (std::size_t n : {std::size_t(1000), std::size_t(70001)}) {
        INFO("n = " << n);
        const nst::cpu::AdamOptions opt{0.1};
        nst::cpu::Adam<float> cpu(n, opt);
        // cuda::Adam's state: scalars, m and v zeroed (src/cuda/optim_cuda.cpp).
        Guarded<kernels::AdamScalars> scalars(1);
        scalars[0] = kernels::AdamScalars{};
        Guarded<float> m(n, 0, 0.f), v(n, 0, 0.f), x(n), g(n);
        Guarded<cuda::RunState> state(1);
        state[0] = cuda::RunState{0, cuda::kRunning, 0, 0};
        Guarded<double> total(1, 0, 1.0);
        const kernels::AdamView view{scalars.data(), m.data(), v.data(), (long long)n, opt.learning_rate,
                                     opt.beta1, opt.beta2, opt.eps, state.data(), total.data()};
        nst::emu_test::fill_normal(x.data(), n, 1234);
        std::vector<float> x_cpu = x.to_vector();
        for (int t = 1; t <= 6; ++t) {
            INFO("step " << t);
            nst::emu_test::fill_normal(g.data(), n, 2000 + t);
            cpu.step(x_cpu.data(), g.data());
            kernels::adam_begin(view, nullptr);
            kernels::adam_update(view, x.data(), g.data(), nullptr);
            ++state[0].iter;
            CHECK(scalars[0].iter == cpu.iterations());
            CHECK(nst::emu_test::describe_difference(x.data(), x_cpu.data(), n) == "bit-identical");
        }
        REQUIRE((m.intact() && v.intact() && x.intact() && scalars.intact()));

        // A non-finite total: x stays, the run state names the iteration, later steps skip.
        const std::vector<float> before = x.to_vector();
        total[0] = INFINITY;
        kernels::adam_begin(view, nullptr);
        kernels::adam_update(view, x.data(), g.data(), nullptr);
        CHECK(state[0].status == cuda::kNonFinite);
        CHECK(state[0].status_iter == 7);
        total[0] = 1.0;
        kernels::adam_begin(view, nullptr);
        kernels::adam_update(view, x.data(), g.data(), nullptr);
        CHECK(scalars[0].iter == 6);
        CHECK(nst::emu_test::first_bit_difference(x.data(), before.data(), n) == -1);
    }
}

TEST_CASE("emu: lbfgs tolerances stop where cpu::Lbfgs stops") {
    // torch's tolerances (issue #16) on a quadratic 1/2 sum a_i (x_i - c_i)^2: each test alone, the
    // device stopping at the same evaluation as the CPU (kStopped), x unchanged from there.
    const std::size_t n = 300;
    std::vector<float> a(n), c(n);
    nst::emu_test::fill_normal(c.data(), n, 77);
    for (std::size_t i = 0; i < n; ++i) a[i] = 0.5f + float(i % 7) * 0.25f;
    struct Tol {
        double grad, change;
    };
    for (const Tol tol : {Tol{1e-2, -1}, Tol{-1, 1e-3}, Tol{-1, 1e-1}}) {
        INFO("tol_grad " << tol.grad << "  tol_change " << tol.change);
        auto eval = [&](const float* x, float* g) {
            double f = 0;
            for (std::size_t i = 0; i < n; ++i) {
                const float r = x[i] - c[i];
                g[i] = a[i] * r;
                f += 0.5 * double(a[i]) * double(r) * double(r);
            }
            return f;
        };
        std::vector<float> xc(n, 0.f), gc(n);
        nst::cpu::Lbfgs<float> cpu_opt(n, nst::cpu::LbfgsOptions{1.0, 5, HistoryPrecision::Fp32, tol.grad, tol.change});
        int stop_cpu = 0;
        for (int it = 1; it <= 60 && !stop_cpu; ++it)
            if (!cpu_opt.step(xc.data(), gc.data(), eval(xc.data(), gc.data()))) stop_cpu = it;
        EmuLbfgs emu(n, 5, 1.0, HistoryPrecision::Fp32, tol.grad, tol.change);
        Guarded<float> xe(n, 0, 0.f), ge(n);
        int stop_emu = 0;
        for (int it = 1; it <= 60 && !stop_emu; ++it) {
            emu.total[0] = eval(xe.data(), ge.data());
            emu.step(xe.data(), ge.data());
            if (emu.state[0].status == cuda::kStopped) stop_emu = emu.state[0].status_iter;
        }
        REQUIRE(emu.intact());
        CHECK(stop_cpu > 1);
        CHECK(stop_emu == stop_cpu);
        double worst = 0;
        for (std::size_t i = 0; i < n; ++i) worst = std::max(worst, double(std::fabs(xe[i] - xc[i])));
        CHECK(worst <= 1e-4);
        MESSAGE("stopped at evaluation " << stop_cpu << " (cpu) and " << stop_emu << " (emulated); max |dx| " << worst);
    }
}
