// SPDX-License-Identifier: MIT
// A training dataset: every image file under a folder (recursively), and the batches drawn from
// it (issue #12, `nst train`). Which file and which crop sample g of a run gets is a pure function
// of (seed, g) through core/rng.h, so a run resumed at iteration k reads exactly the samples the
// uninterrupted run would have read, without any saved sampler state.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/rng.h"
#include "core/tensor.h"

namespace nst {

class ImageDataset {
public:
    // Lists the regular files under `dir` (recursively; names beginning with '.' are skipped),
    // sorted by path so that the order is the same on every machine, and keeps those whose
    // header stb can read (PNG, JPEG, BMP, ...). Throws an input error (exit 3) for a missing
    // folder or one with no readable image (the message counts the files that were not).
    // `option` names the folder in messages ("--dataset", "--style-dataset").
    explicit ImageDataset(const std::string& dir, const std::string& option = "--dataset");

    const std::string& dir() const { return m_dir; }
    const std::string& option() const { return m_option; }
    std::size_t size() const { return m_files.size(); }
    const std::string& file(std::size_t i) const { return m_files[i]; }
    // Files found whose header is not an image nst reads (skipped).
    std::size_t unreadable() const { return m_unreadable; }
    // Pixels of the largest image (from the headers): what decoding one sample can take.
    long long max_pixels() const { return m_max_pixels; }

private:
    std::string m_dir, m_option;
    std::vector<std::string> m_files;
    std::size_t m_unreadable = 0;
    long long m_max_pixels = 0;
};

enum class CropMode {
    Random,  // a uniformly placed size x size window (the long side's offset from the seed)
    Center,  // torchvision's CenterCrop, as pytorch/examples trains
};

// How an image is resized before the crop.
enum class ResizeMode {
    Short,   // the smaller side to `resize`, keeping the aspect ratio (torchvision Resize(int);
             // AdaIN's official train.lua)
    Squash,  // both sides to `resize` (torchvision Resize((r, r)); pytorch-AdaIN's train.py)
};

struct SampleOptions {
    int image_size = 256;      // the square crop's side
    int resize = 0;            // the size resized to first (0: image_size, i.e. the crop spans the
                               // smaller side: Johnson's training)
    ResizeMode resize_mode = ResizeMode::Short;
    CropMode crop = CropMode::Random;
    bool shuffle = true;       // a fresh permutation per epoch; false: sorted order (pytorch/examples)
    std::uint64_t seed = 42;
    // The rng streams of the order and the crops: a second sampler of the same run (the style
    // images of `nst train --method adain`) draws from its own pair, so that both are pure
    // functions of (seed, g) and independent of each other.
    std::uint64_t order_stream = rng::kStreamDatasetOrder;
    std::uint64_t crop_stream = rng::kStreamDatasetCrop;
};

// Draws samples and assembles batches. Sample g (counted over the whole run, 0-based) is file
// order(epoch)[g mod n] of epoch g / n; the image is resized as resize_mode says, and its crop
// offset comes from uniform(seed, crop stream, 2g) and (.., 2g + 1). A file that passed the header check but fails to decode is replaced by the
// next one in the epoch's order (deterministically) and counted; the first such failure prints
// one warning.
class BatchSampler {
public:
    BatchSampler(const ImageDataset& dataset, SampleOptions options);

    // x: (B, 3, S, S), S = image_size: samples first .. first + B - 1 as RGB in [0, 255].
    void load_batch(std::uint64_t first, TensorView<float> x);

    // The file index sample g reads (before any decode-failure substitution).
    std::size_t file_of(std::uint64_t g);
    // Files that failed to decode so far.
    std::size_t decode_failures() const { return m_failed.size(); }

private:
    void load_sample(std::uint64_t g, TensorView<float> dst);  // dst (1, 3, S, S)
    const std::vector<std::size_t>& order(std::uint64_t epoch);

    const ImageDataset& m_data;
    SampleOptions m_opt;
    std::uint64_t m_epoch = ~std::uint64_t(0);  // the epoch m_order holds
    std::vector<std::size_t> m_order;
    std::vector<std::size_t> m_failed;  // sorted file indices
};

// Copies the S x S window at (y0, x0) of `rgb` (1, 3, H, W), times `scale`, into dst (1, 3, S, S).
void crop_scaled(ConstView<float> rgb, int y0, int x0, float scale, TensorView<float> dst);

}  // namespace nst
