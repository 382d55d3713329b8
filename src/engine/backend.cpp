// SPDX-License-Identifier: MIT
#include "core/error.h"
#include "engine/engine.h"

namespace nst {

Backend parse_backend(const std::string& name) {
    if (name == "auto") return Backend::Auto;
    if (name == "cpu") return Backend::Cpu;
    if (name == "cuda") return Backend::Cuda;
    throw_usage("--backend: unknown backend '" + name + "' (choose auto, cpu or cuda)");
}

OptimizerKind parse_optimizer(const std::string& name) {
    if (name == "lbfgs") return OptimizerKind::Lbfgs;
    if (name == "adam") return OptimizerKind::Adam;
    throw_usage("--optimizer: unknown optimizer '" + name + "' (choose lbfgs or adam)");
}

Precision parse_precision(const std::string& name) {
    if (name == "fp32") return Precision::Fp32;
    if (name == "tf32") return Precision::Tf32;
    if (name == "bf16") return Precision::Bf16;
    throw_usage("--precision: unknown precision '" + name + "' (choose fp32, tf32 or bf16)");
}

GramImpl parse_gram_impl(const std::string& name) {
    if (name == "own") return GramImpl::Own;
    if (name == "cublas-syrk") return GramImpl::CublasSyrk;
    if (name == "cublas-gemm") return GramImpl::CublasGemm;
    throw_usage("--gram-impl: unknown implementation '" + name + "' (choose own, cublas-syrk or cublas-gemm)");
}

const char* gram_impl_name(GramImpl g) {
    switch (g) {
        case GramImpl::Own: return "own";
        case GramImpl::CublasSyrk: return "cublas-syrk";
        case GramImpl::CublasGemm: return "cublas-gemm";
    }
    return "?";
}

const char* precision_name(Precision p) {
    switch (p) {
        case Precision::Fp32: return "fp32";
        case Precision::Tf32: return "tf32";
        case Precision::Bf16: return "bf16";
    }
    return "?";
}

const char* backend_name(Backend b) {
    switch (b) {
        case Backend::Auto: return "auto";
        case Backend::Cpu: return "cpu";
        case Backend::Cuda: return "cuda";
    }
    return "?";
}

Backend resolve_backend(Backend requested, int gpu, std::string& note, bool plan_only) {
    note.clear();
    const int devices = cuda_device_count();
    if (requested == Backend::Cuda) {
#ifdef NST_HAVE_CUDA
        if (devices == 0 && plan_only) {
            note = "--dry-run: planning for a CUDA device this machine does not have";
            return Backend::Cuda;
        }
#endif
        if (devices == 0)
#ifdef NST_HAVE_CUDA
            throw_runtime("--backend cuda: no usable CUDA device; use --backend cpu");
#else
            throw_runtime("--backend cuda: this nst was built without CUDA; use --backend cpu");
#endif
        if (gpu < 0 || gpu >= devices)
            throw_runtime("--gpu " + std::to_string(gpu) + ": no such device (" + std::to_string(devices) +
                          " CUDA device(s) found)");
        return Backend::Cuda;
    }
    if (requested == Backend::Cpu) return Backend::Cpu;
    if (devices > 0 && gpu >= 0 && gpu < devices) {
        note = "backend auto: using cuda (device " + std::to_string(gpu) + ")";
        return Backend::Cuda;
    }
    note = devices == 0 ? "backend auto: no CUDA device, using cpu" : "backend auto: --gpu out of range, using cpu";
    return Backend::Cpu;
}

}  // namespace nst
