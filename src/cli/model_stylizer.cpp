// SPDX-License-Identifier: MIT
#include "cli/model_stylizer.h"

#include <omp.h>

#include <algorithm>
#include <memory>
#include <stdexcept>

#include "cli/split.h"
#include "cli/weight_cache.h"
#include "core/error.h"
#include "engine/adain_stylize.h"
#include "engine/stylize.h"
#include "engine/wct_stylize.h"
#include "io/image.h"
#include "nn/net_model.h"

#ifdef NST_HAVE_CUDA
#include <cuda_runtime.h>

#include "cuda/check.h"
#include "cuda/context.h"
#include "cuda/adain_cuda.h"
#include "cuda/network_cuda.h"
#include "cuda/wct_stylize_cuda.h"
#endif

namespace nst::cli {

namespace {

// The arbitrary-style methods a model's arch can run, the default first; empty for a
// feed-forward (per-style) model. The AdaIN decoder also serves a single-level WCT at relu4_1.
std::vector<std::string> methods_for_arch(const std::string& arch) {
    if (arch == "adain-decoder") return {"adain", "wct"};
    if (arch == "wct-decoder") return {"wct"};
    return {};
}

std::vector<std::string> style_list(const std::vector<std::string>& given) {
    std::vector<std::string> out;
    for (const std::string& g : given)
        for (const std::string& s : split(g, ','))
            if (!s.empty()) out.push_back(s);
    return out;
}

std::vector<double> parse_weights(const std::string& text) {
    std::vector<double> out;
    if (text.empty()) return out;
    for (const std::string& item : split(text, ',')) {
        try {
            std::size_t used = 0;
            const double v = std::stod(item, &used);
            if (used != item.size()) throw std::invalid_argument(item);
            out.push_back(v);
        } catch (const std::logic_error&) {
            throw_usage("--style-weights: '" + item + "' is not a number");
        }
    }
    return out;
}

#ifdef NST_HAVE_CUDA
// The network on a GPU: the padded input is uploaded, run through cuda::Network and brought back;
// padding and io conversions stay on the host (engine/stylize.h).
class CudaForward {
public:
    CudaForward(int gpu, const NetModel& m) : m_ctx(gpu), m_net(m_ctx, m.desc, m.params.data(), kWorkspace) {}
    Tensor<float> operator()(ConstView<float> x) {
        Tensor<float> dx(x.shape, Device::Cuda);
        NST_CUDA_CHECK(cudaMemcpyAsync(dx.data(), x.data, x.numel() * sizeof(float), cudaMemcpyHostToDevice,
                                       m_ctx.stream()));
        const ConstView<float> y = m_net.forward(dx.cview(), false);
        Tensor<float> out(y.shape);
        NST_CUDA_CHECK(cudaMemcpyAsync(out.data(), y.data, y.numel() * sizeof(float), cudaMemcpyDeviceToHost,
                                       m_ctx.stream()));
        m_ctx.synchronize();
        return out;
    }

private:
    static constexpr std::size_t kWorkspace = std::size_t(256) << 20;  // cuDNN workspace per convolution
    cuda::Context m_ctx;
    cuda::Network m_net;
};
#endif

// A per-style model (TransformerNet): the network on each image (engine/stylize.h).
void stylize_feedforward(const StylizeOptions& o, const NetModel& model, const UseStylizer& use) {
    const auto io_it = model.metadata.find("nst.io");
    const ModelIo io = io_it == model.metadata.end() ? ModelIo::Rgb255
                                                     : parse_model_io(io_it->second, "model '" + o.model + "'");
    ForwardFn net;
    std::unique_ptr<cpu::Network<float>> cpu_net;
    if (o.backend == "cuda") {
#ifdef NST_HAVE_CUDA
        auto gpu_net = std::make_shared<CudaForward>(o.gpu, model);
        net = [gpu_net](ConstView<float> x) { return (*gpu_net)(x); };
#else
        throw_runtime("this nst was built without CUDA; use --backend cpu");
#endif
    } else {
        cpu_net = std::make_unique<cpu::Network<float>>(model.desc, model.params.data());
        net = [&](ConstView<float> x) {
            const ConstView<float> y = cpu_net->forward(x, false);
            Tensor<float> out(y.shape);
            std::copy(y.begin(), y.end(), out.begin());
            return out;
        };
    }
    use([&](ConstView<float> rgb, const std::string&) { return stylize_image(net, io, rgb); });
}

// AdaIN (engine/adain_stylize.h): the decoder is --model, the encoder --encoder; styles are
// loaded, resized and encoded once for every content image.
void stylize_adain(const StylizeOptions& o, bool folder, const NetModel& decoder, const UseStylizer& use) {
    if (o.encoder.empty())
        throw_usage("--model '" + o.model + "' is an AdaIN decoder: give its encoder with --encoder "
                    "(nst weights convert vgg_normalised.pth)");
    const std::vector<std::string> styles = style_list(o.styles);
    if (styles.empty()) throw_usage("--model '" + o.model + "' is an AdaIN decoder: give at least one --style image");
    AdainSettings settings;
    settings.alpha = o.alpha;
    settings.weights = parse_weights(o.style_weights);
    settings.stats = parse_adain_stats(o.adain_stats);
    settings.preserve_color = o.preserve_color;
    settings.content_size = o.content_size;
    settings.style_size = o.style_size;
    settings.pad = parse_adain_pad(o.pad);
    const std::vector<std::string> mask_names = style_list({o.masks});
    if (!o.masks.empty()) {
        if (mask_names.size() != styles.size())
            throw_usage("--masks: " + std::to_string(mask_names.size()) + " mask(s) for " +
                        std::to_string(styles.size()) + " style image(s); one mask per style");
        if (folder) throw_usage("--masks need a single --content image (a mask has its content's size)");
    }
    check_adain_settings(settings, styles.size(), !mask_names.empty());

    const NetModel encoder = load_model_cached(o.encoder);
    check_adain_models(encoder, o.encoder, decoder, o.model);
    std::vector<Tensor<float>> style_images;
    for (const std::string& s : styles) style_images.push_back(load_image(s));
    std::vector<Tensor<float>> masks;
    for (const std::string& m : mask_names) masks.push_back(load_image(m));

    std::unique_ptr<AdainBackend> backend;
    if (o.backend == "cuda") {
#ifdef NST_HAVE_CUDA
        backend = std::make_unique<cuda::CudaAdainBackend>(o.gpu, encoder, decoder);
#else
        throw_runtime("this nst was built without CUDA; use --backend cpu");
#endif
    } else {
        backend = std::make_unique<CpuAdainBackend>(encoder, decoder);
    }
    AdainStylizer stylizer(*backend, settings, std::move(style_images), styles, !masks.empty());
    use([&](ConstView<float> rgb, const std::string& name) {
        return stylizer.run(rgb, name, masks, mask_names);
    });
}

// The levels of --levels ("5,4,3,2,1"); usage errors for anything but integers.
std::vector<int> parse_levels(const std::string& text) {
    std::vector<int> out;
    for (const std::string& item : split(text, ',')) {
        if (item.size() != 1 || item[0] < '0' || item[0] > '9')
            throw_usage("--levels: '" + item + "' is not a level 1.." + std::to_string(kWctLevels));
        out.push_back(item[0] - '0');
    }
    if (out.empty()) throw_usage("--levels: no level given");
    return out;
}

// WCT (engine/wct_stylize.h): --model names the decoders (a comma list, one per level; each
// wct-decoder knows its level, an adain-decoder is level 4), --encoder the encoder (adain-encoder:
// levels 1-4, vgg-normalised: 1-5). Levels run in --levels' order, by default the decoders' order.
void stylize_wct(const StylizeOptions& o, const std::vector<std::string>& model_files,
                 std::vector<NetModel> decoders, const UseStylizer& use) {
    if (o.encoder.empty())
        throw_usage("--method wct needs the encoder: --encoder (nst weights convert vgg_normalised.pth, with --arch "
                    "vgg-normalised for level 5)");
    const std::vector<std::string> styles = style_list(o.styles);
    if (styles.empty()) throw_usage("--method wct: give at least one --style image");
    if (!o.masks.empty() || o.preserve_color || o.adain_stats != "port" || o.pad != "none")
        throw_usage("--masks, --preserve-color, --adain-stats and --pad are AdaIN options; WCT takes --style, "
                    "--style-weights, --alpha, --levels, --wct-identity, --content-size and --style-size");
    WctSettings settings;
    settings.alpha = o.alpha_given ? o.alpha : 0.6;
    settings.weights = parse_weights(o.style_weights);
    settings.wct.content_identity = o.wct_identity;
    if (!(settings.alpha >= 0 && settings.alpha <= 1))
        throw_usage("--alpha: must be in [0, 1], got " + std::to_string(settings.alpha));
    if (!settings.weights.empty() && settings.weights.size() != styles.size())
        throw_usage("--style-weights: " + std::to_string(settings.weights.size()) + " weight(s) for " +
                    std::to_string(styles.size()) + " style image(s)");
    const std::vector<int> given_levels = o.levels.empty() ? std::vector<int>{} : parse_levels(o.levels);
    for (int level : given_levels)
        if (level < 1 || level > kWctLevels)
            throw_usage("--levels: " + std::to_string(level) + " is not a level 1.." + std::to_string(kWctLevels));

    // Each decoder's level: nst.level for a wct-decoder, 4 for the AdaIN decoder.
    WctModels models;
    std::vector<int> decoder_levels;
    for (std::size_t i = 0; i < decoders.size(); ++i) {
        const NetModel& d = decoders[i];
        int level = 0;
        if (d.desc.arch == "adain-decoder") {
            level = 4;
        } else if (d.desc.arch == "wct-decoder") {
            level = std::stoi(d.metadata.at("nst.level"));  // checked by load_model
        } else {
            throw_input("--model '" + model_files[i] + "': a " + d.desc.arch +
                        " model is not a WCT decoder (wct-decoder or adain-decoder)");
        }
        if (models.decoders[level])
            throw_input("--model: '" + models.decoder_names[level] + "' and '" + model_files[i] +
                        "' are both decoders of level " + std::to_string(level));
        models.decoders[level] = &d;
        models.decoder_names[level] = "--model '" + model_files[i] + "'";
        decoder_levels.push_back(level);
    }
    settings.levels = given_levels.empty() ? decoder_levels : given_levels;
    const NetModel encoder = load_model_cached(o.encoder);
    models.encoder = &encoder;
    models.encoder_name = "--encoder '" + o.encoder + "'";
    check_wct_models(models, settings.levels);
    for (int level : decoder_levels)
        if (std::find(settings.levels.begin(), settings.levels.end(), level) == settings.levels.end())
            throw_usage("--model: " + models.decoder_names[level] + " is the decoder of level " +
                        std::to_string(level) + ", which --levels " + o.levels + " does not run");

    std::vector<Tensor<float>> style_images;
    for (const std::string& s : styles) style_images.push_back(resize_smaller_side(load_image(s).cview(), o.style_size));
    std::unique_ptr<WctBackend> backend;
    if (o.backend == "cuda") {
#ifdef NST_HAVE_CUDA
        backend = std::make_unique<cuda::CudaWctBackend>(o.gpu, models);
#else
        throw_runtime("this nst was built without CUDA; use --backend cpu");
#endif
    } else {
        backend = std::make_unique<CpuWctBackend>(models);
    }
    use([&](ConstView<float> rgb, const std::string&) {
        const Tensor<float> content = resize_smaller_side(rgb, o.content_size);
        return wct_stylize(*backend, content.cview(), style_images, settings);
    });
}

}  // namespace

void with_model_stylizer(const StylizeOptions& o, bool folder, const UseStylizer& use) {
    // Option values first (exit 2), then files (exit 3).
    if (o.backend != "cpu" && o.backend != "cuda")
        throw_usage("--backend: expected cpu or cuda, got '" + o.backend + "'");
    if (o.threads < 0) throw_usage("--threads: must be >= 0 (0 = all cores)");
    if (!o.method.empty() && o.method != "adain" && o.method != "wct")
        throw_usage("--method: expected adain or wct, got '" + o.method + "'");
    if (o.gpu < 0) throw_usage("--gpu: must be >= 0");
    if (o.threads > 0) omp_set_num_threads(o.threads);

    // WCT takes one decoder per level: --model may be a comma list (which implies --method wct).
    const std::vector<std::string> model_files = style_list({o.model});
    if (model_files.empty()) throw_usage("--model: no file given");
    if (model_files.size() > 1 && !o.method.empty() && o.method != "wct")
        throw_usage("--model: several files are WCT's decoders (one per level); --method " + o.method +
                    " takes one model");
    NetModel model = load_model_cached(model_files[0]);
    const std::vector<std::string> methods = methods_for_arch(model.desc.arch);
    const std::string method = !o.method.empty()         ? o.method
                               : model_files.size() > 1 ? "wct"
                               : methods.empty()        ? ""
                                                        : methods.front();
    if (!method.empty() && std::find(methods.begin(), methods.end(), method) == methods.end()) {
        std::string can;
        for (const std::string& m : methods) can += (can.empty() ? "" : " or ") + m;
        throw_usage("--method " + method + ": --model '" + o.model + "' is a " + model.desc.arch + " model" +
                    (methods.empty() ? " (a per-style network)" : ", which runs --method " + can));
    }
    if (method == "wct") {
        std::vector<NetModel> decoders;
        decoders.push_back(std::move(model));
        for (std::size_t i = 1; i < model_files.size(); ++i) decoders.push_back(load_model_cached(model_files[i]));
        return stylize_wct(o, model_files, std::move(decoders), use);
    }
    if (!o.levels.empty() || o.wct_identity) throw_usage("--levels and --wct-identity are for --method wct");
    const bool style_options = !o.styles.empty() || !o.encoder.empty() || !o.style_weights.empty() ||
                               !o.masks.empty() || o.preserve_color;
    if (method.empty()) {
        if (style_options)
            throw_usage("--style, --encoder, --style-weights, --masks and --preserve-color are for arbitrary-style "
                        "models (adain-decoder); --model '" + o.model + "' is a " + model.desc.arch +
                        " model, its style is built in");
        stylize_feedforward(o, model, use);
    } else if (method == "adain") {
        stylize_adain(o, folder, model, use);
    }
}

}  // namespace nst::cli
