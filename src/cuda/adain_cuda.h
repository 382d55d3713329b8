// SPDX-License-Identifier: MIT
// AdaIN on the GPU behind engine/adain_stylize.h's backend seam: encoder and decoder through
// cuda::Network, the statistics and the blend through kernels/adain (whole map) or
// kernels/adain_regions (masks). The content's features never leave the device: the image goes
// up, the decoded image comes back; a style's statistics (2 x 512 floats) come back to the host
// once, to be shared by every content image.
#pragma once
#include <memory>

#include "engine/adain_stylize.h"

namespace nst::cuda {

class CudaAdainBackend final : public AdainBackend {
public:
    CudaAdainBackend(int gpu, const NetModel& encoder, const NetModel& decoder);
    ~CudaAdainBackend() override;
    AdainStyleCode encode_style(ConstView<float> rgb, cpu::AdainStats stats) override;
    Tensor<float> stylize(ConstView<float> rgb, const std::vector<AdainStyleCode>& styles,
                          const AdainMix& mix) override;

    // The mixed features (the decoder's input) of the last stylize(), copied to the host; tests.
    Tensor<float> last_features() const;

private:
    struct Impl;
    std::unique_ptr<Impl> m;
};

}  // namespace nst::cuda
