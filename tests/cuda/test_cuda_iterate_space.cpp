// SPDX-License-Identifier: MIT
// The iterate's space and box (engine/iterate_space.h; --iterate-space image, --clamp-iterate:
// the pytorch-tutorial preset) through the CUDA engine: the clamp (kernels/box.cu) runs before
// the map (kernels/channel_map.cu) at the start of every iteration, inside the captured graph;
// the records follow the CPU engine along an L-BFGS run from a start a third of which lies outside
// [0, 1], the graph replays the eager run bit for bit, evaluate() maps without clamping, and the
// final x is the one L-BFGS stepped from the clamped point, as on the CPU.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "cuda_test_util.h"
#include "engine/engine.h"
#include "io/preprocess.h"
#include "test_util.h"
#if defined(NST_EMU_BACKEND)
#include "cuda_runtime_emu.h"
#endif

using namespace nst;
using namespace nst::test::gpu;

namespace {

const Vgg19Weights& weights() {
    static const Vgg19Weights w = test::he_weights(95, 0.02, vgg19_layers()[layer_index("conv3_1")].conv);
    return w;
}

const Shape kImage{1, 3, 40, 36};

// The tutorial's layers (pre-ReLU), RGB images, x0 partly outside [0, 1].
ProblemSpec problem(bool graph) {
    ProblemSpec p;
    p.content = test_image(kImage, 1, 1, 0);
    p.styles.push_back(test_image(Shape{1, 3, 36, 44}, 2, 1, 0));
    p.style_blend = {1.0};
    p.init = test_image(kImage, 3, 2, -0.5);
    p.loss.content_layers = layers_by_name({"conv2_2"});
    p.loss.style_layers = layers_by_name({"conv1_1", "conv1_2", "conv2_1", "conv2_2", "conv3_1"});
    p.loss.style_layer_weights.assign(5, 1.0);
    p.loss.content_weight = 1;
    p.loss.style_weight = 1e6;
    p.loss.tv_weight = 0;
    p.lbfgs_tol_grad = 1e-7;
    p.lbfgs_tol_change = 1e-9;
    Preprocessor pre;
    pre.kind = PreprocessKind::Caffe;  // the permuting map (B/R swap, x255, minus the mean)
    p.iterate.image = true;
    pre.affine(p.iterate.map.src, p.iterate.map.a, p.iterate.map.b);
    p.iterate.clamp = true;
    p.cuda.graph = graph;
    return p;
}

struct Run {
    std::vector<IterationRecord> records;
    Tensor<float> x;
};

Run run(bool cuda, bool graph, int iterations) {
    auto engine = cuda ? make_cuda_engine(weights(), problem(graph), 0) : make_cpu_engine(weights(), problem(graph));
    engine->advance(iterations);
    Run r{engine->take_records(), engine->current()};
    REQUIRE(int(r.records.size()) == iterations);
    return r;
}

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }
double rel(double a, double b) { return a == b ? 0.0 : std::fabs(a - b) / std::fabs(b); }

}  // namespace

TEST_CASE("cuda engine iterate space: image-space iterate with clamp follows the CPU engine") {
    const int n = 5;
#if defined(NST_EMU_BACKEND)
    const emu::RuntimeStats before = emu::runtime_stats();
#endif
    const Run on = run(true, true, n);
#if defined(NST_EMU_BACKEND)
    CHECK(emu::runtime_stats().failed_captures == before.failed_captures);
    CHECK(emu::runtime_stats().graphs_instantiated == before.graphs_instantiated + 1);
#endif
    const Run off = run(true, false, n);
    const Run cpu = run(false, true, n);
    double worst = 0;
    for (int i = 0; i < n; ++i) {
        CAPTURE(i + 1);
        CHECK(same_bits(on.records[std::size_t(i)].terms.total, off.records[std::size_t(i)].terms.total));
        worst = std::max(worst, rel(on.records[std::size_t(i)].terms.total, cpu.records[std::size_t(i)].terms.total));
    }
    MESSAGE("CUDA vs CPU engine, image-space iterate with clamp, " << n << " iterations: worst total rel " << worst);
    CHECK(worst <= 1e-4);
    // x after the last step: RGB (not the network's 0..255 units), close to the CPU's.
    double diff = 0, scale = 0;
    for (std::size_t j = 0; j < on.x.numel(); ++j) {
        diff = std::max(diff, double(std::fabs(on.x[j] - cpu.x[j])));
        scale = std::max(scale, double(std::fabs(cpu.x[j])));
    }
    CHECK(scale < 3);
    CHECK(diff <= 1e-3 * scale);
}

TEST_CASE("cuda engine iterate space: evaluate() maps x without clamping it as the CPU engine does") {
    auto gpu = make_cuda_engine(weights(), problem(true), 0);
    auto cpu = make_cpu_engine(weights(), problem(true));
    const Tensor<float> x = test_image(kImage, 7, 2, -0.5);
    Tensor<float> gg(x.shape()), gc(x.shape());
    const LossTerms tg = gpu->evaluate(x.cview(), gg.view());
    const LossTerms tc = cpu->evaluate(x.cview(), gc.view());
    CHECK(rel(tg.total, tc.total) <= 1e-5);
    double num = 0, den = 0;
    for (std::size_t j = 0; j < x.numel(); ++j) {
        num += (double(gg[j]) - gc[j]) * (double(gg[j]) - gc[j]);
        den += double(gc[j]) * gc[j];
    }
    CHECK(den > 0);
    CHECK(std::sqrt(num / den) <= 1e-4);
    // Clamping x first changes the value: evaluate() must not have clamped.
    Tensor<float> clamped = x.clone();
    for (float& v : clamped) v = std::min(1.f, std::max(0.f, v));
    CHECK(rel(cpu->evaluate(clamped.cview(), TensorView<float>{}).total, tc.total) > 1e-3);
}
