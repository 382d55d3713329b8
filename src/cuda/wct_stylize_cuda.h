// SPDX-License-Identifier: MIT
// WCT on the GPU behind engine/wct_stylize.h's backend seam: encoder prefixes and decoders through
// cuda::Network, the transform through cuda::wct_forward (cuda/wct_cuda.h). The features stay on
// the device; the image goes up and the decoded image comes back once per level, and a style's
// moments (C + C^2 values) come back for the host's eigendecomposition.
#pragma once
#include <memory>

#include "engine/wct_stylize.h"

namespace nst::cuda {

class CudaWctBackend final : public WctBackend {
public:
    CudaWctBackend(int gpu, const WctModels& models);
    ~CudaWctBackend() override;
    WctMoments style_moments(ConstView<float> rgb, int level) override;
    Tensor<float> run_level(ConstView<float> rgb, int level, const std::vector<WctMoments>& styles,
                            const std::vector<double>& weights, double alpha, const WctOptions& options) override;

private:
    struct Impl;
    std::unique_ptr<Impl> m;
};

}  // namespace nst::cuda
