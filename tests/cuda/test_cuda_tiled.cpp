// SPDX-License-Identifier: MIT
// Exact tiled evaluation on the CUDA backend (cuda::Objective::set_tile_rows, loss/tiling.h)
// against the untiled evaluation of the same objective: every weighted term and the total
// |tiled - untiled| / |untiled| <= 1e-5, the gradient max |d| / max |dx| <= 1e-4 (issue #11),
// the value without a gradient the same terms, at small sizes cut into 3-4 strips whose windows
// overlap. The targets are computed strip by strip on the tiled side (style images of other
// sizes are cut into their own strips), untiled on the other, so they are held to each other
// too. Cases: taps up to relu3_1 (both poolings, both presets, our Gram and cuBLAS), content
// masks with two blended styles (guides sliced per strip), and the jcjohnson default taps
// (relu4_2 and relu1_1..relu5_1, whose halo is 80 rows). One strip must be the untiled code,
// bit for bit. The engine runs tiled under a CUDA graph (capture succeeds under the emulated
// backend, graph on and off bit-identical) and follows the untiled engine.
//
// Measured under the emulated backend: see the MESSAGE lines (tests/README.md records them).
// Planted bugs caught: a strip's Gram over one row too many (terms off by 1e-2), the first
// window's dx not added back (gradient off by 0.95).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "cuda/device_stats.h"
#include "cuda/objective_cuda.h"
#include "cuda/vgg19_cuda.h"
#include "cuda_test_util.h"
#include "loss/tiling.h"
#include "test_util.h"
#if defined(NST_EMU_BACKEND)
#include "cuda_runtime_emu.h"
#endif

using namespace nst;
using namespace nst::test::gpu;

namespace {

const std::size_t kWorkspace = nst::CudaOptions{}.workspace_limit;

const Vgg19Weights& weights() {
    static const Vgg19Weights w = test::he_weights(91, 0.02, vgg19_layers()[layer_index("conv5_1")].conv);
    return w;
}

struct TiledCase {
    std::string name;
    Shape image;
    int tile_rows;
    int strips;                      // expected number of strips of the image
    Preset preset;
    Pooling pooling;
    GramImpl gram;
    std::vector<std::string> content_layers, style_layers;
    int num_styles;                  // 1, or 2 blended
    bool content_masks;              // one soft region per style (needs 2 styles)
};

const std::vector<std::string> kShallowStyle = {"relu1_1", "relu2_1", "relu3_1"};
const std::vector<std::string> kShallowContent = {"relu2_2", "relu3_1"};
const std::vector<std::string> kDefaultStyle = {"relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"};

std::vector<TiledCase> cases() {
    const Shape small{1, 3, 96, 64};
    return {
        {"relu3_1 max jcjohnson", small, 32, 3, Preset::JcJohnson, Pooling::Max, GramImpl::Own, kShallowContent,
         kShallowStyle, 1, false},
        {"relu3_1 avg gatys cublas-syrk", small, 32, 3, Preset::Gatys, Pooling::Avg, GramImpl::CublasSyrk,
         kShallowContent, kShallowStyle, 1, false},
        {"relu3_1 content masks two styles", small, 28, 4, Preset::JcJohnson, Pooling::Max, GramImpl::Own,
         kShallowContent, kShallowStyle, 2, true},
        {"relu3_1 content masks cublas-gemm", small, 32, 3, Preset::JcJohnson, Pooling::Max, GramImpl::CublasGemm,
         kShallowContent, kShallowStyle, 2, true},
        {"jcjohnson default taps", Shape{1, 3, 224, 24}, 64, 4, Preset::JcJohnson, Pooling::Max, GramImpl::Own,
         {"relu4_2"}, kDefaultStyle, 1, false},
    };
}

LossSpec spec_of(const TiledCase& c) {
    LossSpec s;
    s.preset = c.preset;
    s.content_layers = layers_by_name(c.content_layers);
    s.style_layers = layers_by_name(c.style_layers);
    if (c.preset == Preset::Gatys) {
        s.content_weight = 1;
        s.style_weight = 1e3;
    }
    s.tv_weight = 1e-3;
    return s;
}

// A soft left / right split of an (h, w) image: region k of 2.
Tensor<float> region(int h, int w, int k) {
    Tensor<float> m(Shape{1, 1, h, w});
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            const double left = std::min(1.0, std::max(0.0, (0.6 * w - x) / 8.0));
            m[std::size_t(y) * w + x] = float(k == 0 ? left : 1.0 - left);
        }
    return m;
}

struct Evaluation {
    LossTerms terms, value_only;
    Tensor<float> dx;
    int strips = 0;
};

// The objective of case c at its point, with tile_rows (0 = untiled).
Evaluation evaluate(const TiledCase& c, int tile_rows) {
    cuda::Context& ctx = context();
    cuda::Vgg19Net net(ctx, weights(), c.pooling, Precision::Fp32, kWorkspace);
    cuda::Objective obj(ctx, net, spec_of(c), c.gram);
    obj.set_tile_rows(tile_rows);
    const Tensor<float> content = test_image(c.image, 1, 256, -128);
    std::vector<Tensor<float>> styles;
    styles.push_back(test_image(Shape{1, 3, 80, 56}, 2, 256, -64));  // 3 strips of its own at 32 rows
    if (c.num_styles > 1) styles.push_back(test_image(Shape{1, 3, 70, 90}, 4, 200, -120));
    std::vector<ConstView<float>> views;
    for (const auto& s : styles) views.push_back(s.cview());
    obj.set_content(content.cview());
    obj.set_styles(views, c.num_styles > 1 ? std::vector<double>{0.3, 0.7} : std::vector<double>{});
    std::vector<Tensor<float>> masks;
    if (c.content_masks) {
        for (int k = 0; k < c.num_styles; ++k) masks.push_back(region(c.image.h, c.image.w, k));
        std::vector<ConstView<float>> mv;
        for (const auto& m : masks) mv.push_back(m.cview());
        obj.set_content_masks(mv);
    }
    obj.prepare(c.image);
    const Tensor<float> x = upload(test_image(c.image, 3, 128, -64).cview());
    Tensor<float> dx(c.image, Device::Cuda);
    Evaluation e;
    obj.evaluate(x.cview(), dx.view());
    e.terms = obj.terms_to_host();
    e.dx = download(dx.cview());
    obj.evaluate(x.cview(), TensorView<float>());
    e.value_only = obj.terms_to_host();
    e.strips = obj.num_strips();
    return e;
}

double rel(double a, double b) { return a == b ? 0.0 : std::fabs(a - b) / std::max(std::fabs(b), 1e-300); }

// Worst relative difference over all terms and the total.
double terms_diff(const LossTerms& a, const LossTerms& b) {
    REQUIRE(a.content.size() == b.content.size());
    REQUIRE(a.style.size() == b.style.size());
    double worst = rel(a.total, b.total);
    for (std::size_t i = 0; i < a.content.size(); ++i) worst = std::max(worst, rel(a.content[i], b.content[i]));
    for (std::size_t i = 0; i < a.style.size(); ++i) worst = std::max(worst, rel(a.style[i], b.style[i]));
    return std::max(worst, rel(a.tv, b.tv));
}

bool same_bits(const LossTerms& a, const LossTerms& b) {
    auto same = [](double p, double q) { return std::memcmp(&p, &q, sizeof p) == 0; };
    bool ok = same(a.total, b.total) && same(a.tv, b.tv) && a.content.size() == b.content.size() &&
              a.style.size() == b.style.size();
    for (std::size_t i = 0; ok && i < a.content.size(); ++i) ok = same(a.content[i], b.content[i]);
    for (std::size_t i = 0; ok && i < a.style.size(); ++i) ok = same(a.style[i], b.style[i]);
    return ok;
}

}  // namespace

TEST_CASE("cuda tiled: terms and gradient equal the untiled evaluation") {
    double worst_terms = 0, worst_grad = 0;
    for (const TiledCase& c : cases()) {
        INFO(c.name);
        const Evaluation whole = evaluate(c, 0), tiled = evaluate(c, c.tile_rows);
        CHECK(whole.strips == 1);
        CHECK(tiled.strips == c.strips);
        const double dt = terms_diff(tiled.terms, whole.terms);
        CHECK(dt <= 1e-5);
        CHECK(terms_diff(tiled.value_only, whole.terms) <= 1e-5);
        CHECK(std::isfinite(whole.terms.total));
        CHECK(whole.terms.total > 0);
        double diff = 0;
        for (std::size_t i = 0; i < whole.dx.numel(); ++i)
            diff = std::max(diff, double(std::fabs(tiled.dx[i] - whole.dx[i])));
        const double scale = max_abs(whole.dx.cview());
        REQUIRE(scale > 0);
        const double dg = diff / scale;
        CHECK(dg <= 1e-4);
        MESSAGE(c.name << ": " << tiled.strips << " strips, terms rel " << dt << ", gradient max|d|/max|dx| " << dg);
        worst_terms = std::max(worst_terms, dt);
        worst_grad = std::max(worst_grad, dg);
    }
    MESSAGE("tiled vs untiled: terms " << worst_terms << ", gradient " << worst_grad);
}

TEST_CASE("cuda tiled: one strip is the untiled evaluation bit for bit") {
    // tile_rows at or above the height, or rounding to one strip: the untiled code path.
    const TiledCase c = cases()[0];
    const Evaluation whole = evaluate(c, 0), one = evaluate(c, c.image.h);
    CHECK(one.strips == 1);
    CHECK(same_bits(one.terms, whole.terms));
    CHECK(std::memcmp(one.dx.data(), whole.dx.data(), whole.dx.numel() * sizeof(float)) == 0);
}

TEST_CASE("cuda tiled: a negative tile row count is a usage error") {
    cuda::Context& ctx = context();
    cuda::Vgg19Net net(ctx, weights(), Pooling::Max, Precision::Fp32, kWorkspace);
    cuda::Objective obj(ctx, net, spec_of(cases()[0]));
    try {
        obj.set_tile_rows(-1);
        FAIL("no error");
    } catch (const Error& e) {
        CHECK(e.code() == ExitCode::Usage);
    }
}

TEST_CASE("cuda tiled: the engine runs tiled under a CUDA graph") {
    // A 3-strip problem (taps to relu3_1, 96 x 64): graph on and off bit-identical, the capture
    // succeeding (emulated backend), and the totals within 1e-4 of the untiled engine's over
    // three L-BFGS iterations (the trajectories drift apart by the evaluation's rounding only).
    const TiledCase c = cases()[0];
    auto spec = [&](int tile_rows, bool graph) {
        ProblemSpec p;
        p.content = test_image(c.image, 1, 256, -128);
        p.styles.push_back(test_image(Shape{1, 3, 80, 56}, 2, 256, -64));
        p.init = test_image(c.image, 3, 128, -64);
        p.loss = spec_of(c);
        p.pooling = c.pooling;
        p.lbfgs_history = 5;
        p.tile_rows = tile_rows;
        p.cuda.graph = graph;
        return p;
    };
    auto run = [&](ProblemSpec p) {
        auto engine = make_cuda_engine(weights(), std::move(p), 0);
        engine->advance(3);
        std::vector<IterationRecord> r = engine->take_records();
        REQUIRE(r.size() == 3);
        return r;
    };
#if defined(NST_EMU_BACKEND)
    const emu::RuntimeStats before = emu::runtime_stats();
#endif
    const std::vector<IterationRecord> on = run(spec(c.tile_rows, true));
#if defined(NST_EMU_BACKEND)
    CHECK(emu::runtime_stats().failed_captures == before.failed_captures);
    CHECK(emu::runtime_stats().illegal_calls_during_capture == before.illegal_calls_during_capture);
    CHECK(emu::runtime_stats().graphs_instantiated == before.graphs_instantiated + 1);
#endif
    const std::vector<IterationRecord> off = run(spec(c.tile_rows, false));
    const std::vector<IterationRecord> whole = run(spec(0, true));
    for (std::size_t i = 0; i < 3; ++i) {
        CAPTURE(i);
        CHECK(same_bits(on[i].terms, off[i].terms));
        CHECK(rel(on[i].terms.total, whole[i].terms.total) <= 1e-4);
    }
    CHECK(on.back().terms.total < on.front().terms.total);
}

TEST_CASE("cuda tiled: the planned device bytes match the engine's measured peak") {
    // cuda_planned_bytes against peak_memory_bytes() of a run, untiled and tiled, with the cuDNN
    // workspace limit at 1 KiB (which the planner counts whole; the emulated cuDNN's algorithms
    // need at most that, a GPU's up to the limit). Within 10 % (issue #11's bound) here; on a GPU
    // the workspace the algorithms take is the unknown (tools/gpu_check.sh prints both).
    const TiledCase c = cases()[0];
    for (const int tile_rows : {0, c.tile_rows}) {
        INFO("tile_rows " << tile_rows);
        ProblemSpec p;
        p.content = test_image(c.image, 1, 256, -128);
        p.styles.push_back(test_image(Shape{1, 3, 80, 56}, 2, 256, -64));
        p.init = test_image(c.image, 3, 128, -64);
        p.loss = spec_of(c);
        p.lbfgs_history = 5;
        p.tile_rows = tile_rows;
        p.cuda.workspace_limit = 1024;
        int window_h = c.image.h;
        if (tile_rows > 0) {
            window_h = 0;
            for (const Strip& s : plan_strips(c.image.h, tile_rows, layer_index("relu3_1")))
                window_h = std::max(window_h, s.win_rows());
        }
        const std::size_t planned = cuda_planned_bytes(p.loss, window_h, c.image.w, c.image.h,
                                                       {p.styles[0].shape()}, p.lbfgs_history,
                                                       p.lbfgs_history_precision, p.cuda);
        const std::size_t before = cuda::device_bytes_in_use();
        auto engine = make_cuda_engine(weights(), std::move(p), 0);
        engine->advance(2);
        engine->take_records();
        const std::size_t measured = engine->peak_memory_bytes() - before;
        const double err = std::fabs(double(planned) - double(measured)) / double(measured);
        MESSAGE("tile_rows " << tile_rows << ": planned " << planned << " B, measured " << measured << " B, rel "
                             << err);
        CHECK(err <= 0.1);
    }
}
