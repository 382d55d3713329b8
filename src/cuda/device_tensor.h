// SPDX-License-Identifier: MIT
// Growing device tensors for the nets' per-shape buffers.
#pragma once
#include "core/tensor.h"

namespace nst::cuda {

// Makes t a device tensor of `shape`, keeping its storage when it is on the device and large
// enough. (A default-constructed tensor is a host one, which Tensor::ensure would grow on the host.)
template <typename T>
void ensure_device(Tensor<T>& t, const Shape& shape) {
    if (t.device() != Device::Cuda)
        t = Tensor<T>(shape, Device::Cuda);
    else
        t.ensure(shape);
}

}  // namespace nst::cuda
