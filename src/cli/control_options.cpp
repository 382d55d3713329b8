// SPDX-License-Identifier: MIT
// Spatial and scale control options (control_options.h).
#include "cli/control_options.h"
#include "cli/split.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/error.h"
#include "io/image.h"
#include "io/npy.h"

namespace nst::cli {

namespace {

constexpr int kMaxGrow = 64;  // pixels; a larger margin would erase or flood any region at 512 px

std::vector<std::string> mask_list(const std::string& list, const std::string& option, std::size_t num_styles,
                                   bool allow_dash) {
    if (list.empty()) return {};
    std::vector<std::string> paths = split(list, ',');
    for (const auto& p : paths) {
        if (p.empty()) throw_usage(option + ": empty path in '" + list + "'");
        if (p == "-" && !allow_dash) throw_usage(option + ": '-' is not a mask (only --style-masks takes '-')");
    }
    if (paths.size() != num_styles)
        throw_usage(option + ": " + std::to_string(paths.size()) + " masks given for " + std::to_string(num_styles) +
                    " style images (one per image, in --style order" + (allow_dash ? "; '-' for a whole image)" : ")"));
    return paths;
}

bool is_npy(const std::string& path) { return path.size() >= 4 && path.compare(path.size() - 4, 4, ".npy") == 0; }

std::string size_str(int h, int w) { return std::to_string(w) + "x" + std::to_string(h); }

// The pixel size of an image file as loaded (an .npy is its own working size).
void file_size(const std::string& path, int& h, int& w) {
    const Tensor<float> img = is_npy(path) ? load_npy_image(path) : load_image(path);
    h = img.shape().h;
    w = img.shape().w;
}

// A grey mask file as (1, 1, h, w) in [0, 1] at the working size (h, w), checked against the
// pixel size (file_h, file_w) of its image file `image_path`.
Tensor<float> load_mask(const std::string& path, const std::string& option, const std::string& image_path,
                        int file_h, int file_w, int h, int w, const GuideOptions& guides, bool region) {
    const Tensor<float> rgb = load_image(path);
    const Shape s = rgb.shape();
    if (s.h != file_h || s.w != file_w)
        throw_input(option + " '" + path + "': " + size_str(s.h, s.w) + " pixels, but its image '" + image_path +
                    "' is " + size_str(file_h, file_w) + " (a mask must have its image's pixel size)");
    const std::size_t plane = s.plane();
    Tensor<float> mask(Shape{1, 1, s.h, s.w});
    const float* r = rgb.data();
    const float* g = r + plane;
    const float* b = g + plane;
    for (std::size_t i = 0; i < plane; ++i) {
        // 2/255 tolerates the rounding of a JPEG or a colour-managed export of a grey image.
        const float spread = std::max({r[i], g[i], b[i]}) - std::min({r[i], g[i], b[i]});
        if (spread > 2.0f / 255.0f + 1e-6f) {
            char where[64];
            std::snprintf(where, sizeof where, "(%d, %d)", int(i % s.w), int(i / s.w));
            throw_input(option + " '" + path + "': not a grey mask (R, G and B differ at pixel " + where +
                        "); masks are grey images, white = inside the region");
        }
        mask[i] = (r[i] + g[i] + b[i]) / 3.0f;
    }
    if (s.h != h || s.w != w) {
        mask = resize_image(mask.cview(), h, w);
        for (float& v : mask) v = std::min(1.0f, std::max(0.0f, v));  // the resize filters overshoot at edges
    }
    if (region && mask_is_empty(mask.cview(), guides))
        throw_input(option + " '" + path + "': the region is empty" +
                    (guides.mode != GuidePropagation::Simple || guides.grow != 0 ? " (no pixel >= 0.5)" : " (all black)") +
                    " at the working size " + size_str(h, w));
    return mask;
}

}  // namespace

void ControlOptions::add_to(CLI::App& app) {
    app.add_option("--content-masks", content_masks,
                   "spatial control: one grey mask per style image (comma list, --style order); region k takes "
                   "style k");
    app.add_option("--style-masks", style_masks,
                   "one grey mask per style image: the part of that image its style is taken from ('-' = all of it)");
    app.add_option("--mask-propagation", mask_propagation,
                   "masks to layers: simple (resampled), inside (receptive field inside the region), all (touching it)")
        ->capture_default_str();
    app.add_option("--mask-grow", mask_grow, "dilate (> 0) or erode (< 0) every region mask by this many pixels")
        ->capture_default_str();
    app.add_option("--edit-mask", edit_mask, "grey mask multiplying the gradient: black pixels stay as initialised");
    app.add_option("--style-layer-sets", style_layer_sets,
                   "scale control: per style image the style layers it gives, e.g. 'relu1_1,relu2_1;relu3_1,relu4_1' "
                   "('*' = all)");
}

void resolve_control_values(const ControlOptions& o, std::size_t num_styles, LossSpec& loss) {
    loss.guides.mode = parse_guide_propagation(o.mask_propagation);
    if (o.mask_grow < -kMaxGrow || o.mask_grow > kMaxGrow)
        throw_usage("--mask-grow: must be in -" + std::to_string(kMaxGrow) + ".." + std::to_string(kMaxGrow) + " pixels");
    loss.guides.grow = o.mask_grow;
    mask_list(o.content_masks, "--content-masks", num_styles, false);
    mask_list(o.style_masks, "--style-masks", num_styles, true);
    loss.style_layer_sets.clear();
    if (!o.style_layer_sets.empty()) {
        for (const std::string& set : split(o.style_layer_sets, ';')) {
            if (set.empty()) throw_usage("--style-layer-sets: empty set in '" + o.style_layer_sets + "' (use '*' for all)");
            loss.style_layer_sets.push_back(set == "*" ? loss.style_layers : parse_layer_list(set, "--style-layer-sets"));
        }
        if (loss.style_layer_sets.size() != num_styles)
            throw_usage("--style-layer-sets: " + std::to_string(loss.style_layer_sets.size()) + " sets given for " +
                        std::to_string(num_styles) + " style images (one ';'-separated set per image)");
    }
    checked_loss_spec(loss);  // each set within --style-layers, every style layer in some set
}

void load_control_masks(const ControlOptions& o, const std::string& content_path,
                        const std::vector<std::string>& style_paths, ProblemSpec& spec) {
    const std::size_t n = style_paths.size();
    const LossSpec& loss = spec.loss;
    const GuideOptions& guides = loss.guides;
    const std::vector<std::string> cm = mask_list(o.content_masks, "--content-masks", n, false);
    const std::vector<std::string> sm = mask_list(o.style_masks, "--style-masks", n, true);
    const Shape cs = spec.content.shape();
    int ch = 0, cw = 0;
    if (!cm.empty() || !o.edit_mask.empty()) file_size(content_path, ch, cw);
    spec.content_masks.clear();
    for (const auto& path : cm)
        spec.content_masks.push_back(load_mask(path, "--content-masks", content_path, ch, cw, cs.h, cs.w, guides, true));
    spec.style_masks.clear();
    if (!sm.empty()) {
        for (std::size_t k = 0; k < n; ++k) {
            if (sm[k] == "-") {
                spec.style_masks.emplace_back();  // the whole image
                continue;
            }
            int sh = 0, sw = 0;
            file_size(style_paths[k], sh, sw);
            const Shape ss = spec.styles[k].shape();
            Tensor<float> mask = load_mask(sm[k], "--style-masks", style_paths[k], sh, sw, ss.h, ss.w, guides, true);
            // The objective rejects a style region that vanishes at a layer it is used at; said
            // here, the message can name the file.
            for (int l : loss.style_layer_sets.empty() ? loss.style_layers : loss.style_layer_sets[k]) {
                const Tensor<double> g = propagate_guide(mask.cview(), l, guides);
                if (std::all_of(g.begin(), g.end(), [](double v) { return v == 0; }))
                    throw_input("--style-masks '" + sm[k] + "': the region is empty at " + vgg19_layers()[l].name +
                                " after '" + guide_propagation_name(guides.mode) +
                                "' propagation: use a larger region, --mask-propagation simple or a smaller --mask-grow");
            }
            spec.style_masks.push_back(std::move(mask));
        }
    }
    spec.edit_mask = Tensor<float>();
    if (!o.edit_mask.empty())
        spec.edit_mask = load_mask(o.edit_mask, "--edit-mask", content_path, ch, cw, cs.h, cs.w, guides, false);
}

}  // namespace nst::cli
