// SPDX-License-Identifier: MIT
// `nst stylize`: runs a feed-forward model (nst train's, or a converted checkpoint) on an image
// or on every image of a folder (issue #12; engine/stylize.h). The output has the input's size.
// Arbitrary-style models (issue #13) take style images too; the models and methods are
// cli/model_stylizer.h's, shared with nst video.
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/in_process.h"
#include "cli/model_stylizer.h"
#include "cli/progress.h"
#include "core/error.h"
#include "core/interrupt.h"
#include "io/atomic_file.h"
#include "io/dataset.h"
#include "io/image.h"
#include "io/path.h"

namespace nst::cli {

namespace {

namespace fs = std::filesystem;

void check_image_extension(const std::string& path) {
    const std::string ext = lower_extension(path);
    if (ext != ".png" && ext != ".jpg" && ext != ".jpeg")
        throw_usage("--output '" + path + "': expected a .png (or .jpg) file, or a folder when --content is one");
}

// Runs `fn` on the content image, or on every image of the content folder (to OUTPUT/<its
// relative path>.png, sub-folders kept), with progress on stderr.
void run_images(const StylizeOptions& o, bool folder, const ImageFn& fn) {
    const auto start = std::chrono::steady_clock::now();
    std::error_code ec;
    if (!folder) {
        // In-process, the image goes to the result hook too, or only there without --output.
        RunHooks* hooks = active_run_hooks();
        if (!o.output.empty()) check_writable(o.output);
        const Tensor<float> rgb = load_image(o.content);
        const Tensor<float> out = fn(rgb.cview(), o.content);
        if (!o.output.empty()) save_image(o.output, out.cview());
        if (hooks && hooks->on_result) hooks->on_result(out);
        if (!o.quiet)
            std::fprintf(stderr, "nst: %s (%dx%d) in %.3f s\n",
                         o.output.empty() ? "stylised" : ("wrote " + o.output).c_str(), out.shape().w,
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

void stylize(StylizeOptions& o) {
    // Option values first (exit 2), then files (exit 3); with_model_stylizer checks the model's.
    std::error_code ec;
    const bool folder = fs::is_directory(o.content, ec);
    if (o.output.empty() && folder)
        throw_usage("--output: --content '" + o.content + "' is a folder; give the output folder");
    if (!folder && !o.output.empty()) {
        check_image_extension(o.output);
        if (fs::is_directory(o.output, ec))
            throw_usage("--output '" + o.output + "' is a folder; --content is one image");
    } else if (folder && fs::exists(o.output, ec) && !fs::is_directory(o.output, ec)) {
        throw_usage("--output '" + o.output + "' is a file; --content '" + o.content + "' is a folder");
    }

    with_model_stylizer(o, folder, [&](const ImageFn& fn) { run_images(o, folder, fn); });
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
    CLI::Option* output =
        sub->add_option("--output", o->output, "output image (.png), or a folder when --content is one");
    // In-process with a result hook (in_process.h), the image may be handed over unwritten.
    const RunHooks* hooks = active_run_hooks();
    if (!(hooks && hooks->on_result)) output->required();
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
