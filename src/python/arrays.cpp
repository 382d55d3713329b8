// SPDX-License-Identifier: MIT
#include "python/arrays.h"

#include <algorithm>
#include <cstring>

#include <nanobind/stl/string.h>

#include "core/error.h"

namespace nst::py {

MemoryImage memory_image_of(const AnyArray& a, const std::string& label) {
    MemoryImage m;
    m.label = label;
    if (a.dtype() == nb::dtype<float>()) m.type = MemoryImage::Type::F32;
    else if (a.dtype() == nb::dtype<std::uint8_t>()) m.type = MemoryImage::Type::U8;
    else throw_usage("array '" + label + "': dtype must be float32 (RGB in [0, 1]) or uint8 (0..255)");
    if (a.device_type() == nb::device::cuda::value) m.on_device = true;
    else if (a.device_type() != nb::device::cpu::value)
        throw_usage("array '" + label + "': only CPU and CUDA arrays are accepted");
    const std::size_t n = a.ndim();
    auto dims = [&] {
        std::string s = "(";
        for (std::size_t i = 0; i < n; ++i) s += (i ? ", " : "") + std::to_string(a.shape(i));
        return s + (n == 1 ? ",)" : ")");
    };
    auto set = [&](std::size_t c, std::size_t h, std::size_t w) {
        m.h = int(a.shape(h));
        m.w = int(a.shape(w));
        m.stride_h = std::ptrdiff_t(a.stride(h));
        m.stride_w = std::ptrdiff_t(a.stride(w));
        m.stride_c = c == std::size_t(-1) ? 0 : std::ptrdiff_t(a.stride(c));  // grey: one plane three times
    };
    if (n == 2) set(std::size_t(-1), 0, 1);
    else if (n == 3 && (a.shape(2) == 3 || a.shape(2) == 4)) set(2, 0, 1);  // HWC; alpha is dropped
    else if (n == 3 && a.shape(0) == 3) set(0, 1, 2);
    else if (n == 4 && a.shape(0) == 1 && a.shape(1) == 3) set(1, 2, 3);
    else throw_usage("array '" + label + "': shape " + dims() + " is not an image: expected (H, W, 3), (H, W, 4), (H, W), "
                     "(3, H, W) or (1, 3, H, W)");
    m.data = a.data();
    return m;
}

RegisteredArrays::RegisteredArrays(const nb::dict& arrays) {
    for (auto [key, value] : arrays) {
        const std::string path = nb::cast<std::string>(key);
        AnyArray a;
        if (!nb::try_cast(value, a))
            throw_usage("'" + path + "': not an array (NumPy, or any object with __dlpack__ or the buffer protocol)");
        // The label is the option the array stands for: "<array content>.png" -> "content".
        std::string label = path;
        if (label.rfind("<array ", 0) == 0) label = label.substr(7, label.find('>') - 7);
        MemoryImage m = memory_image_of(a, label);
        m_arrays.push_back(a);
        m_scopes.push_back(std::make_unique<ScopedMemoryImage>(path, std::move(m)));
    }
}

NumpyFloat numpy_hwc(ConstView<float> rgb) {
    const std::size_t h = std::size_t(rgb.shape.h), w = std::size_t(rgb.shape.w), plane = h * w;
    Tensor<float> out(Shape{1, 3, int(h), int(w)});  // storage for (H, W, 3): same element count
    for (std::size_t i = 0; i < plane; ++i)
        for (std::size_t c = 0; c < 3; ++c) out[3 * i + c] = std::clamp(rgb.data[c * plane + i], 0.f, 1.f);
    return numpy_owning(std::move(out), {h, w, 3});
}

NumpyFloat numpy_owning(Tensor<float>&& t, std::vector<std::size_t> shape) {
    auto* owned = new Tensor<float>(std::move(t));
    nb::capsule owner(owned, [](void* p) noexcept { delete static_cast<Tensor<float>*>(p); });
    return NumpyFloat(owned->data(), shape.size(), shape.data(), owner);
}

NumpyFloat numpy_copy(ConstView<float> v, std::vector<std::size_t> shape) {
    Tensor<float> t(v.shape);
    std::memcpy(t.data(), v.data, v.numel() * sizeof(float));
    return numpy_owning(std::move(t), std::move(shape));
}

}  // namespace nst::py
