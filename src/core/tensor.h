// SPDX-License-Identifier: MIT
// Shape, non-owning tensor views and host-owned tensors. Everything is contiguous NCHW.
// Ops take views and never allocate or free their arguments; owners are explicit structs.
// The element type is a template parameter so that the CPU reference runs in double for
// finite-difference tests and in float for production.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>

#include "core/buffer.h"
#include "core/error.h"

namespace nst {

struct Shape {
    int n = 0, c = 0, h = 0, w = 0;

    std::size_t numel() const { return std::size_t(n) * std::size_t(c) * std::size_t(h) * std::size_t(w); }
    std::size_t plane() const { return std::size_t(h) * std::size_t(w); }
    bool operator==(const Shape& o) const { return n == o.n && c == o.c && h == o.h && w == o.w; }
    bool operator!=(const Shape& o) const { return !(*this == o); }
    std::string str() const {
        return "(" + std::to_string(n) + ", " + std::to_string(c) + ", " + std::to_string(h) + ", " +
               std::to_string(w) + ")";
    }
};

// A non-owning view. T may be const-qualified for read-only access.
template <typename T>
struct TensorView {
    T* data = nullptr;
    Shape shape;
    Device device = Device::Host;

    TensorView() = default;
    TensorView(T* d, Shape s, Device dev = Device::Host) : data(d), shape(s), device(dev) {}
    // A mutable view converts to a read-only one.
    template <typename U, typename = std::enable_if_t<std::is_same_v<const U, T> && !std::is_same_v<U, T>>>
    TensorView(const TensorView<U>& o) : data(o.data), shape(o.shape), device(o.device) {}

    std::size_t numel() const { return shape.numel(); }
    bool empty() const { return data == nullptr || numel() == 0; }
    T* begin() const { return data; }
    T* end() const { return data + numel(); }
    T& operator[](std::size_t i) const { return data[i]; }
    // Element (c, y, x) of image n.
    T& at(int n, int c, int y, int x) const {
        return data[((std::size_t(n) * shape.c + c) * shape.h + y) * shape.w + x];
    }
};

template <typename T>
using ConstView = TensorView<const T>;

// A tensor that owns its storage (host or device). Move-only; clone() copies.
template <typename T>
class Tensor {
public:
    Tensor() = default;
    explicit Tensor(Shape shape, Device device = Device::Host)
        : m_buffer(shape.numel() * sizeof(T), device), m_shape(shape) {}

    Tensor clone() const {
        Tensor out;
        out.m_buffer = m_buffer.clone();
        out.m_shape = m_shape;
        return out;
    }

    T* data() { return static_cast<T*>(m_buffer.data()); }
    const T* data() const { return static_cast<const T*>(m_buffer.data()); }
    const Shape& shape() const { return m_shape; }
    Device device() const { return m_buffer.device(); }
    std::size_t numel() const { return m_shape.numel(); }
    bool empty() const { return numel() == 0; }

    TensorView<T> view() { return {data(), m_shape, device()}; }
    ConstView<T> view() const { return {data(), m_shape, device()}; }
    ConstView<T> cview() const { return view(); }
    operator TensorView<T>() { return view(); }
    operator ConstView<T>() const { return view(); }

    T* begin() { return data(); }
    T* end() { return data() + numel(); }
    const T* begin() const { return data(); }
    const T* end() const { return data() + numel(); }
    T& operator[](std::size_t i) { return data()[i]; }
    const T& operator[](std::size_t i) const { return data()[i]; }

    // Reshape without reallocating when the element count fits the current storage.
    void ensure(Shape shape) {
        if (shape.numel() * sizeof(T) > m_buffer.bytes()) m_buffer = Buffer(shape.numel() * sizeof(T), device());
        m_shape = shape;
    }

private:
    Buffer m_buffer;
    Shape m_shape;
};

// Host tensor filled with a value.
template <typename T>
Tensor<T> filled(Shape shape, T value) {
    Tensor<T> t(shape);
    for (auto& v : t) v = value;
    return t;
}

// Element-type conversion on the host (float weights to double for gradient checks).
template <typename To, typename From>
Tensor<To> cast(ConstView<From> src) {
    NST_REQUIRE(src.device == Device::Host, "cast needs a host tensor");
    Tensor<To> out(src.shape);
    for (std::size_t i = 0; i < src.numel(); ++i) out[i] = static_cast<To>(src[i]);
    return out;
}

}  // namespace nst
