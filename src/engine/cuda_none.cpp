// SPDX-License-Identifier: MIT
// The CUDA entry points of a build without CUDA: no devices, and asking for one is exit code 4.
#ifndef NST_HAVE_CUDA
#include "core/error.h"
#include "engine/engine.h"

namespace nst {

int cuda_device_count() { return 0; }

std::size_t cuda_planned_bytes(const LossSpec&, int, int, int, const std::vector<Shape>&, int, HistoryPrecision,
                               const CudaOptions&) {
    return 0;
}

bool cuda_device_memory(int, std::size_t& free, std::size_t& total) {
    free = total = 0;
    return false;
}

std::unique_ptr<Engine> make_cuda_engine(const Vgg19Weights&, ProblemSpec, int) {
    throw_runtime("this nst was built without CUDA; use --backend cpu");
}
}  // namespace nst
#endif
