// SPDX-License-Identifier: MIT
// `nst features`: activations and Gram matrices at named layers, as .npy files (spec §1).
#include <cstdio>
#include <filesystem>

#include "cli/backend_options.h"
#include "cli/commands.h"
#include "cli/in_process.h"
#include "cli/problem_options.h"
#include "cli/vgg_features.h"
#include "cli/weight_cache.h"
#include "core/error.h"
#include "io/npy.h"
#include "loss/losses.h"
#include "nn/vgg19_layers.h"

namespace nst::cli {

namespace {

struct FeaturesOptions {
    std::string image;
    std::string layers;
    std::string out_dir;
    bool gram = false;
    std::string pooling;
    std::string weights = "weights/vgg19.safetensors";
    std::string preset = "jcjohnson";
    int image_size = 0;
    std::string size_rule = "max";
    std::string backend = "auto";
    int gpu = 0;
};

void features(const FeaturesOptions& o) {
    const PresetDefaults preset = preset_named(o.preset);
    Pooling pooling = preset.pooling;
    if (!o.pooling.empty()) {
        if (o.pooling != "max" && o.pooling != "avg") throw_usage("--pooling: choose max or avg");
        pooling = o.pooling == "max" ? Pooling::Max : Pooling::Avg;
    }
    if (o.image_size < 0 || o.image_size > 16384) throw_usage("--image-size: must be in 0..16384 (0 = native size)");
    const SizeRule rule = parse_size_rule(o.size_rule);
    if (o.out_dir.empty()) throw_usage("--out-dir: must not be empty");
    const Backend requested = parse_backend(o.backend);

    const VggWeights weights = load_weights_cached(o.weights);
    if (weights.random) warn_random_weights(weights.source);
    // Layer names are those of the loaded network (relu4_3 is VGG16's deepest block-4 ReLU,
    // relu5_4 exists only in VGG19).
    const std::vector<int> layers = parse_layer_list(o.layers, "--layers", weights.arch);
    const VggLayers& table = vgg_layers(weights.arch);
    const Preprocessor pre{weights.preprocess, preset.caffe_scale};
    Tensor<float> x;
    if (o.image.size() >= 4 && o.image.compare(o.image.size() - 4, 4, ".npy") == 0) {
        x = load_network_image(o.image, pre, 0, 0, "--image");
    } else {
        Tensor<float> rgb = load_image(o.image);
        int h = rgb.shape().h, w = rgb.shape().w;
        if (o.image_size > 0) target_size(rgb.shape().h, rgb.shape().w, o.image_size, rule, h, w);
        x = to_network(std::move(rgb), pre, h, w);
    }
    int deepest = 0;
    for (int l : layers) deepest = std::max(deepest, l);
    const int min_side = min_input_side(deepest, weights.arch);
    if (x.shape().h < min_side || x.shape().w < min_side)
        throw_input("--image: too small for layer " + table[std::size_t(deepest)].name + " (needs at least " +
                    std::to_string(min_side) + " pixels a side)");

    // --- device (exit 4), after the inputs as in run and eval
    std::string backend_note;
    const Backend backend = resolve_backend(requested, o.gpu, backend_note);
    if (!backend_note.empty()) std::fprintf(stderr, "nst: %s\n", backend_note.c_str());

    RunHooks* hooks = active_run_hooks();
    const bool hand_over = hooks && hooks->on_feature;
    if (!hand_over) {
        std::error_code ec;
        std::filesystem::create_directories(o.out_dir, ec);
        if (ec) throw_input("--out-dir '" + o.out_dir + "': cannot create directory (" + ec.message() + ")");
    }

    const std::vector<Tensor<float>> maps = vgg_features(backend, o.gpu, weights, pooling, layers, x.cview());
    for (std::size_t k = 0; k < layers.size(); ++k) {
        const ConstView<float> f = maps[k].cview();
        const Shape s = f.shape;
        const std::string& name = table[std::size_t(layers[k])].name;
        Tensor<float> g;
        if (o.gram) {
            // On the host for either backend: one (C, C) product per layer, small next to the
            // network, and the same code on both backends keeps their files comparable.
            g = Tensor<float>(Shape{1, 1, s.c, s.c});
            cpu::gram_matrix(g.view(), f, loss_scales(preset.preset, s.c, (long long)s.h * s.w).gram);
        }
        if (hand_over) {
            hooks->on_feature(name, f, g.cview());
            continue;
        }
        const std::string base = o.out_dir + "/" + name;
        save_npy(base + ".npy", f.data, {s.n, s.c, s.h, s.w});
        if (o.gram) save_npy(base + ".gram.npy", g.data(), {s.c, s.c});
    }
}

}  // namespace

Command add_features_command(CLI::App& app) {
    auto o = std::make_shared<FeaturesOptions>();
    CLI::App* sub = app.add_subcommand("features", "write activations (and Gram matrices) at named layers as .npy");
    sub->add_option("--image", o->image, "input image, or preprocessed .npy")->required();
    sub->add_option("--layers", o->layers, "comma list of layer names, e.g. relu1_1,relu4_2")->required();
    sub->add_option("--out-dir", o->out_dir, "directory for <layer>.npy and <layer>.gram.npy")->required();
    sub->add_flag("--gram", o->gram, "also write the Gram matrix (C, C) of each layer, as the preset defines it");
    sub->add_option("--pooling", o->pooling, "max or avg (default: the preset's)");
    sub->add_option("--weights", o->weights, "VGG19 safetensors file, or random[:SEED]")->capture_default_str();
    sub->add_option("--preset", o->preset, "jcjohnson or gatys: Gram normalisation, caffe scale, pooling")
        ->capture_default_str();
    sub->add_option("--image-size", o->image_size, "resize by --size-rule first (0 = native size)")->capture_default_str();
    sub->add_option("--size-rule", o->size_rule, "max, short or area")->capture_default_str();
    add_backend_options(*sub, o->backend, o->gpu);
    return [o] { features(*o); };
}

}  // namespace nst::cli
