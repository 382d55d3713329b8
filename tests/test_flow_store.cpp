// SPDX-License-Identifier: MIT
// FlowStore (video/flow.h): estimation through the cache (second request and a second store read
// the file, values identical to a direct estimate), precomputed folders read as given, and the
// input errors for a wrong-size cached or supplied file, a missing supplied file, a bad folder.
#include <doctest/doctest.h>

#include <cstring>
#include <filesystem>

#include "flow_motion.h"
#include "test_errors.h"
#include "video/flo.h"
#include "video/flow.h"

using namespace nst;
using namespace nst::test;
namespace fs = std::filesystem;

namespace {

constexpr int kH = 40, kW = 56, kFrames = 3;

// kFrames PNGs of the analytic scene moving 2 px right and 1 px down per frame.
std::vector<std::string> write_clip(const std::string& dir) {
    std::vector<std::string> files;
    for (int t = 0; t < kFrames; ++t) {
        const Tensor<float> f = render(kH, kW, [&](double x, double y, double& sx, double& sy) { sx = x - 2 * t, sy = y - t; });
        files.push_back(dir + "/frame_" + std::to_string(t + 1) + ".png");
        save_image(files.back(), f.cview());
    }
    return files;
}

bool same(const Tensor<float>& p, const Tensor<float>& q) {
    return p.shape() == q.shape() && std::memcmp(p.data(), q.data(), p.numel() * sizeof(float)) == 0;
}

}  // namespace

TEST_CASE("flow store: estimates once and then reads the cache" * doctest::skip(!have_flow_estimator())) {
    const std::string dir = temp_dir("flow_store_cache");
    const std::vector<std::string> frames = write_clip(dir);
    const std::string cache = dir + "/cache/nested";  // created by the store
    FlowStore store(frames, cache, "", FlowMethod::DisFast);
    const Tensor<float> f01 = store.flow(0, 1);
    CHECK(store.estimated_pairs() == 1);
    CHECK(store.estimate_seconds() > 0);
    CHECK(file_exists(cache + "/forward_1_2.flo"));
    // The cached value is the estimate of the decoded frames, unchanged by the .flo round trip.
    const Tensor<float> direct =
        estimate_flow(load_image(frames[0]).cview(), load_image(frames[1]).cview(), FlowMethod::DisFast);
    CHECK(same(f01, direct));
    CHECK(same(load_flo(cache + "/forward_1_2.flo"), direct));
    // Roughly the true motion (2, 1) in the interior: the right pair of frames was used.
    const Tensor<float> truth = flow_field(kH, kW, [](double, double, double& u, double& v) { u = 2, v = 1; });
    CHECK(mean_epe(f01, truth, 10) < 0.3);

    CHECK(same(store.flow(0, 1), f01));
    CHECK(store.estimated_pairs() == 1);
    store.flow(2, 1);
    CHECK(store.estimated_pairs() == 2);
    CHECK(file_exists(cache + "/backward_3_2.flo"));

    FlowStore again(frames, cache, "", FlowMethod::DisFast);
    CHECK(same(again.flow(0, 1), f01));
    CHECK(again.estimated_pairs() == 0);
    CHECK(again.estimate_seconds() == 0);

    // Without a cache folder nothing is written and every request estimates.
    FlowStore memory(frames, "", "", FlowMethod::DisFast);
    CHECK(same(memory.flow(0, 1), f01));
    CHECK(same(memory.flow(0, 1), f01));
    CHECK(memory.estimated_pairs() == 2);
}

TEST_CASE("flow store: a cached file of another size is an input error naming it") {
    const std::string dir = temp_dir("flow_store_bad_cache");
    const std::vector<std::string> frames = write_clip(dir);
    fs::create_directories(dir + "/cache");
    save_flo(dir + "/cache/forward_1_2.flo", filled(Shape{1, 2, kH, kW + 1}, 0.5f).cview());
    FlowStore store(frames, dir + "/cache", "", FlowMethod::DisMedium);
    const std::string msg = error_of([&] { store.flow(0, 1); });
    CHECK(contains(msg, dir + "/cache/forward_1_2.flo"));
    CHECK(contains(msg, std::to_string(kW + 1) + "x" + std::to_string(kH)));
    CHECK(contains(msg, std::to_string(kW) + "x" + std::to_string(kH)));
    CHECK(store.estimated_pairs() == 0);
}

TEST_CASE("flow store: a precomputed folder is read as given and checked") {
    const std::string dir = temp_dir("flow_store_precomputed");
    const std::vector<std::string> frames = write_clip(dir);
    const std::string flows = dir + "/flo";
    fs::create_directories(flows);
    const Tensor<float> fwd = flow_field(kH, kW, [](double x, double y, double& u, double& v) { u = 2 + 0.01 * x, v = 1 - 0.02 * y; });
    const Tensor<float> bwd = flow_field(kH, kW, [](double x, double, double& u, double& v) { u = -2 - 0.03 * x, v = -1; });
    save_flo(flows + "/forward_1_2.flo", fwd.cview());
    save_flo(flows + "/backward_2_1.flo", bwd.cview());
    save_flo(flows + "/forward_2_3.flo", filled(Shape{1, 2, kH - 1, kW}, 0.0f).cview());
    // A cache folder is ignored (not even created) when flow is supplied.
    FlowStore store(frames, dir + "/unused_cache", flows, FlowMethod::DisMedium);
    CHECK(same(store.flow(0, 1), fwd));
    CHECK(same(store.flow(1, 0), bwd));
    CHECK(store.estimated_pairs() == 0);
    CHECK_FALSE(fs::exists(dir + "/unused_cache"));

    const std::string wrong = error_of([&] { store.flow(1, 2); });
    CHECK(contains(wrong, flows + "/forward_2_3.flo"));
    CHECK(contains(wrong, std::to_string(kW) + "x" + std::to_string(kH - 1)));
    const std::string missing = error_of([&] { store.flow(2, 1); });
    CHECK(contains(missing, flows + "/backward_3_2.flo"));
    CHECK(contains(missing, "missing"));

    CHECK(contains(error_of([&] { FlowStore(frames, "", dir + "/nowhere", FlowMethod::DisMedium); }), dir + "/nowhere"));
}
