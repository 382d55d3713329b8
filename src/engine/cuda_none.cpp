// SPDX-License-Identifier: MIT
// The CUDA entry points of a build without CUDA: no devices, and asking for one is exit code 4.
#ifndef NST_HAVE_CUDA
#include "core/error.h"
#include "engine/engine.h"

namespace nst {

int cuda_device_count() { return 0; }

std::unique_ptr<Engine> make_cuda_engine(const Vgg19Weights&, ProblemSpec, int) {
    throw_runtime("this nst was built without CUDA; use --backend cpu");
}

}  // namespace nst
#endif
