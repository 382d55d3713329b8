// SPDX-License-Identifier: MIT
// `nst stylize`: runs a feed-forward model (nst train's, or a converted checkpoint) on an image
// or on every image of a folder (issue #12; engine/stylize.h). The output has the input's size.
// Arbitrary-style models (issue #13) take style images too; the method comes from the model's
// nst.arch (--method names it explicitly): "adain-decoder" -> AdaIN (engine/adain_stylize.h),
// "wct-decoder" -> WCT (engine/wct_stylize.h; --method wct also runs an adain-decoder as WCT's
// level-4 decoder). A new method adds its name to methods_for_arch() and one branch in stylize().
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/progress.h"
#include "cli/split.h"
#include "core/error.h"
#include "core/interrupt.h"
#include "engine/adain_stylize.h"
#include "engine/stylize.h"
#include "engine/wct_stylize.h"
#include "io/atomic_file.h"
#include "io/dataset.h"
#include "io/image.h"
#include "io/path.h"
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

namespace fs = std::filesystem;

struct StylizeOptions {
    std::string model, content, output;
    std::string backend = "cpu";
    int gpu = 0;
    int threads = 0;
    bool quiet = false;
    // Arbitrary-style models (AdaIN; WCT later).
    std::string method;                    // "" = from the model's arch
    std::string encoder;                   // adain-encoder model file
    std::vector<std::string> styles;       // repeated or comma lists
    std::string style_weights;             // "W1,W2,..."
    double alpha = 1.0;
    std::string masks;                     // "m1.png,m2.png"
    bool preserve_color = false;
    std::string adain_stats = "port";
    int content_size = 0;
    int style_size = 512;
    std::string pad = "none";
    // WCT.
    std::string levels;                    // "5,4,3,2,1"; default: the decoders' levels in order
    bool wct_identity = false;             // PytorchWCT's + I on the content covariance
    bool alpha_given = false;              // --alpha on the command line (WCT's default is 0.6)
};

// The arbitrary-style methods a model's arch can run, the default first; empty for a
// feed-forward (per-style) model. The AdaIN decoder also serves a single-level WCT at relu4_1.
std::vector<std::string> methods_for_arch(const std::string& arch) {
    if (arch == "adain-decoder") return {"adain", "wct"};
    if (arch == "wct-decoder") return {"wct"};
    return {};
}

// One image in, one stylised image (1, 3, H, W) in [0, 1] out; name for messages.
using ImageFn = std::function<Tensor<float>(ConstView<float> rgb, const std::string& name)>;

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

void check_image_extension(const std::string& path) {
    const std::string ext = lower_extension(path);
    if (ext != ".png" && ext != ".jpg" && ext != ".jpeg")
        throw_usage("--output '" + path + "': expected a .png (or .jpg) file, or a folder when --content is one");
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

// Runs `fn` on the content image, or on every image of the content folder (to OUTPUT/<its
// relative path>.png, sub-folders kept), with progress on stderr.
void run_images(const StylizeOptions& o, bool folder, const ImageFn& fn) {
    const auto start = std::chrono::steady_clock::now();
    std::error_code ec;
    if (!folder) {
        check_writable(o.output);
        const Tensor<float> rgb = load_image(o.content);
        const Tensor<float> out = fn(rgb.cview(), o.content);
        save_image(o.output, out.cview());
        if (!o.quiet)
            std::fprintf(stderr, "nst: wrote %s (%dx%d) in %.3f s\n", o.output.c_str(), out.shape().w,
                         out.shape().h,
                         std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
        return;
    }
    const ImageDataset images(o.content);
    fs::create_directories(o.output, ec);
    if (ec) throw_input("--output '" + o.output + "': cannot create the folder (" + ec.message() + ")");
    std::size_t done = 0, failed = 0;
    for (std::size_t i = 0; i < images.size(); ++i) {
        if (const int sig = interrupt_signal())
            throw_runtime(std::string("interrupted by ") + (sig == SIGINT ? "SIGINT" : "SIGTERM") + " after " +
                          std::to_string(done) + " of " + std::to_string(images.size()) +
                          " images; those written are complete");
        const fs::path rel = fs::path(images.file(i)).lexically_relative(o.content);
        fs::path out = fs::path(o.output) / rel;
        out.replace_extension(".png");
        Tensor<float> rgb;
        try {
            rgb = load_image(images.file(i));
        } catch (const Error& e) {
            std::fprintf(stderr, "nst: warning: %s; skipped\n", e.what());
            ++failed;
            continue;
        }
        fs::create_directories(out.parent_path(), ec);
        save_image(out.string(), fn(rgb.cview(), images.file(i)).cview());
        ++done;
        if (!o.quiet) {
            // A folder can take long (a COCO-sized one, on the CPU): one line per image with the ETA.
            const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            const double eta = elapsed / double(done + failed) * double(images.size() - i - 1);
            std::fprintf(stderr, "nst: image %zu/%zu  %s  %.2f s/image  ETA %s\n", i + 1, images.size(),
                         rel.string().c_str(), elapsed / double(done + failed), format_duration(eta).c_str());
        }
    }
    if (!o.quiet)
        std::fprintf(stderr, "nst: wrote %zu images to %s in %.2f s%s\n", done, o.output.c_str(),
                     std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(),
                     failed ? (" (" + std::to_string(failed) + " could not be decoded)").c_str() : "");
}

// A per-style model (TransformerNet): the network on each image (engine/stylize.h).
void stylize_feedforward(const StylizeOptions& o, bool folder, const NetModel& model) {
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
    run_images(o, folder, [&](ConstView<float> rgb, const std::string&) { return stylize_image(net, io, rgb); });
}

// AdaIN (engine/adain_stylize.h): the decoder is --model, the encoder --encoder; styles are
// loaded, resized and encoded once for every content image.
void stylize_adain(const StylizeOptions& o, bool folder, const NetModel& decoder) {
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

    const NetModel encoder = load_model(o.encoder);
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
    run_images(o, folder, [&](ConstView<float> rgb, const std::string& name) {
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
void stylize_wct(const StylizeOptions& o, bool folder, const std::vector<std::string>& model_files,
                 std::vector<NetModel> decoders) {
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
    const NetModel encoder = load_model(o.encoder);
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
    run_images(o, folder, [&](ConstView<float> rgb, const std::string&) {
        const Tensor<float> content = resize_smaller_side(rgb, o.content_size);
        return wct_stylize(*backend, content.cview(), style_images, settings);
    });
}

void stylize(StylizeOptions& o) {
    // Option values first (exit 2), then files (exit 3).
    if (o.backend != "cpu" && o.backend != "cuda")
        throw_usage("--backend: expected cpu or cuda, got '" + o.backend + "'");
    if (o.threads < 0) throw_usage("--threads: must be >= 0 (0 = all cores)");
    if (!o.method.empty() && o.method != "adain" && o.method != "wct")
        throw_usage("--method: expected adain or wct, got '" + o.method + "'");
    std::error_code ec;
    const bool folder = fs::is_directory(o.content, ec);
    if (!folder) {
        check_image_extension(o.output);
        if (fs::is_directory(o.output, ec))
            throw_usage("--output '" + o.output + "' is a folder; --content is one image");
    } else if (fs::exists(o.output, ec) && !fs::is_directory(o.output, ec)) {
        throw_usage("--output '" + o.output + "' is a file; --content '" + o.content + "' is a folder");
    }
    if (o.gpu < 0) throw_usage("--gpu: must be >= 0");
    if (o.threads > 0) omp_set_num_threads(o.threads);

    // WCT takes one decoder per level: --model may be a comma list (which implies --method wct).
    const std::vector<std::string> model_files = style_list({o.model});
    if (model_files.empty()) throw_usage("--model: no file given");
    if (model_files.size() > 1 && !o.method.empty() && o.method != "wct")
        throw_usage("--model: several files are WCT's decoders (one per level); --method " + o.method +
                    " takes one model");
    NetModel model = load_model(model_files[0]);
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
        for (std::size_t i = 1; i < model_files.size(); ++i) decoders.push_back(load_model(model_files[i]));
        return stylize_wct(o, folder, model_files, std::move(decoders));
    }
    if (!o.levels.empty() || o.wct_identity) throw_usage("--levels and --wct-identity are for --method wct");
    const bool style_options = !o.styles.empty() || !o.encoder.empty() || !o.style_weights.empty() ||
                               !o.masks.empty() || o.preserve_color;
    if (method.empty()) {
        if (style_options)
            throw_usage("--style, --encoder, --style-weights, --masks and --preserve-color are for arbitrary-style "
                        "models (adain-decoder); --model '" + o.model + "' is a " + model.desc.arch +
                        " model, its style is built in");
        stylize_feedforward(o, folder, model);
    } else if (method == "adain") {
        stylize_adain(o, folder, model);
    }
}

}  // namespace

Command add_stylize_command(CLI::App& app) {
    auto o = std::make_shared<StylizeOptions>();
    CLI::App* sub = app.add_subcommand(
        "stylize",
        "run a feed-forward model, or an AdaIN or WCT decoder with style images, on an image or a folder");
    sub->add_option("--model", o->model,
                    "model file (.safetensors, from nst train or nst weights convert); WCT: the decoders, "
                    "D1,D2,... one per level")
        ->required();
    sub->add_option("--content", o->content, "an image, or a folder of images (searched recursively)")->required();
    sub->add_option("--output", o->output, "output image (.png), or a folder when --content is one")->required();
    sub->add_option("--backend", o->backend, "cpu or cuda")->capture_default_str();
    sub->add_option("--gpu", o->gpu, "CUDA device index")->capture_default_str();
    sub->add_option("--threads", o->threads, "CPU threads (0 = all cores)")->capture_default_str();
    sub->add_flag("--quiet", o->quiet, "no summary on stderr");
    // Arbitrary-style models.
    sub->add_option("--method", o->method, "adain or wct (default: from the model's nst.arch)");
    sub->add_option("--encoder", o->encoder, "AdaIN / WCT: the encoder model (converted vgg_normalised.pth: adain-encoder, or "
                    "vgg-normalised for WCT's level 5)");
    sub->add_option("--style", o->styles, "AdaIN / WCT: style image(s); repeat the option or give a comma list");
    sub->add_option("--style-weights", o->style_weights,
                    "AdaIN / WCT: interpolation weights W1,W2,... (> 0, one per style, normalised to sum 1; default equal)");
    CLI::Option* alpha = sub->add_option("--alpha", o->alpha,
                                         "content-style trade-off in [0, 1] (1 = full style; default 1 for AdaIN, "
                                         "0.6 for WCT as the official code)");
    // WCT's default differs: remember whether it was given.
    alpha->each([o](const std::string&) { o->alpha_given = true; });
    sub->add_option("--masks", o->masks,
                    "AdaIN: spatial control, M1,M2,... one mask per style, the content's size; white (>= 0.5) "
                    "marks the style's region, each pixel in exactly one");
    sub->add_flag("--preserve-color", o->preserve_color,
                  "AdaIN: recolour each style toward the content first (coral), keeping the content's colours");
    sub->add_option("--adain-stats", o->adain_stats,
                    "AdaIN statistics: port (pytorch-AdaIN, unbiased + eps) or official (AdaIN-style)")
        ->capture_default_str();
    sub->add_option("--content-size", o->content_size,
                    "AdaIN / WCT: resize the content so its smaller side is N first (0 = keep its size)")
        ->capture_default_str();
    sub->add_option("--style-size", o->style_size, "AdaIN / WCT: resize styles so their smaller side is N (0 = keep)")
        ->capture_default_str();
    sub->add_option("--pad", o->pad,
                    "AdaIN: none (run at the content's size, crop the decoder's overhang: the port's output) or "
                    "reflect (reflection-pad to a multiple of 8 first)")
        ->capture_default_str();
    sub->add_option("--levels", o->levels,
                    "WCT: levels to run, in order, e.g. 5,4,3,2,1 (the paper's coarse to fine; default: the "
                    "--model decoders' levels in the order given)");
    sub->add_flag("--wct-identity", o->wct_identity,
                  "WCT: add I to the content covariance before whitening (PytorchWCT) instead of the official "
                  "code's plain covariance");
    return [o] { stylize(*o); };
}

}  // namespace nst::cli
