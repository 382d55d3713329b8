// SPDX-License-Identifier: MIT
// `nst stylize`: runs a feed-forward model (nst train's, or a converted checkpoint) on an image
// or on every image of a folder (issue #12; engine/stylize.h). The output has the input's size.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "cli/commands.h"
#include "cli/progress.h"
#include "core/error.h"
#include "core/interrupt.h"
#include "engine/stylize.h"
#include "io/atomic_file.h"
#include "io/dataset.h"
#include "io/image.h"
#include "io/path.h"
#include "nn/net_model.h"

#ifdef NST_HAVE_CUDA
#include <cuda_runtime.h>

#include "cuda/check.h"
#include "cuda/context.h"
#include "cuda/network_cuda.h"
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
};

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

void stylize(StylizeOptions& o) {
    // Option values first (exit 2), then files (exit 3).
    if (o.backend != "cpu" && o.backend != "cuda")
        throw_usage("--backend: expected cpu or cuda, got '" + o.backend + "'");
    if (o.threads < 0) throw_usage("--threads: must be >= 0 (0 = all cores)");
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

    const NetModel model = load_model(o.model);
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

    const auto start = std::chrono::steady_clock::now();
    if (!folder) {
        check_writable(o.output);
        const Tensor<float> rgb = load_image(o.content);
        const Tensor<float> out = stylize_image(net, io, rgb.cview());
        save_image(o.output, out.cview());
        if (!o.quiet)
            std::fprintf(stderr, "nst: wrote %s (%dx%d) in %.3f s\n", o.output.c_str(), rgb.shape().w,
                         rgb.shape().h,
                         std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
        return;
    }
    // A folder: every readable image, to OUTPUT/<its relative path>.png (sub-folders kept).
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
        save_image(out.string(), stylize_image(net, io, rgb.cview()).cview());
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

}  // namespace

Command add_stylize_command(CLI::App& app) {
    auto o = std::make_shared<StylizeOptions>();
    CLI::App* sub = app.add_subcommand("stylize", "run a feed-forward model on an image or a folder of images");
    sub->add_option("--model", o->model, "model file (.safetensors, from nst train or nst weights convert)")
        ->required();
    sub->add_option("--content", o->content, "an image, or a folder of images (searched recursively)")->required();
    sub->add_option("--output", o->output, "output image (.png), or a folder when --content is one")->required();
    sub->add_option("--backend", o->backend, "cpu or cuda")->capture_default_str();
    sub->add_option("--gpu", o->gpu, "CUDA device index")->capture_default_str();
    sub->add_option("--threads", o->threads, "CPU threads (0 = all cores)")->capture_default_str();
    sub->add_flag("--quiet", o->quiet, "no summary on stderr");
    return [o] { stylize(*o); };
}

}  // namespace nst::cli
