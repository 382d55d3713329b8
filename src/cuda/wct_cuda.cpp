// SPDX-License-Identifier: MIT
#include "cuda/wct_cuda.h"

#include <climits>
#include <string>

#include "core/error.h"
#include "cuda/check.h"
#include "kernels/wct.h"

namespace nst::cuda {

namespace {

void check_device(ConstView<float> v, const char* what) {
    NST_REQUIRE(v.device == Device::Cuda, std::string(what) + ": not a device tensor");
}

void check_positions(const Shape& s) {
    if (s.plane() < 2)
        throw_input("WCT: " + std::to_string(s.h) + " x " + std::to_string(s.w) +
                    " feature maps have no covariance (at least 2 positions are needed): the image is too small");
    NST_REQUIRE(s.plane() <= std::size_t(INT_MAX), "WCT: feature map too large for cuBLAS");
}

// Pedantic fp32 for our calls, the caller's mode restored afterwards (the handle is shared).
class MathMode {
public:
    explicit MathMode(cublasHandle_t h) : m_handle(h) {
        NST_CUBLAS_CHECK(cublasGetMathMode(h, &m_saved));
        NST_CUBLAS_CHECK(cublasSetMathMode(h, CUBLAS_PEDANTIC_MATH));
    }
    ~MathMode() { cublasSetMathMode(m_handle, m_saved); }  // (no throw from a destructor)
    MathMode(const MathMode&) = delete;
    MathMode& operator=(const MathMode&) = delete;

private:
    cublasHandle_t m_handle;
    cublasMath_t m_saved = CUBLAS_DEFAULT_MATH;
};

// Centres sample n of x into `centred` (C, HW) and returns the moments (see the header).
WctMoments moments_of(Context& ctx, const float* x, int c, std::size_t hw, float* centred, double* mean_dev,
                      float* cov_dev) {
    const cudaStream_t stream = ctx.stream();
    kernels::wct_center(centred, mean_dev, x, c, hw, stream);
    // Row-major Fc (C x HW) is column-major X (HW x C); cov = X^T X / (HW - 1), lower triangle of
    // the column-major result = upper triangle row-major.
    const cublasHandle_t handle = ctx.cublas();
    {
        MathMode mode(handle);
        const float a = float(1.0 / double(hw - 1)), b = 0.f;
        NST_CUBLAS_CHECK(cublasSsyrk(handle, CUBLAS_FILL_MODE_LOWER, CUBLAS_OP_T, c, int(hw), &a, centred, int(hw),
                                     &b, cov_dev, c));
    }
    WctMoments m;
    m.channels = c;
    m.mean.resize(std::size_t(c));
    std::vector<float> cov(std::size_t(c) * std::size_t(c));
    NST_CUDA_CHECK(cudaMemcpyAsync(m.mean.data(), mean_dev, m.mean.size() * sizeof(double), cudaMemcpyDeviceToHost,
                                   stream));
    NST_CUDA_CHECK(cudaMemcpyAsync(cov.data(), cov_dev, cov.size() * sizeof(float), cudaMemcpyDeviceToHost, stream));
    ctx.synchronize();
    m.cov.resize(cov.size());
    for (int i = 0; i < c; ++i)
        for (int j = 0; j < c; ++j) {
            // Upper triangle row-major is valid; mirror it.
            const std::size_t src = i <= j ? std::size_t(i) * c + j : std::size_t(j) * c + i;
            m.cov[std::size_t(i) * c + j] = double(cov[src]);
        }
    return m;
}

}  // namespace

WctMoments wct_moments(Context& ctx, ConstView<float> x, int n) {
    check_device(x, "cuda::wct_moments");
    NST_REQUIRE(n >= 0 && n < x.shape.n, "cuda::wct_moments: sample out of range");
    check_positions(x.shape);
    const int c = x.shape.c;
    const std::size_t hw = x.shape.plane();
    Tensor<float> centred({1, c, x.shape.h, x.shape.w}, Device::Cuda), cov({1, 1, c, c}, Device::Cuda);
    Buffer mean(std::size_t(c) * sizeof(double), Device::Cuda);
    return moments_of(ctx, x.data + std::size_t(n) * std::size_t(c) * hw, c, hw, centred.data(),
                      static_cast<double*>(mean.data()), cov.data());
}

void wct_forward(Context& ctx, TensorView<float> y, ConstView<float> content, const std::vector<WctMoments>& styles,
                 const std::vector<double>& weights, double alpha, const WctOptions& options) {
    check_device(content, "cuda::wct_forward");
    check_device(y, "cuda::wct_forward");
    NST_REQUIRE(y.shape == content.shape, "cuda::wct_forward: y " + y.shape.str() + " for content " + content.shape.str());
    check_positions(content.shape);
    const cudaStream_t stream = ctx.stream();
    const int c = content.shape.c;
    const std::size_t hw = content.shape.plane(), sample = std::size_t(c) * hw;
    if (alpha == 0) {
        // What the transform would check, then exactly the content (nst::wct_transform with
        // alpha 0 would still round M Fc + m).
        WctMoments probe;
        probe.channels = c;
        probe.mean.assign(std::size_t(c), 0.0);
        probe.cov.assign(std::size_t(c) * std::size_t(c), 0.0);
        (void)wct_transform(probe, styles, weights, 0.0, options);
        if (y.data != content.data)
            NST_CUDA_CHECK(cudaMemcpyAsync(y.data, content.data, content.numel() * sizeof(float),
                                           cudaMemcpyDeviceToDevice, stream));
        return;
    }
    Tensor<float> centred({1, c, content.shape.h, content.shape.w}, Device::Cuda), cov({1, 1, c, c}, Device::Cuda),
        matrix({1, 1, c, c}, Device::Cuda), shift({1, c, 1, 1}, Device::Cuda);
    Buffer mean(std::size_t(c) * sizeof(double), Device::Cuda);
    std::vector<float> host_matrix(std::size_t(c) * std::size_t(c)), host_shift(static_cast<std::size_t>(c));
    const cublasHandle_t handle = ctx.cublas();
    for (int n = 0; n < content.shape.n; ++n) {
        const WctMoments m = moments_of(ctx, content.data + std::size_t(n) * sample, c, hw, centred.data(),
                                        static_cast<double*>(mean.data()), cov.data());
        const WctTransform t = wct_transform(m, styles, weights, alpha, options);
        for (std::size_t i = 0; i < host_matrix.size(); ++i) host_matrix[i] = float(t.matrix[i]);
        for (int i = 0; i < c; ++i) host_shift[std::size_t(i)] = float(t.shift[std::size_t(i)]);
        NST_CUDA_CHECK(cudaMemcpyAsync(matrix.data(), host_matrix.data(), host_matrix.size() * sizeof(float),
                                       cudaMemcpyHostToDevice, stream));
        NST_CUDA_CHECK(cudaMemcpyAsync(shift.data(), host_shift.data(), host_shift.size() * sizeof(float),
                                       cudaMemcpyHostToDevice, stream));
        // Row-major Y = M Fc is column-major Y^T (HW x C) = Fc^T (HW x C) . M^T, and row-major M
        // read column-major is M^T.
        float* yn = y.data + std::size_t(n) * sample;
        {
            MathMode mode(handle);
            const float a = 1.f, b = 0.f;
            NST_CUBLAS_CHECK(cublasSgemm(handle, CUBLAS_OP_N, CUBLAS_OP_N, int(hw), c, c, &a, centred.data(), int(hw),
                                         matrix.data(), c, &b, yn, int(hw)));
        }
        kernels::wct_shift(yn, shift.data(), c, hw, stream);
        // The host vectors are reused by the next sample's copies: wait for these.
        ctx.synchronize();
    }
}

}  // namespace nst::cuda
