// SPDX-License-Identifier: MIT
// The losses split into their two phases over blocks of positions (loss/columns.h): the
// statistics (content sums, Grams) accumulated block by block, then the gradient of each block
// once the statistics of the whole image are known. The one-pass functions of losses.h and the
// objective's tiled evaluation (objective.cpp) are both built from these, so an untiled and a
// tiled evaluation run the same arithmetic per position. Sums are in double (fixed order).
#pragma once
#include <cstdint>
#include <vector>

#include "loss/columns.h"

namespace nst::cpu {

// sum (f - p)^2 over the block.
template <typename T>
double content_sum(Columns<const T> f, Columns<const T> p);
// df += two_scale * (f - p).
template <typename T>
void content_gradient(Columns<T> df, Columns<const T> f, Columns<const T> p, double two_scale);

// Upper triangle of g (C x C) = scale * F F^T over the block, added to g unless `assign`.
template <typename T>
void gram_upper(T* g, Columns<const T> f, double scale, bool assign);

// df += alpha * D F over the block (D = G - A, C x C, symmetric).
template <typename T>
void style_gradient(Columns<T> df, const T* d, Columns<const T> f, double alpha);

// Guided (CVPR 2017 §4; the guide t holds one value per column of the block, broadcast over the
// channels). support: the block's columns where t != 0, ascending, or empty (every column); with
// one, only those columns are read. ft: scratch of at least C * m values.
// Upper triangle of g = scale * (F o t)(F o t)^T, added to g unless `assign`.
template <typename T>
void guided_gram_upper(T* g, Columns<const T> f, const T* t, const std::int32_t* support, std::size_t nnz,
                       double scale, bool assign, T* ft);
// df += t o (alpha * D (F o t)): the chain rule through F o t.
template <typename T>
void guided_style_gradient(Columns<T> df, const T* d, Columns<const T> f, const T* t, const std::int32_t* support,
                           std::size_t nnz, double alpha, T* ft);

}  // namespace nst::cpu
