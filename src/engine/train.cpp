// SPDX-License-Identifier: MIT
#include "engine/train.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

#include "core/error.h"
#include "core/interrupt.h"
#include "engine/train_checkpoint.h"
#include "engine/train_step_cpu.h"

namespace nst {

namespace {

std::string number(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    return buf;
}

std::string join(const std::vector<int>& v) {
    std::string s;
    for (int x : v) s += (s.empty() ? "" : ",") + std::to_string(x);
    return s;
}

// The keys that may differ between a checkpoint and the run resuming it.
bool free_to_change(const std::string& key) {
    return key == "nst.train.iterations" || key == "nst.train.iteration" || key == "nst.train.adam_step";
}

// Keys that checkpoints of issue #12's trainer do not have, with the value they stood for.
const char* legacy_default(const std::string& key) {
    if (key == "nst.train.method") return "perceptual";
    if (key == "nst.train.lr_decay") return "0";
    if (key == "nst.train.resize") return "0";
    if (key == "nst.train.resize_mode") return "short";
    return nullptr;
}

const char* resize_mode_name(ResizeMode m) { return m == ResizeMode::Short ? "short" : "squash"; }

// nst.width: the channels of the description's first convolution (as save_model records it).
int first_conv_channels(const NetDesc& desc) {
    for (const LayerSpec& l : desc.layers)
        if (l.op == Op::Conv || l.op == Op::ConvTranspose) return l.channels;
    return 0;
}

}  // namespace

const char* train_method_name(TrainMethod method) {
    switch (method) {
        case TrainMethod::Perceptual: return "perceptual";
        case TrainMethod::Adain: return "adain";
        case TrainMethod::WctDecoder: return "wct-decoder";
    }
    return "?";
}

bool train_method_uses_style_dataset(TrainMethod method) { return method == TrainMethod::Adain; }

const char* adain_loss_convention_name(AdainLossConvention c) {
    return c == AdainLossConvention::Port ? "port" : "official";
}

double train_learning_rate(const TrainConfig& c, long long iteration) {
    return c.learning_rate / (1.0 + c.lr_decay * double(iteration));
}

std::map<std::string, std::string> train_metadata(const TrainConfig& c) {
    std::map<std::string, std::string> md;
    for (const auto& [k, v] : c.record) md["nst.train." + k] = v;
    md["nst.train.method"] = train_method_name(c.method);
    md["nst.train.seed"] = std::to_string(c.sample.seed);
    md["nst.train.batch_size"] = std::to_string(c.batch_size);
    md["nst.train.image_size"] = std::to_string(c.sample.image_size);
    md["nst.train.resize"] = std::to_string(c.sample.resize);
    md["nst.train.resize_mode"] = resize_mode_name(c.sample.resize_mode);
    md["nst.train.crop"] = c.sample.crop == CropMode::Random ? "random" : "center";
    md["nst.train.shuffle"] = c.sample.shuffle ? "true" : "false";
    md["nst.train.lr"] = number(c.learning_rate);
    md["nst.train.lr_decay"] = number(c.lr_decay);
    md["nst.train.iterations"] = std::to_string(c.iterations);
    if (train_method_uses_style_dataset(c.method)) {
        md["nst.train.style_image_size"] = std::to_string(c.style_sample.image_size);
        md["nst.train.style_resize"] = std::to_string(c.style_sample.resize);
        md["nst.train.style_resize_mode"] = resize_mode_name(c.style_sample.resize_mode);
    }
    switch (c.method) {
        case TrainMethod::Perceptual:
            md["nst.train.content_layer_indices"] = join(c.loss.content_layers);
            md["nst.train.style_layer_indices"] = join(c.loss.style_layers);
            md["nst.train.content_weight"] = number(c.loss.content_weight);
            md["nst.train.style_weight"] = number(c.loss.style_weight);
            md["nst.train.tv_weight"] = number(c.loss.tv_weight);
            md["nst.train.loss_preprocess"] = preprocess_name(c.loss.preprocess);
            break;
        case TrainMethod::Adain:
            md["nst.train.loss_convention"] = adain_loss_convention_name(c.adain.convention);
            md["nst.train.content_weight"] = number(c.adain.content_weight);
            md["nst.train.style_weight"] = number(c.adain.style_weight);
            break;
        case TrainMethod::WctDecoder:
            md["nst.train.level"] = std::to_string(c.wct.level);
            md["nst.train.feature_weight"] = number(c.wct.feature_weight);
            break;
    }
    return md;
}

void check_train_config(const TrainConfig& config) {
    if (config.batch_size < 1) throw_usage("--batch-size: must be at least 1");
    if (!(config.learning_rate > 0) || !std::isfinite(config.learning_rate))
        throw_usage("--lr: must be a positive number");
    if (!(config.lr_decay >= 0) || !std::isfinite(config.lr_decay))
        throw_usage("--lr-decay: must be a finite number >= 0");
    if (config.checkpoint_every < 0) throw_usage("--checkpoint-every: must be >= 0");
    if (config.method != TrainMethod::Perceptual) return;  // the other methods' steps check their sizes
    if (config.sample.image_size < 8 || config.sample.image_size % 4 != 0)
        throw_usage("--image-size: must be a multiple of 4 and at least 8 (the network halves it twice), got " +
                    std::to_string(config.sample.image_size));
    const int s = config.sample.image_size;
    const std::vector<Shape> shapes = output_shapes(config.desc, Shape{1, config.desc.in_channels, s, s});
    if (shapes.back() != Shape{1, 3, s, s})
        throw_usage("--image-size " + std::to_string(s) + ": the network's output is " + shapes.back().str() +
                    ", not the input's size");
}

struct Trainer::Impl {
    TrainConfig config;
    const ImageDataset& dataset;
    const ImageDataset* style_dataset;
    BatchSampler sampler;
    std::unique_ptr<BatchSampler> style_sampler;
    std::unique_ptr<TrainStep> step;
    long long last_checkpoint = -1;

    Impl(TrainConfig c, const ImageDataset& d, std::unique_ptr<TrainStep> s, const ImageDataset* sd)
        : config(std::move(c)), dataset(d), style_dataset(sd), sampler(d, config.sample), step(std::move(s)) {
        if (sd) style_sampler = std::make_unique<BatchSampler>(*sd, config.style_sample);
    }

    std::map<std::string, std::string> metadata(long long iteration) const {
        std::map<std::string, std::string> md = train_metadata(config);
        md["nst.io"] = config.method == TrainMethod::Perceptual ? model_io_name(config.io) : "rgb01";
        md["nst.width"] = std::to_string(first_conv_channels(config.desc));
        md["nst.train.iteration"] = std::to_string(iteration);
        for (const auto& [k, v] : config.model_metadata) md[k] = v;
        return md;
    }

    // The sampler's RGB in [0, 255] into the space the method's step takes.
    void to_step_space(TensorView<float> x) const {
        if (config.method == TrainMethod::Perceptual) {
            if (config.io != ModelIo::Rgb255) rgb255_to_model_io(config.io, x);
        } else {
            for (float& v : x) v *= 1.f / 255.f;
        }
    }
};

Trainer::Trainer(TrainConfig config, const ImageDataset& dataset, cpu::VggNet<float>& loss_net,
                 ConstView<float> style_rgb) {
    std::unique_ptr<TrainStep> step = make_cpu_train_step(config, loss_net, style_rgb);
    m = std::make_unique<Impl>(std::move(config), dataset, std::move(step), nullptr);
}

Trainer::Trainer(TrainConfig config, const ImageDataset& dataset, std::unique_ptr<TrainStep> step,
                 const ImageDataset* style_dataset) {
    check_train_config(config);
    NST_REQUIRE(step != nullptr, "Trainer needs a step");
    const bool wants_style = train_method_uses_style_dataset(config.method);
    if (wants_style && !style_dataset)
        throw_usage(std::string("--method ") + train_method_name(config.method) + " needs --style-dataset");
    if (!wants_style && style_dataset)
        throw_usage(std::string("--style-dataset: --method ") + train_method_name(config.method) +
                    " takes no style dataset");
    m = std::make_unique<Impl>(std::move(config), dataset, std::move(step), style_dataset);
}

Trainer::~Trainer() = default;

void Trainer::resume(const std::string& path) {
    TrainCheckpoint c = load_train_checkpoint(path);
    const std::string where = "--resume '" + path + "'";
    if (c.model.desc.arch != m->config.desc.arch || param_count(c.model.desc) != param_count(m->config.desc))
        throw_usage(where + ": the checkpoint is a " + c.model.desc.arch + " with " +
                    std::to_string(param_count(c.model.desc)) + " parameters, this run trains a " +
                    m->config.desc.arch + " with " + std::to_string(param_count(m->config.desc)));
    // Every setting that decides the result must be the checkpoint's.
    const std::map<std::string, std::string> mine = train_metadata(m->config);
    for (const auto& [key, value] : mine) {
        if (free_to_change(key)) continue;
        const auto it = c.model.metadata.find(key);
        const char* legacy = legacy_default(key);
        const std::string theirs = it != c.model.metadata.end() ? it->second : legacy ? legacy : "(none)";
        if (theirs != value)
            throw_usage(where + ": the checkpoint was made with " + key + "=" + theirs + ", this run has " + value +
                        " (resume with the same settings)");
    }
    if (c.iteration > m->config.iterations)
        throw_usage(where + ": the checkpoint is at iteration " + std::to_string(c.iteration) +
                    ", beyond the " + std::to_string(m->config.iterations) + " iterations asked for");
    m->step->restore(c.model.params, TrainAdamState{c.adam_step, c.adam_m, c.adam_v});
    m_iteration = c.iteration;
    m->last_checkpoint = c.iteration;
}

std::size_t Trainer::step_bytes(int threads) const {
    const TrainConfig& c = m->config;
    const int s = c.sample.image_size;
    std::size_t bytes = m->step->host_bytes(threads);
    bytes += Shape{c.batch_size, 3, s, s}.numel() * sizeof(float);  // the batch
    // Loading a sample: the largest image decoded (8-bit, then float RGB) and resized.
    long long pixels = m->dataset.max_pixels();
    if (m->style_dataset) {
        const int ss = c.style_sample.image_size;
        bytes += Shape{c.batch_size, 3, ss, ss}.numel() * sizeof(float);
        pixels = std::max(pixels, m->style_dataset->max_pixels());
    }
    const long long resized = std::max(c.sample.resize, c.style_sample.resize);
    bytes += std::size_t(pixels + resized * resized * 4) * (3 + 2 * 3 * sizeof(float));
    return bytes;
}

void Trainer::write_checkpoint() {
    if (m->config.checkpoint_path.empty()) return;
    TrainCheckpoint c;
    c.model = model();
    TrainAdamState a = m->step->adam_state();
    c.adam_m = std::move(a.m);
    c.adam_v = std::move(a.v);
    c.adam_step = a.step;
    c.iteration = m_iteration;
    save_train_checkpoint(m->config.checkpoint_path, c);
    m->last_checkpoint = m_iteration;
}

TrainResult Trainer::run(const std::function<void(const TrainProgress&)>& on_step) {
    const TrainConfig& c = m->config;
    const int s = c.sample.image_size;
    Tensor<float> x(Shape{c.batch_size, 3, s, s}), style;
    if (m->style_sampler) style = Tensor<float>(Shape{c.batch_size, 3, c.style_sample.image_size, c.style_sample.image_size});
    const auto start = std::chrono::steady_clock::now();
    const long long first = m_iteration;
    TrainResult r;
    while (m_iteration < c.iterations) {
        if (int sig = interrupt_signal()) {
            r.interrupted_by = sig;
            break;
        }
        const std::uint64_t first_sample = std::uint64_t(m_iteration) * std::uint64_t(c.batch_size);
        TrainBatch batch;
        m->sampler.load_batch(first_sample, x.view());
        m->to_step_space(x.view());
        batch.content = x.cview();
        if (m->style_sampler) {
            m->style_sampler->load_batch(first_sample, style.view());
            m->to_step_space(style.view());
            batch.style = style.cview();
        }
        const LossTerms terms = m->step->evaluate(batch);
        if (!std::isfinite(terms.total))
            throw_runtime("the loss became non-finite at iteration " + std::to_string(m_iteration + 1) +
                          "; try a lower --lr or smaller loss weights");
        m->step->update(train_learning_rate(c, m_iteration));
        ++m_iteration;
        if (on_step) {
            TrainProgress p;
            p.iteration = m_iteration;
            p.iterations = c.iterations;
            p.terms = terms;
            p.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            p.first = first;
            on_step(p);
        }
        if (c.checkpoint_every > 0 && (m_iteration % c.checkpoint_every == 0 || m_iteration == c.iterations))
            write_checkpoint();
    }
    r.iteration = m_iteration;
    r.last_checkpoint = m->last_checkpoint;
    r.decode_failures = m->sampler.decode_failures() + (m->style_sampler ? m->style_sampler->decode_failures() : 0);
    return r;
}

NetModel Trainer::model() const {
    NetModel out;
    out.desc = m->config.desc;
    out.params = m->step->params();
    out.metadata = m->metadata(m_iteration);
    return out;
}

}  // namespace nst
