// SPDX-License-Identifier: MIT
#include "cli/problem_options.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "cli/backend_options.h"
#include "core/error.h"
#include "cli/weight_cache.h"
#include "core/rng.h"
#include "io/npy.h"

namespace nst::cli {

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && std::equal(suffix.rbegin(), suffix.rend(), s.rbegin());
}

void require_finite(double v, const std::string& option, bool allow_negative = false) {
    if (!std::isfinite(v) || (!allow_negative && v < 0))
        throw_usage(option + ": expected a finite non-negative number, got " + std::to_string(v));
}

Pooling parse_pooling(const std::string& s) {
    if (s == "max") return Pooling::Max;
    if (s == "avg") return Pooling::Avg;
    throw_usage("--pooling: unknown pooling '" + s + "' (choose max or avg)");
}

std::vector<std::string> split_styles(const std::vector<std::string>& args) {
    std::vector<std::string> out;
    for (const auto& a : args) {
        std::size_t start = 0;
        while (start <= a.size()) {
            std::size_t end = a.find(',', start);
            if (end == std::string::npos) end = a.size();
            std::string p = a.substr(start, end - start);
            if (p.empty()) throw_usage("--style: empty path in '" + a + "'");
            out.push_back(p);
            start = end + 1;
        }
    }
    return out;
}

}  // namespace

void ProblemOptions::add_to(CLI::App& app) {
    app.add_option("--content", content, "content image (PNG/JPEG/BMP/TGA, or preprocessed .npy)")->required();
    app.add_option("--style", styles, "style image(s); repeat the option or give a comma list")
        ->required()
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    app.add_option("--style-blend-weights", style_blend, "one weight per style image, normalised to sum 1 (default: equal)");
    app.add_option("--image-size", image_size, "target size of the content image, by --size-rule")->capture_default_str();
    o_size_rule = app.add_option("--size-rule", size_rule,
                                 "max (longest side), short (shorter side) or area (sqrt(H*W)); preset default")
                      ->capture_default_str();
    app.add_option("--style-scale", style_scale, "style image sized to this factor x the content's size")
        ->capture_default_str();
    o_content_weight = app.add_option("--content-weight", content_weight, "content weight (preset default)")
                           ->capture_default_str();
    o_style_weight =
        app.add_option("--style-weight", style_weight, "style weight (preset default)")->capture_default_str();
    o_tv_weight = app.add_option("--tv-weight", tv_weight, "total-variation weight, 0 disables (preset default)")
                      ->capture_default_str();
    o_content_layers =
        app.add_option("--content-layers", content_layers, "content layers, comma list")->capture_default_str();
    o_style_layers = app.add_option("--style-layers", style_layers, "style layers, comma list")->capture_default_str();
    app.add_option("--style-layer-weights", style_layer_weights, "one weight per style layer (default: all 1)");
    o_pooling = app.add_option("--pooling", pooling, "max or avg (preset default)")->capture_default_str();
    app.add_option("--weights", weights, "VGG19 safetensors file, or random[:SEED]")->capture_default_str();
    app.add_option("--preset", preset, std::string("loss conventions and defaults: ") + preset_names())
        ->capture_default_str();
    add_backend_options(app, backend, gpu);
    app.add_option("--precision", precision,
                   "convolution arithmetic on cuda: fp32 (no TF32, matches cpu), tf32 or bf16")
        ->capture_default_str();
    app.add_option("--gram-impl", gram_impl,
                   "cuda: Gram matrices by our kernel (own) or cuBLAS (cublas-syrk, cublas-gemm); cpu ignores it")
        ->capture_default_str();
    controls.add_to(app);
    color.add_to(app);
    conventions.add_to(app);
}

std::vector<double> parse_weight_list(const std::string& list, const std::string& option) {
    std::vector<double> out;
    std::size_t start = 0;
    while (start <= list.size()) {
        std::size_t end = list.find(',', start);
        if (end == std::string::npos) end = list.size();
        const std::string item = list.substr(start, end - start);
        std::size_t used = 0;
        double v = 0;
        try {
            v = std::stod(item, &used);
        } catch (const std::exception&) {
            used = 0;
        }
        if (item.empty() || used != item.size()) throw_usage(option + ": '" + item + "' is not a number");
        require_finite(v, option);
        out.push_back(v);
        start = end + 1;
    }
    return out;
}

IterateSpace iterate_space(const PresetDefaults& preset, const Preprocessor& pre) {
    IterateSpace space;
    space.image = preset.image_space;
    pre.affine(space.map.src, space.map.a, space.map.b);
    space.clamp = preset.clamp_iterate;
    // The image range [0, 1], in network space its image under the map (channel by channel).
    for (int c = 0; c < 3 && !space.image; ++c) {
        const double at0 = space.map.b[c], at1 = space.map.a[c] + space.map.b[c];
        space.box.lo[c] = float(std::min(at0, at1));
        space.box.hi[c] = float(std::max(at0, at1));
    }
    return space;
}

Tensor<float> random_init(const Problem& p, std::uint64_t seed) {
    Tensor<float> x(p.spec.content.shape());
    if (p.preset.random_init == RandomInit::Gaussian) {
        for (std::size_t i = 0; i < x.numel(); ++i) x[i] = float(0.001 * rng::normal(seed, rng::kStreamInit, i));
    } else {
        for (std::size_t i = 0; i < x.numel(); ++i) x[i] = float(rng::uniform(seed, rng::kStreamInit, i));
        p.pre.to_network(x.view(), x.cview());
    }
    return x;
}

int min_input_side(int layer, VggArch arch) {
    int side = 1;
    for (int k = 0; k <= layer; ++k)
        if (vgg_layers(arch)[std::size_t(k)].kind == LayerKind::Pool) side *= 2;
    return side;
}

Tensor<float> to_network(Tensor<float> rgb, const Preprocessor& pre, int h, int w, ResizeFilter filter) {
    if (h > 0 && (rgb.shape().h != h || rgb.shape().w != w))
        rgb = filter == ResizeFilter::PilBilinear ? resize_pil_bilinear(rgb.cview(), h, w) : resize_image(rgb.cview(), h, w);
    pre.to_network(rgb.view(), rgb.cview());
    return rgb;
}

Tensor<float> load_network_image(const std::string& path, const Preprocessor& pre, int h, int w,
                                 const std::string& option, const ImageReading& reading) {
    if (ends_with(path, ".npy")) {
        Tensor<float> x = load_npy_image(path);
        if (h > 0 && (x.shape().h != h || x.shape().w != w))
            throw_input(option + " '" + path + "': shape " + x.shape().str() + " does not match the content size (1, 3, " +
                        std::to_string(h) + ", " + std::to_string(w) + ")");
        return x;
    }
    return to_network(load_image(path, reading.jpeg), pre, h, w, reading.resize);
}

// An image sized by the size rule to n, or a .npy as it is.
// With --resize pil-bilinear the sides are truncated as the peers do (target_size_truncated).
Tensor<float> load_sized(const std::string& path, const Preprocessor& pre, int n, SizeRule rule,
                         const ImageReading& reading) {
    if (ends_with(path, ".npy")) return load_npy_image(path);
    const ResizeFilter filter = reading.resize;
    Tensor<float> rgb = load_image(path, reading.jpeg);
    int h, w;
    if (filter == ResizeFilter::PilBilinear)
        target_size_truncated(rgb.shape().h, rgb.shape().w, n, rule, h, w);
    else
        target_size(rgb.shape().h, rgb.shape().w, n, rule, h, w);
    return to_network(std::move(rgb), pre, h, w, filter);
}

// neural-style-pt's normalize_weights: each loss's strength / max(target.size()), i.e. a content
// layer's weight / max(C, H, W) of its map at the content's size and a style layer's / C (its
// Gram is C x C). nst has one content weight, so the content layers must agree on the divisor.
static void normalize_weights(LossSpec& loss, int h, int w) {
    double content_div = 0;
    for (int l : loss.content_layers) {
        int lh = 0, lw = 0;
        layer_output_size(l, h, w, lh, lw);
        const double d = std::max({double(vgg19_layers()[l].channels), double(lh), double(lw)});
        if (content_div != 0 && d != content_div)
            throw_usage("--normalize-weights: the content layers differ in max(C, H, W) (" + std::to_string(content_div) +
                        " vs " + std::to_string(d) + "); nst has one content weight, so give layers of one shape");
        content_div = d;
    }
    if (content_div > 0) loss.content_weight /= content_div;
    for (std::size_t j = 0; j < loss.style_layers.size(); ++j)
        loss.style_layer_weights[j] /= double(vgg19_layers()[loss.style_layers[j]].channels);
}

void warn_preprocess_mismatch(const PresetDefaults& preset, const Vgg19Weights& weights) {
    if (!preset.expects_preprocess || weights.random || weights.preprocess == preset.expected_preprocess) return;
    const bool want_caffe = preset.expected_preprocess == PreprocessKind::Caffe;
    std::fprintf(stderr,
                 "nst: warning: --preset %s expects %s weights but '%s' is marked %s; results will differ from the "
                 "peer's (if the file is really the %s, convert it again with `nst weights convert ... --preprocess "
                 "%s`; see `nst weights info`)\n",
                 preset.name, want_caffe ? "Caffe-port (caffe preprocessing)" : "torchvision-preprocessed",
                 weights.path.empty() ? weights.source.c_str() : weights.path.c_str(),
                 want_caffe ? "torchvision" : "caffe", want_caffe ? "Caffe port" : "torchvision network",
                 want_caffe ? "caffe" : "torchvision");
}

Problem resolve_problem(const ProblemOptions& o, std::string& backend_note, Vgg19Weights* loaded) {
    Problem p;
    // --- option values (exit 2), before touching any file
    p.preset = resolve_conventions(o.conventions, preset_named(o.preset));
    p.size_rule = o.o_size_rule && o.o_size_rule->count() == 0 ? p.preset.size_rule : parse_size_rule(o.size_rule);
    if (o.image_size < 1 || o.image_size > 16384) throw_usage("--image-size: must be in 1..16384");
    if (!(o.style_scale > 0) || !std::isfinite(o.style_scale) || o.style_scale > 16)
        throw_usage("--style-scale: must be in (0, 16]");
    LossSpec& loss = p.spec.loss;
    loss.preset = p.preset.preset;
    loss.content_weight = o.o_content_weight->count() ? o.content_weight : p.preset.content_weight;
    loss.style_weight = o.o_style_weight->count() ? o.style_weight : p.preset.style_weight;
    loss.tv_weight = o.o_tv_weight->count() ? o.tv_weight : p.preset.tv_weight;
    loss.tv_form = p.preset.tv_form;
    loss.grad_norm = p.preset.grad_norm;
    require_finite(loss.content_weight, "--content-weight");
    require_finite(loss.style_weight, "--style-weight");
    require_finite(loss.tv_weight, "--tv-weight");
    loss.content_layers = parse_layer_list(o.o_content_layers->count() ? o.content_layers : p.preset.content_layers,
                                           "--content-layers");
    loss.style_layers =
        parse_layer_list(o.o_style_layers->count() ? o.style_layers : p.preset.style_layers, "--style-layers");
    loss.style_layer_weights = o.style_layer_weights.empty()
                                   ? std::vector<double>(loss.style_layers.size(), 1.0)
                                   : parse_weight_list(o.style_layer_weights, "--style-layer-weights");
    if (loss.style_layer_weights.size() != loss.style_layers.size())
        throw_usage("--style-layer-weights: " + std::to_string(loss.style_layer_weights.size()) + " weights for " +
                    std::to_string(loss.style_layers.size()) + " style layers");
    p.spec.pooling = o.o_pooling->count() ? parse_pooling(o.pooling) : p.preset.pooling;
    const std::vector<std::string> style_paths = split_styles(o.styles);
    p.spec.style_blend = o.style_blend.empty() ? std::vector<double>(style_paths.size(), 1.0)
                                               : parse_weight_list(o.style_blend, "--style-blend-weights");
    if (p.spec.style_blend.size() != style_paths.size())
        throw_usage("--style-blend-weights: " + std::to_string(p.spec.style_blend.size()) + " weights for " +
                    std::to_string(style_paths.size()) + " style images");
    double blend_sum = 0;
    for (double b : p.spec.style_blend) blend_sum += b;
    if (!(blend_sum > 0)) throw_usage("--style-blend-weights: the weights must not all be zero");
    resolve_control_values(o.controls, style_paths.size(), loss);
    const Backend requested = parse_backend(o.backend);
    if (o.gpu < 0) throw_usage("--gpu: must be >= 0");
    p.spec.cuda.precision = parse_precision(o.precision);
    p.spec.cuda.gram_impl = parse_gram_impl(o.gram_impl);
    if (requested == Backend::Cpu && p.spec.cuda.precision != Precision::Fp32)
        throw_usage("--precision " + o.precision + ": the cpu backend computes in fp32 only (use --backend cuda)");
    p.color = parse_color_options(o.color);

    // --- files (exit 3)
    p.weights = loaded ? std::move(*loaded) : load_weights_cached(o.weights);
    // The objective's layer indices, tiling and memory plans are VGG19's.
    if (p.weights.arch != VggArch::Vgg19)
        throw_usage("--weights '" + o.weights + "' is " + arch_title(p.weights.arch) +
                    ": optimisation-based style transfer runs on VGG19 weights (VGG16 is a loss network for training)");
    p.pre.kind = p.weights.preprocess;
    p.pre.caffe_scale = p.preset.caffe_scale;
    p.spec.caffe_scale = p.preset.caffe_scale;
    // Before any image is loaded: in image space they stay RGB (the engine maps them).
    p.spec.iterate = iterate_space(p.preset, p.pre);
    p.pre.image_space = p.spec.iterate.image;
    warn_preprocess_mismatch(p.preset, p.weights);
    const ResizeFilter filter = p.preset.resize;
    const ImageReading reading = image_reading(p.preset);

    int deepest = 0;
    for (int l : loss.content_layers) deepest = std::max(deepest, l);
    for (int l : loss.style_layers) deepest = std::max(deepest, l);
    const int min_side = min_input_side(deepest);

    p.spec.content = load_sized(o.content, p.pre, o.image_size, p.size_rule, reading);
    const Shape cs = p.spec.content.shape();
    if (cs.h < min_side || cs.w < min_side)
        throw_input("--content: " + std::to_string(cs.w) + "x" + std::to_string(cs.h) + " is too small for layer " +
                    vgg19_layers()[deepest].name + " (needs at least " + std::to_string(min_side) + " pixels a side)");

    if (p.preset.normalize_weights) normalize_weights(loss, cs.h, cs.w);
    // The peers truncate the style size too: int(image_size * style_scale).
    const double style_size = o.style_scale * o.image_size;
    const int style_n =
        std::max(1, filter == ResizeFilter::PilBilinear ? int(style_size) : int(std::lround(style_size)));
    for (const auto& path : style_paths) {
        Tensor<float> s = load_sized(path, p.pre, style_n, p.size_rule, reading);
        if (s.shape().h < min_side || s.shape().w < min_side)
            throw_input("--style '" + path + "': too small for layer " + vgg19_layers()[deepest].name +
                        " (needs at least " + std::to_string(min_side) + " pixels a side)");
        p.spec.styles.push_back(std::move(s));
    }
    apply_color_controls(p.color, p.spec, p.pre, o.content, style_paths);

    load_control_masks(o.controls, o.content, style_paths, p.spec);

    // --- device (exit 4)
    p.backend = resolve_backend(requested, o.gpu, backend_note, o.plan_only);
    return p;
}

}  // namespace nst::cli
