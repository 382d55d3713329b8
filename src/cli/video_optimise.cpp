// SPDX-License-Identifier: MIT
#include "cli/video_optimise.h"

#include <chrono>
#include <cstring>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>

#include "cli/commands.h"
#include "cli/progress.h"
#include "cli/trace.h"
#include "core/error.h"
#include "io/atomic_file.h"
#include "io/image.h"
#include "io/npy.h"
#include "video/frame_init.h"

namespace nst::cli {

namespace fs = std::filesystem;

void FrameClock::finished(const FrameLabel& label, bool is_first, double seconds) {
    if (is_first) {
        m_t.first_seconds += seconds;
        ++m_t.first_count;
        --m_left_first;
    } else {
        m_t.later_seconds += seconds;
        ++m_t.later_count;
        --m_left_later;
    }
    if (m_quiet) return;
    const double first = m_t.first_count ? m_t.first_seconds / m_t.first_count : seconds;
    const double later = m_t.later_count ? m_t.later_seconds / m_t.later_count : first * m_ratio;
    const double eta = m_left_first * first + m_left_later * later;
    std::fprintf(stderr, "nst: frame %d/%d  pass %d/%d  %.2f s/frame  ETA %s\n", label.frame + 1, label.frames,
                 label.pass, label.passes, seconds, format_duration(eta).c_str());
}

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

bool same_images(const std::vector<Tensor<float>>& a, const std::vector<Tensor<float>>& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t k = 0; k < a.size(); ++k)
        if (a[k].shape() != b[k].shape() ||
            std::memcmp(a[k].data(), b[k].data(), a[k].numel() * sizeof(float)) != 0)
            return false;
    return true;
}

bool exists(const std::string& path) {
    std::error_code ec;
    return fs::exists(path, ec);
}

// Builds each frame's problem (the run's options with the frame as content: resized, coloured and
// preprocessed as nst run does it), runs its engine and stores the result.
class FrameOptimiser {
public:
    using InitFn = std::function<Tensor<float>(const Problem&)>;
    using TargetsFn = std::function<std::vector<TemporalFrame>()>;

    FrameOptimiser(const VideoOptions& o, const VideoPlan& plan)
        : m_o(o), m_plan(plan), m_trace(plan.temporal_weight > 0) {}
    // The trace of the frames this run optimised (as nst run: written at the end, never partial).
    void write_trace() const {
        if (!m_o.trace.empty()) m_trace.write(m_o.trace);
    }

    // Optimises frame `label.frame` and writes DIR/frame_NNNNN.png and .npy; returns x.
    Tensor<float> run(const FrameLabel& label, int iterations, const std::string& dir, const InitFn& init,
                      const TargetsFn& targets) {
        ProblemOptions po = m_o.problem;
        po.content = m_plan.frames[std::size_t(label.frame)];
        std::string note;
        Problem p = resolve_problem(po, note, m_loaded ? &m_weights : nullptr);
        if (!m_loaded) {
            if (!note.empty() && !m_o.quiet) std::fprintf(stderr, "nst: %s\n", note.c_str());
            if (p.weights.random) warn_random_weights(p.weights.source);
        }
        NST_REQUIRE(p.spec.content.shape().h == m_plan.height && p.spec.content.shape().w == m_plan.width,
                    "video frame resized to an unexpected size");
        p.spec.init = init(p);
        if (m_plan.temporal_weight > 0) p.spec.temporal = targets();
        const Preprocessor pre = p.pre;
        if (!m_engine) {
            p.spec.loss.temporal_weight = m_plan.temporal_weight;
            p.spec.lbfgs_history = m_o.lbfgs_history;
            for (const Tensor<float>& s : p.spec.styles) m_styles.push_back(s.clone());
            m_engine = make_engine(p.backend, p.weights, std::move(p.spec), m_o.problem.gpu);
            if (!m_o.quiet)
                std::fprintf(stderr, "nst: %d frames at %dx%d on %s\n", label.frames, m_plan.width, m_plan.height,
                             m_engine->device_description().c_str());
        } else {
            // One engine for the clip: the network and the style targets are made once. The
            // style images change only under a colour control that matches them to each frame.
            FrameUpdate update{std::move(p.spec.content), std::move(p.spec.init), std::move(p.spec.temporal), {}};
            if (!same_images(p.spec.styles, m_styles)) {
                m_styles.clear();
                for (const Tensor<float>& s : p.spec.styles) m_styles.push_back(s.clone());
                update.styles = std::move(p.spec.styles);
            }
            m_engine->next_frame(std::move(update));
        }
        Engine& engine = *m_engine;
        m_weights = std::move(p.weights);  // the engine keeps its own copy
        m_loaded = true;
        FrameRunSettings s;
        s.iterations = iterations;
        s.tol_relative = m_plan.tol_relative;
        s.tol_interval = m_o.tol_loss_relative_interval;
        s.print_iter = m_o.print_iter;
        s.quiet = m_o.quiet;
        s.tracing = !m_o.trace.empty();
        s.temporal = m_plan.temporal_weight > 0;
        run_frame(engine, s, label, m_trace, seconds_since(m_start));
        Tensor<float> x = engine.current();

        Tensor<float> rgb(x.shape());
        pre.to_image(rgb.view(), x.cview());
        color_output_image(p.color, rgb.view());
        const std::string stem = dir + "/" + frame_stem(label.frame);
        save_image(stem + ".png", rgb.cview());
        const Shape s4 = x.shape();
        save_npy(stem + ".npy", x.data(), {s4.n, s4.c, s4.h, s4.w});  // last: marks the frame complete
        return x;
    }

private:
    const VideoOptions& m_o;
    const VideoPlan& m_plan;
    Vgg19Weights m_weights;
    bool m_loaded = false;
    std::unique_ptr<Engine> m_engine;    // made for the first frame this run optimises
    std::vector<Tensor<float>> m_styles;  // the style images its targets were made from
    Trace m_trace;
    std::chrono::steady_clock::time_point m_start = std::chrono::steady_clock::now();
};

// Results of one pass, read from the work folder when not in memory (a resumed run).
class PassResults {
public:
    explicit PassResults(std::string dir) : m_dir(std::move(dir)) {}
    const std::string& dir() const { return m_dir; }
    bool done(int frame) const { return exists(path(frame)); }
    const Tensor<float>& get(int frame) {
        auto it = m_cache.find(frame);
        if (it == m_cache.end()) it = m_cache.emplace(frame, load_npy_image(path(frame))).first;
        return it->second;
    }
    void put(int frame, Tensor<float> x) { m_cache[frame] = std::move(x); }
    // Keeps memory bounded on long clips: drops results farther than `keep` frames from `frame`.
    void forget_far_from(int frame, int keep) {
        for (auto it = m_cache.begin(); it != m_cache.end();)
            it = std::abs(it->first - frame) > keep ? m_cache.erase(it) : std::next(it);
    }

private:
    std::string path(int frame) const { return m_dir + "/" + frame_stem(frame) + ".npy"; }
    std::string m_dir;
    std::map<int, Tensor<float>> m_cache;
};

void make_dir(const std::string& dir) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) throw_input("--work-dir: cannot create '" + dir + "' (" + ec.message() + ")");
}

// The first frame's (or pass 1's) starting point: --init-first random (the same seed on every
// frame) or content.
Tensor<float> first_init(const VideoOptions& o, const Problem& p) {
    return o.init_first == "content" ? p.spec.content.clone() : random_init(p, o.seed);
}

// The temporal targets of `frame` against the results of `pass` at frame - step * j, j in J.
std::vector<TemporalFrame> pass_targets(const VideoPlan& plan, WorkingFlows& flows, PassResults& pass, int frame,
                                        int step) {
    std::vector<int> neighbours;
    std::vector<ConstView<float>> results;
    for (int j : plan.relative_indices) {
        const int n = frame - step * j;
        if (n < 0 || n >= int(plan.frames.size())) continue;
        neighbours.push_back(n);
        results.push_back(pass.get(n).cview());
    }
    return build_temporal_targets(flows, frame, neighbours, results);
}

int max_relative(const VideoPlan& plan) { return plan.relative_indices.empty() ? 1 : plan.relative_indices.back(); }

bool single_pass(const VideoOptions& o, const VideoPlan& plan, const VideoWork& work, WorkingFlows& flows,
                 VideoTimings& timings) {
    const int n = int(plan.frames.size());
    PassResults results(work.results_dir(1, 1));
    make_dir(results.dir());
    FrameClock clock(1, n - 1, double(plan.later_iterations) / plan.first_iterations, o.quiet);
    FrameOptimiser optimiser(o, plan);
    int ran = 0;
    for (int i = 0; i < n; ++i) {
        if (results.done(i)) {
            clock.skipped(i == 0);
            continue;
        }
        if (o.stop_after_frames > 0 && ran == o.stop_after_frames) {
            timings = clock.timings();
            optimiser.write_trace();
            return false;
        }
        const auto t0 = std::chrono::steady_clock::now();
        const FrameLabel label{i, n, 1, 1};
        const auto init = [&](const Problem& p) -> Tensor<float> {
            if (i == 0 || o.init == "random") return i == 0 ? first_init(o, p) : random_init(p, o.seed);
            if (o.init == "content") return p.spec.content.clone();
            const Tensor<float>& prev = results.get(i - 1);
            if (o.init == "prev") return prev.clone();
            const Tensor<float> back = flows.flow(i, i - 1);
            return warp_previous_result(prev.cview(), back.cview());
        };
        const auto targets = [&] { return pass_targets(plan, flows, results, i, 1); };
        results.put(i, optimiser.run(label, i == 0 ? plan.first_iterations : plan.later_iterations, results.dir(),
                                     init, targets));
        results.forget_far_from(i, max_relative(plan));
        clock.finished(label, i == 0, seconds_since(t0));
        ++ran;
    }
    timings = clock.timings();
    optimiser.write_trace();
    return true;
}

bool multi_pass(const VideoOptions& o, const VideoPlan& plan, const VideoWork& work, WorkingFlows& flows,
                VideoTimings& timings) {
    const int n = int(plan.frames.size()), passes = o.passes;
    FrameClock clock(1, n * passes - 1, 1.0, o.quiet);
    FrameOptimiser optimiser(o, plan);
    int ran = 0;
    for (int pass = 1; pass <= passes; ++pass) {
        PassResults current(work.results_dir(pass, passes));
        const std::string complete = current.dir() + "/complete";
        if (exists(complete)) {
            for (int i = 0; i < n; ++i) clock.skipped(pass == 1 && i == 0);
            continue;
        }
        make_dir(current.dir());
        PassResults previous(work.results_dir(pass - 1, passes));
        // Odd passes run forward, even ones backward (the reference code's order).
        const int step = pass % 2 == 1 ? 1 : -1;
        const bool temporal = pass >= o.temporal_after;
        for (int k = 0; k < n; ++k) {
            const int i = step > 0 ? k : n - 1 - k;
            const bool first = pass == 1 && k == 0;
            if (current.done(i)) {
                clock.skipped(first);
                continue;
            }
            if (o.stop_after_frames > 0 && ran == o.stop_after_frames) {
                timings = clock.timings();
                optimiser.write_trace();
                return false;
            }
            const auto t0 = std::chrono::steady_clock::now();
            const FrameLabel label{i, n, pass, passes};
            const auto init = [&](const Problem& p) -> Tensor<float> {
                if (pass == 1) return first_init(o, p);
                // The neighbour this pass has already updated (blend weight b) and the other one,
                // from the previous pass (b'), each warped onto the frame and weighted by its
                // consistency (video.md §1.5).
                std::vector<Tensor<float>> keep;
                std::vector<BlendNeighbour> terms;
                const auto add = [&](PassResults& from, int nb, double b) {
                    if (nb < 0 || nb >= n || b == 0) return;
                    const Tensor<float> f = flows.flow(i, nb);
                    keep.push_back(warp_previous_result(from.get(nb).cview(), f.cview()));
                    keep.push_back(flows.consistency(i, nb));
                    terms.push_back({keep[keep.size() - 2].cview(), keep.back().cview(), b});
                };
                keep.reserve(4);
                add(current, i - step, o.blend_weight);
                add(previous, i + step, o.blend_weight_last_pass);
                return blend_multipass_init(previous.get(i).cview(), terms);
            };
            const auto targets = [&] {
                return temporal ? pass_targets(plan, flows, current, i, step) : std::vector<TemporalFrame>{};
            };
            current.put(i, optimiser.run(label, plan.first_iterations, current.dir(), init, targets));
            current.forget_far_from(i, max_relative(plan));
            previous.forget_far_from(i, 1);
            clock.finished(label, first, seconds_since(t0));
            ++ran;
        }
        write_file_atomic(complete, "", 0);
        // The previous pass is no longer needed: the next pass blends this one's results.
        std::error_code ec;
        if (pass > 1) fs::remove_all(previous.dir(), ec);
    }
    timings = clock.timings();
    optimiser.write_trace();
    return true;
}

}  // namespace

bool optimise_video(const VideoOptions& o, const VideoPlan& plan, const VideoWork& work, WorkingFlows& flows,
                    VideoTimings& timings) {
    return o.passes > 1 ? multi_pass(o, plan, work, flows, timings) : single_pass(o, plan, work, flows, timings);
}

}  // namespace nst::cli
