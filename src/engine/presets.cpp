// SPDX-License-Identifier: MIT
#include "engine/presets.h"

#include "core/error.h"

namespace nst {

namespace {

constexpr const char* kReluStyle = "relu1_1,relu2_1,relu3_1,relu4_1,relu5_1";

// What the PyTorch peers share in reading and writing images: PIL decodes JPEGs with libjpeg and
// resizes with its bilinear filter to truncated sides; ToPILImage truncates on output.
void pil_images(PresetDefaults& p) {
    p.resize = ResizeFilter::PilBilinear;
    p.jpeg = have_libjpeg() ? JpegDecoder::Libjpeg : JpegDecoder::Stb;
    p.output_rounding = OutputRounding::Truncate;
}

// torch.optim.LBFGS's default tolerances (tolerance_grad 1e-7, tolerance_change 1e-9), which the
// notebook and the tutorial keep.
void torch_lbfgs_tolerances(PresetDefaults& p) {
    p.tol_grad = 1e-7;
    p.tol_change = 1e-9;
}

PresetDefaults make_jcjohnson() {
    // jcjohnson/neural-style's defaults, including its x256 caffe scaling quirk.
    return PresetDefaults{Preset::JcJohnson, 5, 100, 1e-3, Pooling::Max, RandomInit::Gaussian, 256.f, "relu4_2", kReluStyle};
}

PresetDefaults make_gatys() {
    // CVPR 2016: alpha/beta = 1e-3, average pooling, white-noise init, no TV, x255.
    PresetDefaults p{Preset::Gatys, 1, 1e3, 0, Pooling::Avg, RandomInit::Uniform, 255.f, "relu4_2", kReluStyle};
    p.name = "gatys";
    return p;
}

PresetDefaults make_neural_style_pt() {
    // ProGamerGov/neural-style-pt (commit 7251405): jcjohnson's objective and defaults, but x255
    // (ToTensor then *255), torchvision's Resize of the PIL image to int((N / max) * side), L1 TV,
    // the image saved at "iteration N" being x_{N-1}, written through ToPILImage (truncation).
    PresetDefaults p = make_jcjohnson();
    p.name = "neural-style-pt";
    p.caffe_scale = 255.f;
    pil_images(p);
    p.tv_form = TvForm::L1;
    p.output_iterate = OutputIterate::Previous;
    p.expects_preprocess = true;  // its models/vgg19-d01eb7cb.pth is the Caffe port
    p.expected_preprocess = PreprocessKind::Caffe;
    return p;
}

PresetDefaults make_gatys_notebook() {
    // leongatys/PytorchNeuralStyleTransfer's notebook: shortest side 512 (transforms.Scale),
    // BGR minus the mean in [0, 1], times 255; Gram / (H W) with MSE, style weights 1e3 / C^2
    // (folded into the loss convention), content weight 1 (MSE), max pooling, content init, no
    // TV, torch.optim.LBFGS defaults (tolerance_grad 1e-7, tolerance_change 1e-9), the last
    // iterate written through ToPILImage.
    PresetDefaults p{Preset::GatysNotebook, 1, 1e3, 0, Pooling::Max, RandomInit::Gaussian, 255.f, "relu4_2", kReluStyle};
    p.name = "gatys-notebook";
    p.size_rule = SizeRule::Short;
    pil_images(p);
    torch_lbfgs_tolerances(p);
    p.expects_preprocess = true;  // vgg_conv.pth: the Caffe VGG19 converted
    p.expected_preprocess = PreprocessKind::Caffe;
    return p;
}

PresetDefaults make_pytorch_tutorial() {
    // pytorch/tutorials advanced_source/neural_style_tutorial.py: torchvision's VGG19 with the
    // ImageNet normalisation as the model's first module, the losses after conv_4 (= conv2_2) and
    // conv_1..conv_5 (= conv1_1, conv1_2, conv2_1, conv2_2, conv3_1), i.e. before their ReLUs;
    // content F.mse_loss, Gram / (B C H W) with F.mse_loss (jcjohnson's scales), content weight 1,
    // style weight 1e6, no TV; Resize(imsize) (shortest side) of PIL images; the RGB image in
    // [0, 1] optimised by torch.optim.LBFGS with its defaults and clamped to [0, 1] in place at
    // the start of every closure; the result shown through ToPILImage (truncation). Its noise
    // start (torch.randn, commented out there) cannot be matched: --init random gives uniform
    // [0, 1) noise in image space; pass the tutorial's own tensor with --init x.npy.
    PresetDefaults p{Preset::JcJohnson, 1, 1e6, 0, Pooling::Max, RandomInit::Uniform, 255.f, "conv2_2",
                     "conv1_1,conv1_2,conv2_1,conv2_2,conv3_1"};
    p.name = "pytorch-tutorial";
    p.size_rule = SizeRule::Short;
    pil_images(p);
    torch_lbfgs_tolerances(p);
    p.image_space = true;
    p.clamp_iterate = true;
    p.expects_preprocess = true;  // torchvision's vgg19 weights
    p.expected_preprocess = PreprocessKind::Torchvision;
    return p;
}

}  // namespace

ResizeFilter parse_resize_filter(const std::string& name) {
    if (name == "stb") return ResizeFilter::Stb;
    if (name == "pil-bilinear") return ResizeFilter::PilBilinear;
    throw_usage("--resize: unknown filter '" + name + "' (expected stb or pil-bilinear)");
}

const char* resize_filter_name(ResizeFilter f) { return f == ResizeFilter::PilBilinear ? "pil-bilinear" : "stb"; }

OutputIterate parse_output_iterate(const std::string& name) {
    if (name == "last") return OutputIterate::Last;
    if (name == "previous") return OutputIterate::Previous;
    throw_usage("--output-iterate: expected last or previous, got '" + name + "'");
}

OutputRounding parse_output_rounding(const std::string& name) {
    if (name == "round") return OutputRounding::Round;
    if (name == "truncate") return OutputRounding::Truncate;
    throw_usage("--output-rounding: expected round or truncate, got '" + name + "'");
}

const PresetDefaults& preset_defaults(Preset preset) {
    static const PresetDefaults jcjohnson = make_jcjohnson();
    static const PresetDefaults gatys = make_gatys();
    static const PresetDefaults notebook = make_gatys_notebook();
    if (preset == Preset::GatysNotebook) return notebook;
    return preset == Preset::Gatys ? gatys : jcjohnson;
}

const char* preset_names() { return "jcjohnson, gatys, neural-style-pt, gatys-notebook, pytorch-tutorial"; }

const PresetDefaults& preset_named(const std::string& name) {
    static const PresetDefaults neural_style_pt = make_neural_style_pt();
    static const PresetDefaults pytorch_tutorial = make_pytorch_tutorial();
    if (name == "jcjohnson") return preset_defaults(Preset::JcJohnson);
    if (name == "gatys") return preset_defaults(Preset::Gatys);
    if (name == "neural-style-pt") return neural_style_pt;
    if (name == "gatys-notebook") return preset_defaults(Preset::GatysNotebook);
    if (name == "pytorch-tutorial") return pytorch_tutorial;
    throw_usage("--preset: unknown preset '" + name + "' (expected one of: " + preset_names() + ")");
}

}  // namespace nst
