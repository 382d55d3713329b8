// SPDX-License-Identifier: MIT
// Training a feed-forward network (`nst train`): Adam over the network's flat parameters,
// batches from a dataset folder, checkpoints that resume bit-identically. One loop for every
// method and backend; the per-iteration compute is a TrainStep (engine/train_step.h):
//   - perceptual (issue #12): Johnson et al.'s TransformerNet with the perceptual loss, on the
//     CPU (engine/train_step_cpu.h) or the GPU (cuda/train_step_cuda.h);
//   - adain (issue #13): AdaIN's decoder behind a frozen encoder, with style images drawn from
//     a second dataset (engine/adain_train_step.h).
// Adding a method is a TrainMethod value, its step, and its metadata in train_metadata().
// Checkpoints have one format, so a run may resume on either backend.
//
// Reproducibility: the initial parameters come from init_params(desc, seed), sample g's file and
// crop from (seed, g) (io/dataset.h; the style images from their own rng streams), so the whole
// state at iteration k is the parameters, Adam's moments and k. A checkpoint holds exactly that
// (engine/train_checkpoint.h); resuming from it gives the same bits as the uninterrupted run on
// the same machine and thread count.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/train_step.h"
#include "io/dataset.h"
#include "loss/perceptual.h"
#include "nn/net_desc.h"
#include "nn/net_model.h"
#include "nn/vgg19.h"

namespace nst {

enum class TrainMethod {
    Perceptual,  // TransformerNet, perceptual loss; batches in config.io space
    Adain,       // AdaIN's decoder; content and style batches in RGB [0, 1] (nst.io rgb01)
    WctDecoder,  // a WCT decoder of one level (engine/wct_train_step.h); content batches in RGB [0, 1]
};
const char* train_method_name(TrainMethod method);
// Whether the method draws style images from a dataset of their own (`--style-dataset`).
bool train_method_uses_style_dataset(TrainMethod method);

// The options of AdaIN's decoder training (research/feedforward.md §5.2-§5.3).
enum class AdainLossConvention {
    Port,      // pytorch-AdaIN: sigma = sqrt(unbiased var + 1e-5) for input and target, MSE means over N C
    Official,  // AdaIN-style (Torch): input sigma = sqrt(biased var + 1e-6), target biased std; sums over C / N
};
const char* adain_loss_convention_name(AdainLossConvention convention);

struct AdainTrainOptions {
    AdainLossConvention convention = AdainLossConvention::Port;
    double content_weight = 1;
    double style_weight = 10;   // the port's; the official code's is 1e-2
};

// The options of a WCT decoder's training (engine/wct_decoder_loss.h).
struct WctTrainOptions {
    int level = 4;                // 1..5: the encoder prefix to reluN_1 and its decoder
    double feature_weight = 1.0;  // lambda of the feature reconstruction term
};

struct TrainConfig {
    TrainMethod method = TrainMethod::Perceptual;
    NetDesc desc;                      // the network to train (transformer_net_desc, adain_decoder_desc)
    ModelIo io = ModelIo::Rgb255;      // perceptual: its input and output space
    PerceptualOptions loss;            // perceptual: layers, weights, the loss network's preprocessing
    AdainTrainOptions adain;           // adain: the loss
    WctTrainOptions wct;               // wct-decoder: the level and the loss
    SampleOptions sample;              // image size, resize, crop, shuffle, seed
    SampleOptions style_sample;        // the style images' (methods with a style dataset)
    int batch_size = 4;
    long long iterations = 0;          // total, counted from iteration 0 (a resumed run continues)
    double learning_rate = 1e-3;
    // Inverse-time decay as both AdaIN codes: iteration i (0-based) steps with
    // learning_rate / (1 + lr_decay * i). 0: a constant rate.
    double lr_decay = 0;
    int checkpoint_every = 0;          // 0: no checkpoints
    std::string checkpoint_path;       // where checkpoints go (atomically replaced each time)
    // Recorded in the model's and the checkpoint's metadata as nst.train.<key>; the keys that
    // decide the result (everything but "iterations") must match when resuming.
    std::map<std::string, std::string> record;
    // Other metadata the model carries, full keys (e.g. nst.adain.encoder_sha256).
    std::map<std::string, std::string> model_metadata;
};

// The learning rate of iteration i (0-based) under the config's schedule.
double train_learning_rate(const TrainConfig& config, long long iteration);

// The nst.train.* metadata of a configuration: its own settings plus config.record.
std::map<std::string, std::string> train_metadata(const TrainConfig& config);

// Usage errors (exit 2) for settings no step can run: batch size, image size the network
// does not reproduce, learning rate and decay, checkpoint interval. The step factories call it
// first.
void check_train_config(const TrainConfig& config);

struct TrainProgress {
    long long iteration = 0;  // just completed (1-based)
    long long iterations = 0;
    LossTerms terms;
    double seconds = 0;       // since this process began training
    long long first = 0;      // the iteration this process started at (0, or the checkpoint's)
};

struct TrainResult {
    long long iteration = 0;       // iterations completed in all
    int interrupted_by = 0;        // the signal that stopped the run, 0 when it ran to the end
    long long last_checkpoint = -1;  // the iteration of the last checkpoint written or resumed from
    std::size_t decode_failures = 0;
};

class Trainer {
public:
    // The network starts from init_params(desc, sample.seed). `loss_net` is borrowed; the style
    // targets are taken from style_rgb (1, 3, h, w) in [0, 1].
    Trainer(TrainConfig config, const ImageDataset& dataset, cpu::VggNet<float>& loss_net,
            ConstView<float> style_rgb);
    // Any method's and backend's step, made for the same config (make_cpu_train_step,
    // make_cuda_train_step, make_adain_train_step, ...). `style_dataset` (borrowed) is required
    // by the methods that use one and refused by the others.
    Trainer(TrainConfig config, const ImageDataset& dataset, std::unique_ptr<TrainStep> step,
            const ImageDataset* style_dataset = nullptr);
    ~Trainer();

    // Continues from a checkpoint: its parameters, Adam state and iteration. Usage error (exit 2)
    // when it was made with other settings (names the first that differs), input error (exit 3)
    // for a file that is not a checkpoint of this network.
    void resume(const std::string& checkpoint_path);
    long long iteration() const { return m_iteration; }

    // Host bytes a training step holds at once: the step's (on the CPU: the network's
    // activations for the batch, forward kept for backward, parameters, gradients and Adam's two
    // moments, the output gradient, and the loss network for one image; on the GPU little), the
    // batch, and the largest sample being loaded. Nothing of this is allocated before the first
    // step, so a caller can refuse a batch size that does not fit before it runs.
    std::size_t step_bytes(int threads) const;

    // Trains up to config.iterations, calling on_step after every iteration. Stops early, after
    // the current iteration, when core/interrupt.h reports a signal: nothing more is written
    // (the last checkpoint stays as it was).
    TrainResult run(const std::function<void(const TrainProgress&)>& on_step = {});

    // The trained model: parameters, nst.io, nst.train.* metadata (iteration included).
    NetModel model() const;

private:
    void write_checkpoint();

    struct Impl;
    std::unique_ptr<Impl> m;
    long long m_iteration = 0;
};

}  // namespace nst
