// SPDX-License-Identifier: MIT
// `nst train`: trains a feed-forward network on a folder of images (engine/train.h), writing an
// nst model file for `nst stylize`:
//   --method perceptual (default; issue #12): Johnson et al.'s TransformerNet for one --style;
//   --method adain (issue #13): AdaIN's decoder behind a frozen --encoder, with style images
//     drawn from --style-dataset (engine/adain_train_step.h);
//   --method wct-decoder --level N (issue #13): a WCT decoder of one level behind the frozen
//     encoder prefix to reluN_1, trained for reconstruction (engine/wct_train_step.h; CPU).
// The options that belong to one method are refused with the other.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "cli/progress.h"
#include "cli/trace.h"
#include "core/error.h"
#include "engine/engine.h"
#include "engine/system_memory.h"
#include "engine/adain_train_step.h"
#include "engine/wct_train_step.h"
#include "engine/train.h"
#include "engine/train_step_cpu.h"
#include "io/atomic_file.h"
#include "io/image.h"
#include "io/path.h"
#include "nn/adain_net.h"
#include "nn/wct_net.h"
#include "nn/model_checksum.h"
#include "nn/net_model.h"
#include "nn/transformer_net.h"
#include "nn/vgg19.h"
#include "nn/weights.h"

#ifdef NST_HAVE_CUDA
#include "cuda/adain_train_step_cuda.h"
#include "cuda/train_step_cuda.h"
#endif

namespace nst::cli {

namespace {

struct TrainOptions {
    std::string method = "perceptual";
    std::string style, dataset, output;
    // --method adain
    std::string style_dataset, encoder;
    // --method wct-decoder (--encoder too)
    int level = 0;
    double feature_weight = 1.0;
    std::string loss_convention = "port";
    std::string resize = "squash";
    int resize_size = 512;
    double lr_decay = 0;
    std::string weights = "weights/vgg16.safetensors";  // the paper's loss network
    std::string arch = "pytorch-examples";
    int width = 0;
    std::string loss_preset = "pytorch-examples";
    double content_weight = 0, style_weight = 0, tv_weight = 0;
    std::string content_layers, style_layers;
    int batch_size = 4;
    int image_size = 256;
    int style_size = 0;
    std::string crop = "random";
    std::string shuffle = "on";
    double epochs = 2;
    long long iterations = 0;
    double lr = 1e-3;
    std::uint64_t seed = 42;
    int checkpoint_every = 0;
    std::string checkpoint;
    std::string resume;
    std::string trace;
    int print_every = 50;
    bool quiet = false;
    int threads = 0;
    std::string memory_limit;
    std::string backend = "cpu";
    int gpu = 0;
    CLI::Option *o_content_weight = nullptr, *o_style_weight = nullptr, *o_tv_weight = nullptr;
    CLI::Option *o_epochs = nullptr, *o_iterations = nullptr;
    CLI::Option *o_lr = nullptr, *o_batch_size = nullptr, *o_lr_decay = nullptr;
    // The options of one method, refused with the other.
    std::vector<CLI::Option*> perceptual_only, adain_only;
    std::vector<CLI::Option*> wct_only;        // refused by the other methods
    std::vector<CLI::Option*> wct_refused;     // of adain_only, those WCT has no use for
};

TrainMethod parse_method(const std::string& name) {
    if (name == "perceptual") return TrainMethod::Perceptual;
    if (name == "adain") return TrainMethod::Adain;
    if (name == "wct-decoder") return TrainMethod::WctDecoder;
    throw_usage("--method: unknown method '" + name + "' (known: perceptual, adain, wct-decoder)");
}

TransformerLayout parse_arch(const std::string& name) {
    if (name == "pytorch-examples") return TransformerLayout::PytorchExamples;
    if (name == "jcjohnson") return TransformerLayout::JcjohnsonInstanceNorm;
    throw_usage("--arch: unknown architecture '" + name + "' (known: pytorch-examples, jcjohnson)");
}

bool parse_on_off(const std::string& v, const std::string& option) {
    if (v == "on") return true;
    if (v == "off") return false;
    throw_usage(option + ": expected on or off, got '" + v + "'");
}

// FNV-1a 64 over the float32 bytes of the style image as trained on: a resumed run must use the
// same style, wherever the file now lies.
std::string pixels_checksum(ConstView<float> t) {
    std::uint64_t h = 0xcbf29ce484222325ull;
    const auto* p = reinterpret_cast<const unsigned char*>(t.data);
    for (std::size_t i = 0; i < t.numel() * sizeof(float); ++i) h = (h ^ p[i]) * 0x100000001b3ull;
    char buf[40];
    std::snprintf(buf, sizeof buf, "fnv1a64:%016llx", (unsigned long long)h);
    return buf;
}

// "model.safetensors" -> "model.checkpoint.safetensors".
std::string default_checkpoint_path(const std::string& output) {
    const std::string ext = lower_extension(output);
    const std::string stem = ext.empty() ? output : output.substr(0, output.size() - ext.size());
    return stem + ".checkpoint.safetensors";
}

// lr: the rate the iteration stepped with (the schedule's).
std::string trace_line(const TrainProgress& p, std::size_t dataset_size, int batch, double lr) {
    const double epoch = double(p.iteration) * batch / double(dataset_size);
    return "{\"iter\": " + std::to_string(p.iteration) + ", \"epoch\": " + json_number(epoch) +
           ", \"total\": " + json_number(p.terms.total) + ", \"content\": " + json_number(p.terms.content_sum()) +
           ", \"style\": " + json_number(p.terms.style_sum()) + ", \"tv\": " + json_number(p.terms.tv) +
           ", \"lr\": " + json_number(lr) + ", \"seconds\": " + json_number(p.seconds) + "}\n";
}

void print_progress(const TrainProgress& p, int every, std::size_t dataset_size, int batch) {
    if (every <= 0 || (p.iteration % every != 0 && p.iteration != p.iterations)) return;
    const long long done = p.iteration - p.first;
    const double rate = p.seconds > 0 ? double(done) / p.seconds : 0;
    const double eta = rate > 0 ? double(p.iterations - p.iteration) / rate : 0;
    const double epoch = double(p.iteration) * batch / double(dataset_size);
    std::fprintf(stderr,
                 "nst: iter %*lld/%lld (epoch %.2f)  total %.6e  content %.4e  style %.4e  tv %.4e  %.2f it/s  ETA %s\n",
                 int(std::to_string(p.iterations).size()), p.iteration, p.iterations, epoch, p.terms.total,
                 p.terms.content_sum(), p.terms.style_sum(), p.terms.tv, rate, format_duration(eta).c_str());
}

// A frozen encoder for --method adain / wct-decoder: a model file whose arch is one of `archs`
// (else an input error ending in `hint`), or random[:SEED] made by `random` (tests and timing:
// a warning says the decoder will learn to invert noise features).
NetModel load_encoder(const std::string& spec, const std::vector<std::string>& archs, const char* random_what,
                      NetModel (*random)(std::uint64_t), const std::string& hint) {
    if (spec == "random" || spec.rfind("random:", 0) == 0) {
        std::uint64_t seed = 0;
        if (spec.size() > 7) {
            char* end = nullptr;
            seed = std::strtoull(spec.c_str() + 7, &end, 10);
            if (*end != 0 || spec.size() == 7) throw_usage("--encoder '" + spec + "': expected random[:SEED]");
        }
        std::fprintf(stderr,
                     "nst: warning: --encoder %s: a random %s, not the trained VGG; the decoder learns to invert "
                     "noise features (for tests and timing)\n",
                     spec.c_str(), random_what);
        return random(seed);
    }
    NetModel m = load_model(spec);
    if (std::find(archs.begin(), archs.end(), m.desc.arch) == archs.end())
        throw_input("--encoder '" + spec + "': the model is a " + m.desc.arch + ", not " + hint);
    return m;
}

NetModel load_adain_encoder(const std::string& spec) {
    return load_encoder(spec, {"adain-encoder"}, "adain-encoder", random_adain_encoder,
                        "an adain-encoder (convert pytorch-AdaIN's vgg_normalised.pth with nst weights convert)");
}

// WCT's levels 1-4 run on an adain-encoder too; level 5 needs vgg-normalised (to relu5_1).
NetModel load_wct_encoder(const std::string& spec) {
    return load_encoder(spec, {"adain-encoder", "vgg-normalised"}, "vgg-normalised encoder", random_vgg_normalised,
                        "an adain-encoder or vgg-normalised (convert pytorch-AdaIN's vgg_normalised.pth with nst "
                        "weights convert, --arch vgg-normalised for level 5)");
}

void train(TrainOptions& o) {
    // Option values first (exit 2), then files (exit 3), then the run (exit 4).
    const TrainMethod method = parse_method(o.method);
    const bool adain = method == TrainMethod::Adain;
    const bool wct = method == TrainMethod::WctDecoder;
    std::vector<CLI::Option*> refused = wct ? o.perceptual_only : adain ? o.perceptual_only : o.adain_only;
    if (wct) refused.insert(refused.end(), o.wct_refused.begin(), o.wct_refused.end());
    if (!wct) refused.insert(refused.end(), o.wct_only.begin(), o.wct_only.end());
    for (CLI::Option* opt : refused)
        if (opt->count())
            throw_usage(opt->get_name() + ": not an option of --method " + o.method +
                        (adain ? " (AdaIN's style images come from --style-dataset)" : ""));
    if (wct) {
        if (o.level < 1 || o.level > kWctLevels)
            throw_usage("--level: --method wct-decoder needs the level to train, 1 to " + std::to_string(kWctLevels) +
                        (o.level ? ", got " + std::to_string(o.level) : std::string()));
        if (o.encoder.empty())
            throw_usage("--method wct-decoder needs --encoder FILE (adain-encoder or vgg-normalised) or random[:SEED]");
        if (!(o.feature_weight >= 0) || !std::isfinite(o.feature_weight))
            throw_usage("--feature-weight: must be a finite number >= 0");
        if (o.backend == "cuda")
            throw_usage("--method wct-decoder trains on the CPU only for now (--backend cpu)");
    } else if (adain) {
        if (o.style_dataset.empty()) throw_usage("--method adain needs --style-dataset DIR");
        if (o.encoder.empty())
            throw_usage("--method adain needs --encoder FILE (an adain-encoder model) or random[:SEED]");
    } else if (o.style.empty()) {
        throw_usage("--style is required (the style image the network learns)");
    }
    if (o.backend != "cpu" && o.backend != "cuda") throw_usage("--backend: expected cpu or cuda, got '" + o.backend + "'");
    if (o.gpu < 0) throw_usage("--gpu: must be >= 0");
    // As `nst run --backend cuda` fails where it cannot run (engine/backend.cpp).
#ifndef NST_HAVE_CUDA
    if (o.backend == "cuda") throw_runtime("--backend cuda: this nst was built without CUDA; use --backend cpu");
#else
    if (o.backend == "cuda" && cuda_device_count() == 0)
        throw_runtime("--backend cuda: no usable CUDA device; use --backend cpu");
#endif
    // Defaults that differ by method: the paper's (AdaIN: Adam 1e-4, decay 5e-5, batch 8).
    // WCT's decoders: AdaIN's Adam rate and batch, no decay (nst's choice: the WCT paper's training
    // settings beyond the loss were not retrieved; docs/conventions.md "WCT").
    if (!o.o_lr->count()) o.lr = adain || wct ? 1e-4 : 1e-3;
    if (!o.o_batch_size->count()) o.batch_size = adain || wct ? 8 : 4;
    if (!o.o_lr_decay->count()) o.lr_decay = adain ? 5e-5 : 0;
    if (o.o_epochs->count() && o.o_iterations->count()) throw_usage("--epochs and --iterations exclude each other");
    if (o.o_iterations->count() && o.iterations < 1) throw_usage("--iterations: must be at least 1");
    if (!(o.epochs > 0) || !std::isfinite(o.epochs)) throw_usage("--epochs: must be a positive number");
    if (o.batch_size < 1) throw_usage("--batch-size: must be at least 1");
    if (wct) {
        const int scale = 1 << (o.level - 1);
        if (o.image_size % scale != 0 || o.image_size < 2 * scale)
            throw_usage("--image-size: level " + std::to_string(o.level) + " needs a multiple of " +
                        std::to_string(scale) + " and at least " + std::to_string(2 * scale) +
                        " (the encoder halves it " + std::to_string(o.level - 1) + " times), got " +
                        std::to_string(o.image_size));
    } else if (adain) {
        if (o.image_size < 16 || o.image_size % 8 != 0)
            throw_usage("--image-size: must be a multiple of 8 and at least 16 (the encoder halves it three times), got " +
                        std::to_string(o.image_size));
    } else if (o.image_size < 8 || o.image_size % 4 != 0) {
        throw_usage("--image-size: must be a multiple of 4 and at least 8 (the network halves it twice), got " +
                    std::to_string(o.image_size));
    }
    if (o.checkpoint_every < 0) throw_usage("--checkpoint-every: must be >= 0 (0 = no checkpoints)");
    if (o.width < 0) throw_usage("--width: must be >= 0 (0 = the architecture's published width)");
    if (o.style_size < 0) throw_usage("--style-size: must be >= 0 (0 = the style image's own size)");
    if (o.threads < 0) throw_usage("--threads: must be >= 0 (0 = all cores)");
    if (!(o.lr > 0) || !std::isfinite(o.lr)) throw_usage("--lr: must be a positive number");
    if (!(o.lr_decay >= 0) || !std::isfinite(o.lr_decay)) throw_usage("--lr-decay: must be a finite number >= 0");
    for (auto [opt, v] : {std::pair{o.o_content_weight, o.content_weight}, std::pair{o.o_style_weight, o.style_weight},
                          std::pair{o.o_tv_weight, o.tv_weight}})
        if (opt->count() && (!(v >= 0) || !std::isfinite(v)))
            throw_usage(opt->get_name() + ": must be a finite number >= 0");
    SampleOptions sample;
    sample.image_size = o.image_size;
    sample.seed = o.seed;
    sample.shuffle = parse_on_off(o.shuffle, "--shuffle");
    if (o.crop == "random")
        sample.crop = CropMode::Random;
    else if (o.crop == "center")
        sample.crop = CropMode::Center;
    else
        throw_usage("--crop: expected random or center, got '" + o.crop + "'");
    AdainTrainOptions adain_loss;
    if (adain || wct) {
        if (o.resize == "squash")
            sample.resize_mode = ResizeMode::Squash;
        else if (o.resize == "short")
            sample.resize_mode = ResizeMode::Short;
        else
            throw_usage("--resize: expected squash or short, got '" + o.resize + "'");
        if (o.resize_size < o.image_size)
            throw_usage("--resize-size " + std::to_string(o.resize_size) + ": smaller than the --image-size " +
                        std::to_string(o.image_size) + " crop");
        sample.resize = o.resize_size;
    }
    if (adain) {
        if (o.loss_convention == "port")
            adain_loss.convention = AdainLossConvention::Port;
        else if (o.loss_convention == "official")
            adain_loss.convention = AdainLossConvention::Official;
        else
            throw_usage("--loss-convention: expected port or official, got '" + o.loss_convention + "'");
        const bool port = adain_loss.convention == AdainLossConvention::Port;
        adain_loss.content_weight = o.o_content_weight->count() ? o.content_weight : 1.0;
        adain_loss.style_weight = o.o_style_weight->count() ? o.style_weight : port ? 10.0 : 1e-2;
    }
    const TransformerLayout layout = adain || wct ? TransformerLayout::PytorchExamples : parse_arch(o.arch);
    const PerceptualPreset& preset = perceptual_preset(o.loss_preset);
    const std::size_t explicit_limit = o.memory_limit.empty() ? 0 : parse_memory_size(o.memory_limit, "--memory-limit");
    if (lower_extension(o.output) != ".safetensors")
        throw_usage("--output '" + o.output + "': a model is written as .safetensors");
    const std::string checkpoint = o.checkpoint.empty() ? default_checkpoint_path(o.output) : o.checkpoint;
    if (o.threads > 0) omp_set_num_threads(o.threads);

    check_writable(o.output);
    if (o.checkpoint_every > 0) check_writable(checkpoint);
    if (!o.trace.empty()) check_writable(o.trace);

    TrainConfig config;
    config.method = method;
    config.sample = sample;
    config.batch_size = o.batch_size;
    config.learning_rate = o.lr;
    config.lr_decay = o.lr_decay;
    config.checkpoint_every = o.checkpoint_every;
    config.checkpoint_path = o.checkpoint_every > 0 ? checkpoint : std::string();

    // Files, the cheap ones first, and the step on the chosen backend; the loop (checkpoints,
    // trace, resume) is the same for every method.
    std::unique_ptr<ImageDataset> style_dataset;
    std::unique_ptr<cpu::VggNet<float>> loss_net;
    std::unique_ptr<TrainStep> step;
    Tensor<float> style;
    std::unique_ptr<ImageDataset> dataset_ptr;
    if (wct) {
        dataset_ptr = std::make_unique<ImageDataset>(o.dataset);
        const NetModel encoder = load_wct_encoder(o.encoder);
        config.desc = wct_decoder_desc(o.level);
        config.wct.level = o.level;
        config.wct.feature_weight = o.feature_weight;
        const std::string encoder_sum = params_checksum(encoder.params);
        config.model_metadata["nst.wct.encoder_checksum"] = encoder_sum;
        config.record = {{"encoder", encoder_sum}, {"dataset_files", std::to_string(dataset_ptr->size())}};
        step = make_wct_train_step(config, encoder);
    } else if (adain) {
        dataset_ptr = std::make_unique<ImageDataset>(o.dataset);
        style_dataset = std::make_unique<ImageDataset>(o.style_dataset, "--style-dataset");
        const NetModel encoder = load_adain_encoder(o.encoder);
        config.desc = adain_decoder_desc();
        config.adain = adain_loss;
        config.style_sample = sample;
        config.style_sample.order_stream = rng::kStreamStyleOrder;
        config.style_sample.crop_stream = rng::kStreamStyleCrop;
        const std::string encoder_sum = params_checksum(encoder.params);
        config.model_metadata[kAdainEncoderChecksumKey] = encoder_sum;
        config.record = {{"encoder", encoder_sum},
                         {"dataset_files", std::to_string(dataset_ptr->size())},
                         {"style_dataset_files", std::to_string(style_dataset->size())}};
        if (o.backend == "cuda") {
#ifdef NST_HAVE_CUDA
            step = cuda::make_cuda_adain_train_step(config, encoder, o.gpu);
#endif
        } else {
            step = make_adain_train_step(config, encoder);
        }
    } else {
        PerceptualOptions loss;
        loss.content_weight = o.o_content_weight->count() ? o.content_weight : preset.content_weight;
        loss.style_weight = o.o_style_weight->count() ? o.style_weight : preset.style_weight;
        loss.tv_weight = o.o_tv_weight->count() ? o.tv_weight : preset.tv_weight;
        style = load_image(o.style);
        if (o.style_size > 0) {
            int h = 0, w = 0;
            target_size(style.shape().h, style.shape().w, o.style_size, SizeRule::Short, h, w);
            style = resize_image(style.cview(), h, w);
        }
        dataset_ptr = std::make_unique<ImageDataset>(o.dataset);
        const VggWeights weights = load_weights(o.weights);
        if (weights.random) warn_random_weights(weights.source);
        if (!o.quiet && !weights.random && weights.preprocess != preset.preprocess)
            std::fprintf(stderr, "nst: note: the %s preset was made with %s loss weights; '%s' are %s\n", preset.name,
                         preprocess_name(preset.preprocess), o.weights.c_str(), preprocess_name(weights.preprocess));
        loss.preprocess = weights.preprocess;
        // Layer names are the loaded network's (VGG16 or VGG19).
        loss.content_layers = parse_layer_list(o.content_layers.empty() ? preset.content_layers : o.content_layers,
                                               "--content-layers", weights.arch);
        loss.style_layers = o.style_layers == "none"
                                ? std::vector<int>{}
                                : parse_layer_list(o.style_layers.empty() ? preset.style_layers : o.style_layers,
                                                   "--style-layers", weights.arch);
        config.desc = transformer_net_desc(layout, o.width);
        config.io = layout == TransformerLayout::PytorchExamples ? ModelIo::Rgb255 : ModelIo::CaffeBgr;
        loss.io = config.io;
        config.loss = loss;
        config.record = {{"arch", o.arch},
                         {"loss_preset", o.loss_preset},
                         {"content_layers", o.content_layers.empty() ? preset.content_layers : o.content_layers},
                         {"style_layers", o.style_layers.empty() ? preset.style_layers : o.style_layers},
                         {"loss_network", arch_name(weights.arch)},
                         {"loss_weights", weights_checksum(weights)},
                         {"style", pixels_checksum(style.cview())},
                         {"dataset_files", std::to_string(dataset_ptr->size())}};
        if (o.backend == "cuda") {
#ifdef NST_HAVE_CUDA
            step = cuda::make_cuda_train_step(config, weights, style.cview(), o.gpu);
#endif
        } else {
            loss_net = std::make_unique<cpu::VggNet<float>>(weights, Pooling::Max);
            step = make_cpu_train_step(config, *loss_net, style.cview());
        }
    }
    const ImageDataset& dataset = *dataset_ptr;
    config.iterations = o.o_iterations->count()
                            ? o.iterations
                            : std::max(1LL, (long long)std::ceil(o.epochs * double(dataset.size()) / o.batch_size));
    Trainer trainer(config, dataset, std::move(step), style_dataset.get());

    // A batch that cannot fit is refused before the first step allocates it (host memory; on
    // the GPU the step's device memory is not predicted).
    const std::size_t need = trainer.step_bytes(omp_get_max_threads());
    const std::size_t limit = explicit_limit ? explicit_limit : default_host_limit();
    if (limit > 0 && resident_bytes() + need > limit) {
        const std::string what = "--batch-size " + std::to_string(o.batch_size) + " at --image-size " +
                                 std::to_string(o.image_size) + " needs a predicted " + format_bytes(need) +
                                 " for training, more than the " + format_bytes(limit) +
                                 (explicit_limit ? " of --memory-limit" : " this machine has available") +
                                 "; use a smaller --batch-size or --image-size";
        if (explicit_limit) throw_usage(what);
        throw_runtime(what);
    }
    if (!o.resume.empty()) trainer.resume(o.resume);
    if (!o.quiet)
        std::fprintf(stderr,
                     "nst: training %s (%zu parameters) on %zu images%s, %lld iterations of %d at %d px on %s, a step "
                     "needs about %s of host memory%s\n",
                     config.desc.arch.c_str(), param_count(config.desc), dataset.size(),
                     style_dataset ? (" and " + std::to_string(style_dataset->size()) + " style images").c_str() : "",
                     config.iterations, o.batch_size, o.image_size,
                     o.backend == "cuda" ? ("cuda (device " + std::to_string(o.gpu) + ")").c_str() : "the cpu",
                     format_bytes(need).c_str(),
                     trainer.iteration() > 0 ? (", resuming at " + std::to_string(trainer.iteration())).c_str() : "");

    // The trace covers the iterations this process ran (after the checkpoint when resuming).
    std::string trace;
    const TrainResult r = trainer.run([&](const TrainProgress& p) {
        if (!o.trace.empty())
            trace += trace_line(p, dataset.size(), o.batch_size, train_learning_rate(config, p.iteration - 1));
        if (!o.quiet) print_progress(p, o.print_every, dataset.size(), o.batch_size);
    });
    if (r.interrupted_by) {
        const std::string ckpt = r.last_checkpoint >= 0 ? "; the checkpoint '" + checkpoint + "' (iteration " +
                                                               std::to_string(r.last_checkpoint) + ") is kept"
                                                         : "";
        throw_runtime(std::string("interrupted by ") + (r.interrupted_by == SIGINT ? "SIGINT" : "SIGTERM") +
                      " at iteration " + std::to_string(r.iteration) + " of " + std::to_string(config.iterations) +
                      ckpt + "; nothing else was written");
    }
    NetModel model = trainer.model();
    model.metadata["nst.source"] = "nst train";
    save_model(o.output, model);
    if (!o.trace.empty()) write_file_atomic(o.trace, trace.data(), trace.size());
    if (r.decode_failures)
        std::fprintf(stderr, "nst: warning: %zu dataset files could not be decoded and were skipped\n",
                     r.decode_failures);
    if (!o.quiet) std::fprintf(stderr, "nst: wrote %s\n", o.output.c_str());
}

}  // namespace

Command add_train_command(CLI::App& app) {
    auto o = std::make_shared<TrainOptions>();
    CLI::App* sub = app.add_subcommand(
        "train", "train a feed-forward style network (Johnson et al.'s, or AdaIN's decoder) on a folder of images");
    sub->add_option("--method", o->method,
                    "perceptual (TransformerNet for one style), adain (AdaIN's decoder) or wct-decoder (a WCT "
                    "decoder of one --level)")
        ->capture_default_str();
    CLI::Option* o_style = sub->add_option("--style", o->style, "the style image (--method perceptual)");
    sub->add_option("--dataset", o->dataset, "folder of training images (searched recursively; e.g. COCO train2014)")
        ->required();
    sub->add_option("--output", o->output, "the trained model (.safetensors), for nst stylize")->required();
    CLI::Option* o_style_dataset =
        sub->add_option("--style-dataset", o->style_dataset, "folder of style images (--method adain; e.g. WikiArt)");
    CLI::Option* o_encoder = sub->add_option(
        "--encoder", o->encoder,
        "--method adain: the frozen adain-encoder model (safetensors) or random[:SEED]; wct-decoder: an "
        "adain-encoder or vgg-normalised model (level 5), or random[:SEED]");
    CLI::Option* o_convention = sub->add_option(
        "--loss-convention", o->loss_convention,
        "--method adain: port (pytorch-AdaIN: unbiased std + 1e-5, means over N C) or official (AdaIN-style Torch)")
        ->capture_default_str();
    CLI::Option* o_resize =
        sub->add_option("--resize", o->resize,
                        "--method adain: squash (both sides to --resize-size, the port's) or short (smaller side, "
                        "the official code's), then the random --image-size crop")
            ->capture_default_str();
    CLI::Option* o_resize_size =
        sub->add_option("--resize-size", o->resize_size, "--method adain: the size resized to before the crop")
            ->capture_default_str();
    CLI::Option* o_weights =
        sub->add_option("--weights", o->weights, "loss network weights, VGG16 or VGG19 (safetensors), or random16[:SEED]")
            ->capture_default_str();
    CLI::Option* o_arch =
        sub->add_option("--arch", o->arch, "pytorch-examples or jcjohnson (half-width instance-norm) TransformerNet")
            ->capture_default_str();
    CLI::Option* o_width =
        sub->add_option("--width", o->width, "channels of the first layer (0 = the architecture's published width)")
            ->capture_default_str();
    CLI::Option* o_preset =
        sub->add_option("--loss-preset", o->loss_preset, "pytorch-examples or jcjohnson: layers and weights of the loss")
            ->capture_default_str();
    o->o_content_weight = sub->add_option("--content-weight", o->content_weight,
                                          "content weight (default: the preset's; adain: 1)");
    o->o_style_weight = sub->add_option("--style-weight", o->style_weight,
                                        "style weight (default: the preset's; adain: 10 port, 1e-2 official)");
    o->o_tv_weight = sub->add_option("--tv-weight", o->tv_weight, "total variation weight (default: the preset's)");
    CLI::Option* o_content_layers =
        sub->add_option("--content-layers", o->content_layers, "comma-separated layers (default: the preset's)");
    CLI::Option* o_style_layers =
        sub->add_option("--style-layers", o->style_layers, "comma-separated layers, or none (default: the preset's)");
    o->o_batch_size = sub->add_option("--batch-size", o->batch_size, "images per step (default: 4; adain: 8)");
    sub->add_option("--image-size", o->image_size, "training crop size (multiple of 4; adain: of 8)")
        ->capture_default_str();
    CLI::Option* o_style_size =
        sub->add_option("--style-size", o->style_size, "style image's shorter side (0 = as it is)")->capture_default_str();
    sub->add_option("--crop", o->crop, "random or center crops")->capture_default_str();
    sub->add_option("--shuffle", o->shuffle, "on: a new order each epoch; off: sorted order")->capture_default_str();
    o->o_epochs = sub->add_option("--epochs", o->epochs, "passes over the dataset (may be fractional)")
                      ->capture_default_str();
    o->o_iterations = sub->add_option("--iterations", o->iterations, "steps in all (instead of --epochs)");
    o->o_lr = sub->add_option("--lr", o->lr, "Adam learning rate (default: 1e-3; adain: 1e-4)");
    o->o_lr_decay = sub->add_option("--lr-decay", o->lr_decay,
                                    "inverse-time decay: iteration i steps with lr / (1 + decay i) (default: 0; adain: 5e-5)");
    sub->add_option("--seed", o->seed, "initial parameters, sample order and crops")->capture_default_str();
    sub->add_option("--checkpoint-every", o->checkpoint_every, "write a checkpoint every N iterations (0 = never)")
        ->capture_default_str();
    sub->add_option("--checkpoint", o->checkpoint, "checkpoint file (default: OUTPUT with .checkpoint.safetensors)");
    sub->add_option("--resume", o->resume, "continue from a checkpoint (same settings)");
    sub->add_option("--trace", o->trace, "JSON Lines file: the loss terms of every iteration");
    sub->add_option("--print-every", o->print_every, "progress line every N iterations (0 = none)")
        ->capture_default_str();
    sub->add_flag("--quiet", o->quiet, "no progress or notes on stderr");
    sub->add_option("--backend", o->backend, "cpu or cuda (the same step, checkpoints resumable on either)")
        ->capture_default_str();
    sub->add_option("--gpu", o->gpu, "CUDA device index")->capture_default_str();
    sub->add_option("--threads", o->threads, "CPU threads (0 = all cores)")->capture_default_str();
    sub->add_option("--memory-limit", o->memory_limit, "refuse settings predicted to need more (SIZE: 8G, 512M)");
    o->perceptual_only = {o_style, o_weights, o_arch, o_width, o_preset, o->o_tv_weight, o_content_layers,
                          o_style_layers, o_style_size};
    o->adain_only = {o_style_dataset, o_encoder, o_convention, o_resize, o_resize_size};
    CLI::Option* o_level =
        sub->add_option("--level", o->level, "--method wct-decoder: the level 1..5 (relu1_1 .. relu5_1) to decode");
    CLI::Option* o_feature_weight = sub->add_option(
        "--feature-weight", o->feature_weight,
        "--method wct-decoder: lambda of the feature reconstruction term (pixel MSE + lambda feature MSE)")
        ->capture_default_str();
    o->wct_only = {o_level, o_feature_weight};
    o->wct_refused = {o_style_dataset, o_convention, o->o_content_weight, o->o_style_weight};
    return [o] { train(*o); };
}

}  // namespace nst::cli
