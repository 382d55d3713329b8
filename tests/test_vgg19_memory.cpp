// SPDX-License-Identifier: MIT
// What Vgg19Net allocates, counted by the host Buffer counters: forward + TapGrad backward take
// exactly buffer_bytes() (the memory planner's figure), the per-thread convolution scratch stays
// within scratch_bytes_per_thread() and is not far below it, and release() gives it all back.
#include <doctest/doctest.h>
#include <omp.h>

#include <map>
#include <thread>
#include <vector>

#include "core/buffer.h"
#include "core/rng.h"
#include "nn/vgg19.h"
#include "test_util.h"

using namespace nst;

namespace {

std::vector<int> indices(const std::vector<std::string>& names) {
    std::vector<int> k;
    for (const auto& n : names) k.push_back(layer_index(n));
    return k;
}

// The tap sets of the presets (jcjohnson with max pooling, gatys with avg: the same layers),
// the paper's conv layers, a pool tap, a deepest conv, and conv1_1 alone.
const std::vector<std::vector<std::string>> kTapSets = {
    {"relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu4_2", "relu5_1"},
    {"conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv4_2", "conv5_1"},
    {"relu2_2", "pool2", "relu3_1"},
    {"conv1_2", "pool3", "conv4_1"},
    {"conv1_1"}};

template <typename T>
Tensor<T> random_input(int h, int w, std::uint64_t seed) {
    Tensor<T> x(Shape{1, 3, h, w});
    for (std::size_t j = 0; j < x.numel(); ++j) x[j] = T(100 * rng::normal(seed, 0, j));
    return x;
}

// Forward + TapGrad backward adding a fixed value at every tap (the callback allocates nothing).
template <typename T>
void step(cpu::Vgg19Net<T>& net, const Tensor<T>& x, Tensor<T>& dx) {
    net.forward(x.cview());
    net.backward(dx.view(), [](int, TensorView<T> g) {
        for (T& v : g) v += T(0.5);
    });
}

// Restores the OpenMP thread count when a case ends, however it ends.
struct ThreadCount {
    int saved = omp_get_max_threads();
    explicit ThreadCount(int n) { omp_set_num_threads(n); }
    ~ThreadCount() { omp_set_num_threads(saved); }
};

}  // namespace

TEST_CASE("vgg19 memory: forward and TapGrad backward allocate exactly buffer_bytes()") {
    // One thread, so that the warm-up step (at a larger size) has grown every thread's
    // convolution scratch and made every filter transform before the counting starts.
    ThreadCount one(1);
    const auto wts = test::he_weights(21, 0.05);
    const std::vector<std::pair<int, int>> sizes = {{64, 48}, {37, 45}, {50, 50}};
    for (auto pooling : {Pooling::Max, Pooling::Avg})
        for (const auto& names : kTapSets) {
            CAPTURE(int(pooling));
            CAPTURE(names.front());
            CAPTURE(names.size());
            const auto taps = indices(names);
            cpu::Vgg19Net<float> net(wts, pooling);
            net.set_taps(taps);
            {
                auto x = random_input<float>(80, 72, 1);
                Tensor<float> dx(x.shape());
                step(net, x, dx);
            }
            for (auto [h, w] : sizes) {
                CAPTURE(h);
                CAPTURE(w);
                const auto x = random_input<float>(h, w, 2);
                Tensor<float> dx(x.shape());
                net.release();
                const std::size_t before = host_bytes_in_use();
                reset_host_bytes_peak();
                net.forward(x.cview());
                const std::size_t after_forward = host_bytes_in_use() - before;
                step(net, x, dx);
                const std::size_t expect = cpu::Vgg19Net<float>::buffer_bytes(taps, h, w);
                CHECK(expect > 0);
                CHECK(after_forward == expect);  // backward allocates nothing of its own
                CHECK(host_bytes_in_use() - before == expect);
                CHECK(host_bytes_peak() - before == expect);
                net.release();
                CHECK(host_bytes_in_use() == before);
            }
        }
}

TEST_CASE("vgg19 memory: the old gradient interface adds one buffer per tap and release() frees it") {
    ThreadCount one(1);
    const auto wts = test::he_weights(22, 0.05);
    const auto taps = indices(kTapSets[0]);
    cpu::Vgg19Net<float> net(wts, Pooling::Max);
    net.set_taps(taps);
    const auto x = random_input<float>(40, 36, 3);
    Tensor<float> dx(x.shape());
    step(net, x, dx);
    net.release();
    const std::size_t before = host_bytes_in_use();
    net.forward(x.cview());
    net.zero_grads();
    net.backward(dx.view());
    std::size_t grads = 0;
    for (int k : taps) grads += net.output(k).numel() * sizeof(float);
    CHECK(host_bytes_in_use() - before == cpu::Vgg19Net<float>::buffer_bytes(taps, 40, 36) + grads);
    net.release();
    CHECK(host_bytes_in_use() == before);
}

TEST_CASE("vgg19 memory: convolution scratch per thread within scratch_bytes_per_thread()") {
    // Each case runs on a thread of its own with one OpenMP thread, so that it starts with no
    // scratch (thread_local) and the counters see all of it; the thread's exit frees it.
    auto scratch_of = [](auto& net, const auto& x, auto& dx, std::size_t buffers) {
        std::size_t scratch = 0;
        std::thread t([&]() {
            omp_set_num_threads(1);
            const std::size_t before = host_bytes_in_use();
            step(net, x, dx);
            scratch = host_bytes_in_use() - before - buffers;
        });
        t.join();
        return scratch;
    };
    const auto wts = test::he_weights(23, 0.05);
    for (const auto& names : kTapSets) {
        const auto taps = indices(names);
        for (auto [h, w] : std::vector<std::pair<int, int>>{{64, 48}, {150, 90}}) {
            CAPTURE(names.front());
            CAPTURE(h);
            {
                cpu::Vgg19Net<float> net(wts, Pooling::Max);  // Winograd
                net.set_taps(taps);
                const auto x = random_input<float>(h, w, 4);
                Tensor<float> dx(x.shape());
                step(net, x, dx);  // the filter transforms are made here, not counted below
                net.release();
                const std::size_t got = scratch_of(net, x, dx, cpu::Vgg19Net<float>::buffer_bytes(taps, h, w));
                const std::size_t bound = cpu::Vgg19Net<float>::scratch_bytes_per_thread(taps, h, w);
                MESSAGE(names.front() << " " << h << "x" << w << " float winograd scratch " << got << " bound " << bound);
                CHECK(got <= bound);
                CHECK(2 * got >= bound);
            }
            {
                cpu::Vgg19Net<double> net(wts, Pooling::Max);  // Direct
                net.set_taps(taps);
                const auto x = random_input<double>(h, w, 4);
                Tensor<double> dx(x.shape());
                net.release();
                const std::size_t got = scratch_of(net, x, dx, cpu::Vgg19Net<double>::buffer_bytes(taps, h, w));
                const std::size_t bound = cpu::Vgg19Net<double>::scratch_bytes_per_thread(taps, h, w);
                CHECK(got <= bound);
                CHECK(2 * got >= bound);
            }
        }
    }
}

TEST_CASE("vgg19 memory: buffer_bytes() per pixel of the default taps") {
    // The default taps at 2048x1536: what is stored, in bytes per input pixel (before this plan:
    // every ReLU and pool output as float, a gradient per tap and two work buffers, 2.3 KiB).
    const auto taps = indices(kTapSets[0]);
    const double per_pixel = double(cpu::Vgg19Net<float>::buffer_bytes(taps, 1536, 2048)) / (1536.0 * 2048.0);
    MESSAGE("buffer_bytes per pixel, default taps, float: " << per_pixel);
    CHECK(per_pixel < 1200);
    CHECK(cpu::Vgg19Net<float>::buffer_bytes({}, 64, 64) == 0);
}
