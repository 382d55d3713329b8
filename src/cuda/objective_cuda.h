// SPDX-License-Identifier: MIT
// The style-transfer objective on the GPU, the twin of cpu::Objective (loss/objective.h):
// same LossSpec, same conventions (loss/conventions.h), same style-target blending.
//
// evaluate() only queues work and writes the terms to a device array of doubles
//   [content_0 .. content_{nc-1}, style_0 .. style_{ns-1}, tv, temporal, total]
// (the weighted values of LossTerms), summed in a fixed order (no atomics) so that a run is
// bit-reproducible. prepare() allocates for an image shape; after it evaluate() allocates
// nothing and never synchronises, so it can be captured into a CUDA graph.
//
// Perceptual controls (cpu::Objective's semantics, loss/objective.h): style layer sets, style
// masks, content masks (one region per style image) and the edit mask. Layer guides are
// propagated and normalised on the host (loss/guides.h) and uploaded as float once per prepared
// shape (content guides) or per set_styles (style guides); the guided Grams and gradients are
// our kernels with the guide fused into their loads (kernels/gram.h, style_loss.h).
//
// Tiled evaluation (set_tile_rows): strip by strip with exact halos, content masks included (a
// layer guide's owned rows are a contiguous slice of it); objective_cuda.cpp has the steps.
#pragma once
#include <memory>
#include <vector>

#include "core/tensor.h"
#include "cuda/context.h"
#include "cuda/vgg19_cuda.h"
#include "engine/engine.h"
#include "loss/objective.h"

namespace nst::cuda {

class Objective {
public:
    // Sets the net's taps. gram_impl: our Gram kernel or cuBLAS (cuda/gram_cublas.h), whose math
    // mode follows precision (TF32 only for Precision::Tf32).
    Objective(Context& ctx, Vgg19Net& net, const LossSpec& spec, GramImpl gram_impl = GramImpl::Own,
              Precision precision = Precision::Fp32);
    ~Objective();
    Objective(const Objective&) = delete;
    Objective& operator=(const Objective&) = delete;

    // Targets from host images in network space (1, 3, h, w); may synchronise and allocate.
    // Same validation and usage errors as cpu::Objective.
    void set_content(ConstView<float> content);
    void set_styles(const std::vector<ConstView<float>>& styles, const std::vector<double>& blend,
                    const std::vector<ConstView<float>>& style_masks = {});
    // Host masks, as cpu::Objective (empty = none); may allocate and synchronise.
    void set_content_masks(const std::vector<ConstView<float>>& masks);
    void set_edit_mask(ConstView<float> mask);
    // Temporal targets (video), as cpu::Objective::set_temporal: host or device views, uploaded
    // once here (may allocate and synchronise; evaluate() then only reads them). At most
    // kernels::kMaxTemporalTargets (8) targets and kMaxTemporalChannels (4) channels: the engines
    // check the count with a usage error first (engine.h: check_temporal); here it is internal.
    void set_temporal(const std::vector<TemporalTarget<float>>& targets, PreprocessKind kind, double caffe_scale);

    // Exact tiled evaluation (loss/tiling.h), as cpu::Objective::set_tile_rows: evaluations run
    // strip by strip, each strip owning at most `rows` image rows (0, the default: untiled),
    // and so do set_content() and set_styles() called afterwards. The results equal the
    // untiled ones up to float rounding; the net's buffers are bounded by a strip's window.
    // Re-prepares the prepared shape (may allocate and synchronise). Usage error when rows < 0.
    void set_tile_rows(int rows);
    // Strips of the prepared shape (1 = untiled).
    int num_strips() const;

    // Allocates for an (1, 3, H, W) image and prepares the net (cuDNN algorithms).
    void prepare(const Shape& x_shape);

    // Queues the terms at x (device (1, 3, H, W)) into terms_device() and, unless dx is empty,
    // d total / dx into dx (device, assigned).
    void evaluate(ConstView<float> x, TensorView<float> dx);

    const double* terms_device() const;     // num_terms() doubles
    double* terms_device();
    int num_terms() const;                  // nc + ns + 3
    // Unpacks num_terms() host doubles laid out as terms_device().
    LossTerms unpack(const double* values) const;
    // Copies terms_device() to the host (synchronises the stream).
    LossTerms terms_to_host() const;

    const LossSpec& spec() const;

private:
    struct Impl;
    std::unique_ptr<Impl> m;
};

}  // namespace nst::cuda
