// SPDX-License-Identifier: MIT
// cuda::Lbfgs and cuda::Adam against their CPU twins cpu::Lbfgs<float> / cpu::Adam<float>, step
// by step on a deterministic synthetic problem, and the run-state rules they share: a non-finite
// total leaves x unchanged and sets kNonFinite (naming the iteration), a run that is no longer
// running does not move.
//
// The problem: f(x) = 1/2 sum_i a_i (x_i - c_i)^2 + beta/2 (u.x)^2, a_i in [1, 100] (a convex
// quadratic, not separable). Its gradient is computed on the host in double from the CPU
// optimiser's x and fed, as the same float vector, to both optimisers: the two then differ only by
// their own rounding (dot-product order, fused multiply-adds), not by diverging trajectories.
// Consequences used below: y = g - g_prev is formed from identical floats on both sides, so the
// stored y vectors must be bit-identical; s, d and x agree to float rounding (rel L2 <= 1e-5,
// which leaves ~30x room over the ~3e-7 that 20 steps of rounding amount to).
//
// Not tested here: torch's stop rule g.d > 1 firing by itself. Every kept pair has y.s > 1e-10,
// so -H g is a descent direction and g.d > 1 is reachable only through rounding
// (optim/lbfgs.h), which cannot be provoked the same way on both implementations. What is
// tested is its effect on the run state: a stopped run does not move.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "core/buffer.h"
#include "core/rng.h"
#include "cuda/optim_cuda.h"
#include "cuda/run_state.h"
#include "cuda_test_util.h"
#include "optim/adam.h"
#include "optim/lbfgs.h"
#include "test_util.h"

using namespace nst;
using namespace nst::test::gpu;
using nst::test::rel_l2;

namespace {

// The run state and the total, on the device, as the engine keeps them.
struct DeviceRun {
    Buffer state_buf{sizeof(cuda::RunState), Device::Cuda};
    Buffer total_buf{sizeof(double), Device::Cuda};

    DeviceRun() {
        set_state(cuda::RunState{0, cuda::kRunning, 0, 0});
        set_total(1.0);
    }
    cuda::RunState* state() { return static_cast<cuda::RunState*>(state_buf.data()); }
    const double* total() { return static_cast<const double*>(total_buf.data()); }
    void set_state(const cuda::RunState& s) { copy_to_device(state_buf.data(), &s, sizeof s); }
    cuda::RunState get_state() {
        cuda::RunState s{};
        copy_to_host(&s, state_buf.data(), sizeof s);
        return s;
    }
    void set_total(double v) { copy_to_device(total_buf.data(), &v, sizeof v); }
    // What the engine's iteration_record does after each step.
    void next_iteration() {
        cuda::RunState s = get_state();
        ++s.iter;
        set_state(s);
    }
};

std::vector<float> download_vec(const float* dev, std::size_t n) {
    std::vector<float> h(n);
    copy_to_host(h.data(), dev, n * sizeof(float));
    return h;
}

void upload_vec(float* dev, const std::vector<float>& h) { copy_to_device(dev, h.data(), h.size() * sizeof(float)); }

struct Quadratic {
    std::size_t n;
    std::vector<double> a, c, u;
    double beta = 0.5;
    explicit Quadratic(std::size_t n_) : n(n_), a(n_), c(n_), u(n_) {
        for (std::size_t i = 0; i < n; ++i) {
            a[i] = 1 + 99 * rng::uniform(11, 1, i);
            c[i] = 2 * rng::uniform(11, 2, i) - 1;
            u[i] = (2 * rng::uniform(11, 3, i) - 1) / std::sqrt(double(n));
        }
    }
    double value_and_grad(const std::vector<float>& x, std::vector<float>& g) const {
        double ux = 0, f = 0;
        for (std::size_t i = 0; i < n; ++i) ux += u[i] * x[i];
        g.resize(n);
        for (std::size_t i = 0; i < n; ++i) {
            const double r = double(x[i]) - c[i];
            f += 0.5 * a[i] * r * r;
            g[i] = float(a[i] * r + beta * ux * u[i]);
        }
        return f + 0.5 * beta * ux * ux;
    }
    std::vector<float> start() const {
        std::vector<float> x(n);
        for (std::size_t i = 0; i < n; ++i) x[i] = float(3 * rng::uniform(11, 4, i) - 1.5);
        return x;
    }
};

double vec_rel(const std::vector<float>& a, const std::vector<float>& b) { return rel_l2(a.data(), b.data(), a.size()); }

// Compares every inspectable piece of the two L-BFGS states.
void compare_lbfgs(const cuda::Lbfgs& gpu, const cpu::Lbfgs<float>& cpu, std::size_t n, const std::string& what) {
    INFO(what);
    CHECK(gpu.iterations() == cpu.iterations());
    REQUIRE(gpu.num_pairs() == cpu.num_pairs());
    CHECK(gpu.last_step_size() == doctest::Approx(cpu.last_step_size()).epsilon(1e-12).scale(0));
    CHECK(gpu.h_diag() == doctest::Approx(cpu.h_diag()).epsilon(1e-5).scale(0));
    const std::vector<float> d_cpu(cpu.direction(), cpu.direction() + n);
    CHECK(vec_rel(gpu.direction(), d_cpu) <= 1e-5);
    for (int i = 0; i < cpu.num_pairs(); ++i) {
        CAPTURE(i);
        CHECK(vec_rel(gpu.s(i), std::vector<float>(cpu.s(i), cpu.s(i) + n)) <= 1e-5);
        const std::vector<float> y_gpu = gpu.y(i);
        CHECK(y_gpu == std::vector<float>(cpu.y(i), cpu.y(i) + n));  // g - g_prev of identical floats
    }
}

// Runs both optimisers for `steps` steps from the quadratic's start; at step `reject_at` (1-based,
// 0 = never) the gradient is replaced by g_prev - d_cpu, which makes y = -d and y.s < 0.
void lbfgs_trajectory(std::size_t n, cpu::LbfgsOptions opt, int steps, int reject_at, const std::string& what) {
    const Quadratic q(n);
    std::vector<float> x_cpu = q.start(), g, g_prev;
    cpu::Lbfgs<float> ref(n, opt);
    DeviceRun run;
    cuda::Lbfgs lbfgs(context(), n, opt, run.state(), run.total());
    Tensor<float> x_dev(Shape{1, 1, 1, int(n)}, Device::Cuda), g_dev(Shape{1, 1, 1, int(n)}, Device::Cuda);
    upload_vec(x_dev.data(), x_cpu);
    double worst = 0;
    int pairs_before = -1;
    double h_cpu_before = 0, h_gpu_before = 0;
    for (int k = 1; k <= steps; ++k) {
        CAPTURE(k);
        const double f = q.value_and_grad(x_cpu, g);
        if (k == reject_at) {
            for (std::size_t i = 0; i < n; ++i) g[i] = g_prev[i] - ref.direction()[i];
            pairs_before = ref.num_pairs();
            h_cpu_before = ref.h_diag();
            h_gpu_before = lbfgs.h_diag();
        }
        run.set_total(f);
        upload_vec(g_dev.data(), g);
        lbfgs.step(x_dev.data(), g_dev.data());
        REQUIRE(ref.step(x_cpu.data(), g.data()));
        run.next_iteration();
        const std::vector<float> x_gpu = download_vec(x_dev.data(), n);
        const double err = vec_rel(x_gpu, x_cpu);
        worst = std::max(worst, err);
        CHECK(err <= 1e-5);
        CHECK(lbfgs.num_pairs() == ref.num_pairs());
        if (k == reject_at) {
            // The pair was dropped: count and H_diag unchanged (a kept pair sets H_diag anew).
            CHECK(ref.num_pairs() == pairs_before);
            CHECK(ref.h_diag() == h_cpu_before);
            CHECK(lbfgs.h_diag() == h_gpu_before);
        }
        g_prev = g;
    }
    CHECK(run.get_state().status == cuda::kRunning);
    compare_lbfgs(lbfgs, ref, n, what + " after the last step");
    MESSAGE(what << ": worst x rel L2 over " << steps << " steps " << worst << ", pairs kept " << ref.num_pairs()
                 << ", H_diag " << ref.h_diag());
}

}  // namespace

TEST_CASE("cuda lbfgs: 20 steps on a quadratic follow cpu::Lbfgs with full history") {
    lbfgs_trajectory(3000, cpu::LbfgsOptions{1.0, 100}, 20, 0, "M 100 lr 1");
}

TEST_CASE("cuda lbfgs: history wrap-around with small M and a rejected pair") {
    // M = 3 wraps the ring five times in 20 steps; step 9 offers a pair with y.s < 0.
    lbfgs_trajectory(3000, cpu::LbfgsOptions{1.0, 3}, 20, 9, "M 3 lr 1 reject at 9");
    // Another learning rate and M = 1; n not a multiple of any block size.
    lbfgs_trajectory(4099, cpu::LbfgsOptions{0.5, 1}, 12, 5, "M 1 lr 0.5 reject at 5");
}

TEST_CASE("cuda lbfgs: pairs with y.s at most 1e-10 are rejected as on the CPU") {
    // n = 2, g0 = (a, 0) with a = 2^-20: |g|_1 < 1, so t = lr = 1, d = (-a, 0) and s = (-a, 0);
    // g1 = (a + y0, 7) makes y.s = -a * y0 (y0 chosen for y.s = 5e-11, then 2e-10). The float
    // y = g1 - g0 is the same on both sides, so both must decide alike, with a factor 2 margin.
    const float a = std::ldexp(1.0f, -20);
    for (double ys : {5e-11, 2e-10, -1e-3}) {
        CAPTURE(ys);
        const float y0 = float(-ys / a);
        const std::vector<float> g0 = {a, 0.0f}, g1 = {a + y0, 7.0f};
        std::vector<float> x_cpu = {0.25f, -0.5f};
        cpu::Lbfgs<float> ref(2, {1.0, 5});
        DeviceRun run;
        cuda::Lbfgs lbfgs(context(), 2, {1.0, 5}, run.state(), run.total());
        Tensor<float> x_dev(Shape{1, 1, 1, 2}, Device::Cuda), g_dev(Shape{1, 1, 1, 2}, Device::Cuda);
        upload_vec(x_dev.data(), x_cpu);
        for (const auto* g : {&g0, &g1}) {
            upload_vec(g_dev.data(), *g);
            lbfgs.step(x_dev.data(), g_dev.data());
            REQUIRE(ref.step(x_cpu.data(), g->data()));
            run.next_iteration();
        }
        CHECK(ref.num_pairs() == (ys > 1e-10 ? 1 : 0));
        compare_lbfgs(lbfgs, ref, 2, "y.s " + std::to_string(ys));
        CHECK(vec_rel(download_vec(x_dev.data(), 2), x_cpu) <= 1e-6);
    }
}

TEST_CASE("cuda lbfgs: a non-finite total leaves x unchanged and names the iteration") {
    for (double bad : {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity()}) {
        CAPTURE(bad);
        const std::size_t n = 1000;
        const Quadratic q(n);
        std::vector<float> x = q.start(), g;
        DeviceRun run;
        cuda::Lbfgs lbfgs(context(), n, {1.0, 10}, run.state(), run.total());
        Tensor<float> x_dev(Shape{1, 1, 1, int(n)}, Device::Cuda), g_dev(Shape{1, 1, 1, int(n)}, Device::Cuda);
        upload_vec(x_dev.data(), x);
        for (int k = 0; k < 3; ++k) {
            run.set_total(q.value_and_grad(download_vec(x_dev.data(), n), g));
            upload_vec(g_dev.data(), g);
            lbfgs.step(x_dev.data(), g_dev.data());
            run.next_iteration();
        }
        REQUIRE(lbfgs.num_pairs() == 2);
        const std::vector<float> before = download_vec(x_dev.data(), n);
        const int pairs = lbfgs.num_pairs();
        run.set_total(bad);
        q.value_and_grad(before, g);
        upload_vec(g_dev.data(), g);
        lbfgs.step(x_dev.data(), g_dev.data());
        CHECK(download_vec(x_dev.data(), n) == before);
        const cuda::RunState st = run.get_state();
        CHECK(st.status == cuda::kNonFinite);
        CHECK(st.status_iter == 4);  // three iterations completed, the fourth failed
        CHECK(lbfgs.num_pairs() == pairs);
        // A later finite total does not restart the run.
        run.next_iteration();
        run.set_total(1.0);
        lbfgs.step(x_dev.data(), g_dev.data());
        CHECK(download_vec(x_dev.data(), n) == before);
        CHECK(run.get_state().status == cuda::kNonFinite);
        CHECK(run.get_state().status_iter == 4);
    }
}

TEST_CASE("cuda lbfgs and adam: a stopped run does not move x") {
    const std::size_t n = 500;
    const Quadratic q(n);
    std::vector<float> x = q.start(), g;
    q.value_and_grad(x, g);
    DeviceRun run;
    run.set_state(cuda::RunState{6, cuda::kStopped, 6, 0});
    cuda::Lbfgs lbfgs(context(), n, {1.0, 10}, run.state(), run.total());
    cuda::Adam adam(context(), n, cpu::AdamOptions{0.1}, run.state(), run.total());
    Tensor<float> x_dev(Shape{1, 1, 1, int(n)}, Device::Cuda), g_dev(Shape{1, 1, 1, int(n)}, Device::Cuda);
    upload_vec(x_dev.data(), x);
    upload_vec(g_dev.data(), g);
    lbfgs.step(x_dev.data(), g_dev.data());
    adam.step(x_dev.data(), g_dev.data());
    CHECK(download_vec(x_dev.data(), n) == x);
    const cuda::RunState st = run.get_state();
    CHECK(st.status == cuda::kStopped);
    CHECK(st.status_iter == 6);
}

TEST_CASE("cuda adam: 20 steps follow cpu::Adam") {
    for (const cpu::AdamOptions& opt : {cpu::AdamOptions{0.1}, cpu::AdamOptions{10.0, 0.8, 0.99, 1e-6}}) {
        CAPTURE(opt.learning_rate);
        const std::size_t n = 5003;
        const Quadratic q(n);
        std::vector<float> x_cpu = q.start(), g;
        cpu::Adam<float> ref(n, opt);
        DeviceRun run;
        cuda::Adam adam(context(), n, opt, run.state(), run.total());
        Tensor<float> x_dev(Shape{1, 1, 1, int(n)}, Device::Cuda), g_dev(Shape{1, 1, 1, int(n)}, Device::Cuda);
        upload_vec(x_dev.data(), x_cpu);
        double worst = 0;
        for (int k = 1; k <= 20; ++k) {
            CAPTURE(k);
            run.set_total(q.value_and_grad(x_cpu, g));
            upload_vec(g_dev.data(), g);
            adam.step(x_dev.data(), g_dev.data());
            ref.step(x_cpu.data(), g.data());
            run.next_iteration();
            const double err = vec_rel(download_vec(x_dev.data(), n), x_cpu);
            worst = std::max(worst, err);
            CHECK(err <= 1e-5);
        }
        CHECK(adam.iterations() == ref.iterations());
        MESSAGE("adam lr " << opt.learning_rate << ": worst x rel L2 over 20 steps " << worst);

        // A non-finite total: x stays, the run state says which iteration.
        const std::vector<float> before = download_vec(x_dev.data(), n);
        run.set_total(-std::numeric_limits<double>::infinity());
        adam.step(x_dev.data(), g_dev.data());
        CHECK(download_vec(x_dev.data(), n) == before);
        CHECK(run.get_state().status == cuda::kNonFinite);
        CHECK(run.get_state().status_iter == 21);
    }
}
