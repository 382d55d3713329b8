// SPDX-License-Identifier: MIT
// Owners of cuDNN descriptors: created in the constructor, destroyed exactly once. Shared by
// the VGG convolution (conv_cudnn.cpp) and the general one (conv_cudnn_general.cpp).
#pragma once
#include <cudnn.h>

#include "cuda/check.h"

namespace nst::cuda {

class TensorDesc {
public:
    TensorDesc() { NST_CUDNN_CHECK(cudnnCreateTensorDescriptor(&m_desc)); }
    ~TensorDesc() { cudnnDestroyTensorDescriptor(m_desc); }
    TensorDesc(const TensorDesc&) = delete;
    TensorDesc& operator=(const TensorDesc&) = delete;
    cudnnTensorDescriptor_t get() const { return m_desc; }

private:
    cudnnTensorDescriptor_t m_desc = nullptr;
};

class FilterDesc {
public:
    FilterDesc() { NST_CUDNN_CHECK(cudnnCreateFilterDescriptor(&m_desc)); }
    ~FilterDesc() { cudnnDestroyFilterDescriptor(m_desc); }
    FilterDesc(const FilterDesc&) = delete;
    FilterDesc& operator=(const FilterDesc&) = delete;
    cudnnFilterDescriptor_t get() const { return m_desc; }

private:
    cudnnFilterDescriptor_t m_desc = nullptr;
};

class ConvDesc {
public:
    ConvDesc() { NST_CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&m_desc)); }
    ~ConvDesc() { cudnnDestroyConvolutionDescriptor(m_desc); }
    ConvDesc(const ConvDesc&) = delete;
    ConvDesc& operator=(const ConvDesc&) = delete;
    cudnnConvolutionDescriptor_t get() const { return m_desc; }

private:
    cudnnConvolutionDescriptor_t m_desc = nullptr;
};

}  // namespace nst::cuda
