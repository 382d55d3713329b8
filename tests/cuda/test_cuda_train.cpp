// SPDX-License-Identifier: MIT
// `nst train --backend cuda`'s step (cuda/train_step_cuda.h) against the CPU trainer's: the same
// config and seed (random VGG16 weights, a width-4 TransformerNet, batch 2, 16 px crops), through
// the same Trainer loop, for both loss presets' forms (rgb255 io with torchvision preprocessing;
// caffe-bgr io with caffe preprocessing and TV).
//
// Both sides compute in float and differ in summation order (cuDNN or its emulation vs the CPU
// convolutions, our split-K Gram vs the CPU's), ~1e-7 relative per operation; through ~20 layers
// and instance-norm backward (a difference of three similar terms) that is up to ~1e-4 in single
// elements of the parameters' gradient. Adam's first steps are nearly +-lr * sign(g) per element,
// which turns that into two kinds of difference:
//  - elements whose gradient is within the noise of zero take opposite steps (2 lr apart), and
//    so do all of the parameters whose gradient is zero in exact arithmetic: the bias of a
//    convolution followed by an instance norm, the shift of a residual block's second norm
//    (the next norms remove both). Those degenerate tensors are skipped;
//  - a run's trajectories part: at lr 1e-3 on this tiny problem Adam's second step cancels
//    (m = 0.09 g1 + 0.1 g2 with g2 ~ -g1) and the runs drifted 40% of the parameters more than
//    0.1 lr apart within three steps, while each single step agreed. The tests therefore use
//    lr 1e-4, where three steps stay together, and compare a single step from a shared state.
// Tolerances, with the measured values (emulated backend):
//  - one step from the CPU's checkpoint after two iterations (also the cross-backend resume):
//    loss terms 1e-5 relative (measured <= 5.3e-7), each non-degenerate tensor's change 2e-3
//    relative L2 (measured <= 5.3e-4, in an instance norm's scale);
//  - three steps from init_params: terms 1e-5 at the first iteration, 1e-4 later (measured
//    <= 1.1e-6); at most 2% of the non-degenerate parameters more than 0.1 lr apart at the end
//    (measured 0.23% and 0%: the near-zero-gradient elements).
// A wrong index, scale or missing term gives errors of order 1 in the terms or the changes.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "cuda/train_step_cuda.h"
#include "engine/train.h"
#include "engine/train_checkpoint.h"
#include "engine/train_step_cpu.h"
#include "io/image.h"
#include "nn/net_model.h"
#include "nn/transformer_net.h"
#include "test_util.h"

using namespace nst;
using nst::test::rel_l2;

namespace {

constexpr double kStepTermTol = 1e-5;   // one step from the same state
constexpr double kChangeTol = 2e-3;     // ... its parameter changes
constexpr double kRunTermTol = 1e-4;    // later iterations of a run from init_params
constexpr double kRunApartTol = 0.02;   // final parameters more than 0.1 lr apart (fraction)

// Two small images (shorter side 24 px) of the shared set.
std::string tiny_dataset(const std::string& name) {
    const std::string dir = test::temp_dir(name);
    const char* files[] = {"tubingen.jpg", "shipwreck.jpg", "seated-nude.jpg"};
    for (int i = 0; i < 3; ++i) {
        const Tensor<float> img = load_image(test::shared_image(files[i]));
        int h = 0, w = 0;
        target_size(img.shape().h, img.shape().w, 24, SizeRule::Short, h, w);
        save_image(dir + "/" + std::to_string(i) + ".png", resize_image(img.cview(), h, w).cview());
    }
    return dir;
}

const VggWeights& loss_weights() {
    static const VggWeights w = random_weights(16, VggArch::Vgg16);
    return w;
}

TrainConfig tiny_config(bool jcjohnson, long long iterations) {
    TrainConfig c;
    // jcjohnson's loss and io on the pytorch-examples layout: jcjohnson's own layout pads by 40
    // and needs crops of 44 px or more, too slow for the emulated suite.
    c.desc = transformer_net_desc(TransformerLayout::PytorchExamples, 4);
    c.io = jcjohnson ? ModelIo::CaffeBgr : ModelIo::Rgb255;
    c.loss.io = c.io;
    c.loss.content_layers = parse_layer_list(jcjohnson ? "relu3_3" : "relu2_2", "--content-layers", VggArch::Vgg16);
    c.loss.style_layers = parse_layer_list("relu1_2,relu2_2,relu3_3,relu4_3", "--style-layers", VggArch::Vgg16);
    c.loss.content_weight = 1;
    c.loss.style_weight = jcjohnson ? 5e2 : 1e3;
    c.loss.tv_weight = jcjohnson ? 1e-3 : 0;
    c.loss.preprocess = jcjohnson ? PreprocessKind::Caffe : PreprocessKind::Torchvision;
    c.sample.image_size = 16;
    c.sample.seed = 9;
    c.batch_size = 2;
    c.iterations = iterations;
    c.learning_rate = 1e-4;
    return c;
}

Tensor<float> tiny_style() {
    return resize_image(load_image(test::shared_image("starry_night.jpg")).cview(), 20, 24);
}

struct Run {
    std::vector<LossTerms> terms;
    std::vector<float> params;
};

Run run(Trainer& t) {
    Run r;
    t.run([&](const TrainProgress& p) { r.terms.push_back(p.terms); });
    r.params = t.model().params;
    return r;
}

// A parameter whose gradient is zero in exact arithmetic: the bias of a convolution followed by
// an instance norm, and the shift of a norm followed by a residual add (the next norms remove it).
bool degenerate(const NetDesc& desc, const ParamInfo& p) {
    if (p.name.size() < 5 || p.name.compare(p.name.size() - 5, 5, ".bias") != 0) return false;
    const auto& layers = desc.layers;
    const std::size_t i = std::size_t(p.layer);
    if (i + 1 >= layers.size()) return false;
    const Op op = layers[i].op, next = layers[i + 1].op;
    return ((op == Op::Conv || op == Op::ConvTranspose) && next == Op::InstanceNorm) ||
           (op == Op::InstanceNorm && next == Op::Add);
}

// Relative difference of two terms (absolute when the reference is 0).
double term_error(double a, double b) { return b == 0 ? std::abs(a) : std::abs(a - b) / std::abs(b); }

std::vector<double> flat(const LossTerms& t) {
    std::vector<double> v = t.content;
    v.insert(v.end(), t.style.begin(), t.style.end());
    v.push_back(t.tv);
    v.push_back(t.total);
    return v;
}

// Worst term error of iteration i (0-based), checked against tol.
double check_terms(const LossTerms& gpu, const LossTerms& cpu, std::size_t i, double tol) {
    const std::vector<double> a = flat(gpu), b = flat(cpu);
    REQUIRE(a.size() == b.size());
    double worst = 0;
    for (std::size_t k = 0; k < a.size(); ++k) {
        INFO("iteration " << i + 1 << " term " << k << ": cuda " << a[k] << " cpu " << b[k]);
        CHECK(std::isfinite(a[k]));
        const double e = term_error(a[k], b[k]);
        worst = std::max(worst, e);
        CHECK(e <= tol);
    }
    return worst;
}

// Each non-degenerate parameter tensor's change from `start`, GPU vs CPU, relative L2.
void compare_changes(const NetDesc& desc, const std::vector<float>& start, const std::vector<float>& gpu,
                     const std::vector<float>& cpu, const char* what) {
    double worst = 0;
    std::string worst_name;
    for (const ParamInfo& p : param_layout(desc)) {
        if (degenerate(desc, p)) continue;
        const std::size_t n = p.shape.numel();
        std::vector<double> da(n), db(n);
        for (std::size_t i = 0; i < n; ++i) {
            da[i] = double(gpu[p.offset + i]) - start[p.offset + i];
            db[i] = double(cpu[p.offset + i]) - start[p.offset + i];
        }
        const double e = rel_l2(da.data(), db.data(), n);
        if (e > worst) worst = e, worst_name = p.name;
        INFO(p.name << ": change differs by " << e << " relative");
        CHECK(e <= kChangeTol);
    }
    std::printf("cuda train %s: worst parameter change rel %.3g (%s)\n", what, worst, worst_name.c_str());
}

// The fraction of the non-degenerate parameters whose final values differ by more than
// 0.1 * lr (Adam's early steps are about +-lr each).
double fraction_apart(const TrainConfig& c, const std::vector<float>& gpu, const std::vector<float>& cpu) {
    std::size_t apart = 0, count = 0;
    for (const ParamInfo& p : param_layout(c.desc)) {
        if (degenerate(c.desc, p)) continue;
        for (std::size_t i = p.offset; i < p.offset + p.shape.numel(); ++i) {
            if (std::abs(double(gpu[i]) - double(cpu[i])) > 0.1 * c.learning_rate) ++apart;
            ++count;
        }
    }
    return double(apart) / double(std::max<std::size_t>(count, 1));
}

}  // namespace

TEST_CASE("cuda train: one step from a CPU checkpoint matches the CPU step") {
    const std::string dir = tiny_dataset("cuda_train_step");
    const ImageDataset dataset(dir);
    const Tensor<float> style = tiny_style();
    const std::string ckpt = test::temp_dir("cuda_train_step_ckpt") + "/run.checkpoint.safetensors";
    for (bool jcjohnson : {false, true}) {
        INFO((jcjohnson ? "jcjohnson loss" : "pytorch-examples loss"));
        const TrainConfig c = tiny_config(jcjohnson, 3);
        cpu::VggNet<float> cpu_net(loss_weights(), Pooling::Max);
        // Two CPU iterations and a checkpoint (the state compared from), then the third on each.
        TrainConfig head_config = c;
        head_config.iterations = 2;
        head_config.checkpoint_every = 2;
        head_config.checkpoint_path = ckpt;
        Trainer head(head_config, dataset, cpu_net, style.cview());
        run(head);
        const TrainCheckpoint state = load_train_checkpoint(ckpt);
        Trainer cpu_tail(c, dataset, cpu_net, style.cview());
        cpu_tail.resume(ckpt);
        const Run cpu = run(cpu_tail);
        // checkpoint_every is free to change on resume: the GPU run writes its own at 3.
        TrainConfig gpu_config = c;
        gpu_config.checkpoint_every = 1;
        gpu_config.checkpoint_path = ckpt;
        Trainer gpu_tail(gpu_config, dataset, cuda::make_cuda_train_step(gpu_config, loss_weights(), style.cview(), 0));
        gpu_tail.resume(ckpt);
        CHECK(gpu_tail.iteration() == 2);
        const Run gpu = run(gpu_tail);
        REQUIRE(cpu.terms.size() == 1);
        REQUIRE(gpu.terms.size() == 1);
        const double worst = check_terms(gpu.terms[0], cpu.terms[0], 2, kStepTermTol);
        std::printf("cuda train step (%s): worst term rel %.3g\n", jcjohnson ? "jcjohnson" : "pytorch-examples", worst);
        compare_changes(c.desc, state.model.params, gpu.params, cpu.params,
                        jcjohnson ? "step (jcjohnson)" : "step (pytorch-examples)");
        // The GPU's checkpoint: the CPU's format, Adam's step count continued.
        const TrainCheckpoint k = load_train_checkpoint(ckpt);
        CHECK(k.iteration == 3);
        CHECK(k.adam_step == 3);
        CHECK(k.adam_m.size() == param_count(c.desc));
        CHECK(k.model.params == gpu.params);
    }
}

TEST_CASE("cuda train: three steps from init_params track the CPU trainer") {
    const std::string dir = tiny_dataset("cuda_train_run");
    const ImageDataset dataset(dir);
    const Tensor<float> style = tiny_style();
    for (bool jcjohnson : {false, true}) {
        INFO((jcjohnson ? "jcjohnson loss" : "pytorch-examples loss"));
        const TrainConfig c = tiny_config(jcjohnson, 3);
        cpu::VggNet<float> cpu_net(loss_weights(), Pooling::Max);
        Trainer cpu_trainer(c, dataset, cpu_net, style.cview());
        const Run cpu = run(cpu_trainer);
        Trainer gpu_trainer(c, dataset, cuda::make_cuda_train_step(c, loss_weights(), style.cview(), 0));
        const Run gpu = run(gpu_trainer);
        REQUIRE(gpu.terms.size() == 3);
        REQUIRE(cpu.terms.size() == 3);
        double worst = check_terms(gpu.terms[0], cpu.terms[0], 0, kStepTermTol);
        for (std::size_t i = 1; i < 3; ++i) worst = std::max(worst, check_terms(gpu.terms[i], cpu.terms[i], i, kRunTermTol));
        const double apart = fraction_apart(c, gpu.params, cpu.params);
        std::printf("cuda train run (%s): worst term rel %.3g, final parameters more than 0.1 lr apart: %.3g%%\n",
                    jcjohnson ? "jcjohnson" : "pytorch-examples", worst, 100 * apart);
        CHECK(apart <= kRunApartTol);
    }
}


TEST_CASE("cuda train: the command trains on cuda and resumes on the cpu") {
    // `nst train --backend cuda` end to end: progress, trace, checkpoint, model; the checkpoint
    // then continues with --backend cpu (one format), and the model stylises.
    const std::string dir = tiny_dataset("cuda_train_cli");
    const std::string style = dir + "/style.png";
    save_image(style, tiny_style().cview());
    const std::string out = test::temp_dir("cuda_train_cli_out");
    const std::string model = out + "/model.safetensors", ckpt = out + "/ckpt.safetensors";
    const std::string trace = out + "/trace.jsonl";
    auto args = [&](const char* backend, const char* iterations) {
        return std::vector<std::string>{"train", "--style", style, "--dataset", dir, "--output", model,
                                        "--weights", "random16:3", "--width", "4", "--image-size", "16",
                                        "--batch-size", "2", "--iterations", iterations, "--lr", "1e-3",
                                        "--checkpoint-every", "1", "--checkpoint", ckpt, "--trace", trace,
                                        "--print-every", "1", "--backend", backend};
    };
    const test::RunResult r = test::run_nst(args("cuda", "1"));
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(r.err.find("on cuda (device 0)") != std::string::npos);
    CHECK(r.err.find("iter 1/1") != std::string::npos);
    CHECK(test::count_lines(test::read_file(trace)) == 1);
    CHECK(load_train_checkpoint(ckpt).adam_step == 1);
    std::vector<std::string> resume = args("cpu", "2");
    resume.insert(resume.end(), {"--resume", ckpt});
    const test::RunResult c = test::run_nst(resume);
    INFO(c.err);
    REQUIRE(c.exit_code == 0);
    CHECK(c.err.find("resuming at 1") != std::string::npos);
    CHECK(test::count_lines(test::read_file(trace)) == 1);  // this process's iterations
    CHECK(load_model(model).metadata.at("nst.train.iteration") == "2");
    const test::RunResult s = test::run_nst({"stylize", "--model", model, "--content", dir + "/0.png", "--output",
                                             out + "/styled.png", "--backend", "cuda", "--quiet"});
    INFO(s.err);
    CHECK(s.exit_code == 0);
}
