// SPDX-License-Identifier: MIT
#include "io/dataset.h"

#include <stb_image.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <system_error>

#include "core/error.h"
#include "core/rng.h"
#include "io/image.h"

namespace nst {

namespace fs = std::filesystem;

ImageDataset::ImageDataset(const std::string& dir, const std::string& option) : m_dir(dir), m_option(option) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec))
        throw_input(option + " '" + dir + "': " + (fs::exists(dir, ec) ? "not a folder" : "no such folder"));
    std::vector<std::string> found;
    fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec), end;
    if (ec) throw_input(option + " '" + dir + "': cannot be read (" + ec.message() + ")");
    for (; it != end; it.increment(ec)) {
        if (ec) throw_input(option + " '" + dir + "': cannot be read (" + ec.message() + ")");
        const std::string name = it->path().filename().string();
        if (!name.empty() && name[0] == '.') {
            // Hidden files and folders (.DS_Store, .git) are not part of a dataset.
            if (it->is_directory(ec)) it.disable_recursion_pending();
            continue;
        }
        if (it->is_regular_file(ec)) found.push_back(it->path().string());
    }
    // Byte order of the paths, not the directory's: the listing is the same on every file system.
    std::sort(found.begin(), found.end());
    for (auto& f : found) {
        int w = 0, h = 0, comp = 0;
        if (stbi_info(f.c_str(), &w, &h, &comp) && w > 0 && h > 0 &&
            (long long)w * (long long)h <= kMaxImagePixels) {
            m_max_pixels = std::max(m_max_pixels, (long long)w * (long long)h);
            m_files.push_back(std::move(f));
        }
        else {
            ++m_unreadable;
        }
    }
    if (m_files.empty())
        throw_input(option + " '" + dir + "': no readable image" +
                    (m_unreadable ? " (" + std::to_string(m_unreadable) + " files are not images nst reads)"
                                  : std::string(" (the folder is empty)")));
    if (m_unreadable)
        std::fprintf(stderr, "nst: warning: %s '%s': skipped %zu unreadable file%s of %zu\n", option.c_str(), dir.c_str(),
                     m_unreadable, m_unreadable == 1 ? "" : "s", m_unreadable + m_files.size());
}

BatchSampler::BatchSampler(const ImageDataset& dataset, SampleOptions options) : m_data(dataset), m_opt(options) {
    if (options.image_size < 1) throw_usage("--image-size: must be a positive number of pixels");
    if (options.resize != 0 && options.resize < options.image_size)
        throw_usage("the resize before the crop (" + std::to_string(options.resize) + ") is smaller than the crop (" +
                    std::to_string(options.image_size) + ")");
}

const std::vector<std::size_t>& BatchSampler::order(std::uint64_t epoch) {
    if (epoch == m_epoch) return m_order;
    const std::size_t n = m_data.size();
    m_order.resize(n);
    for (std::size_t i = 0; i < n; ++i) m_order[i] = i;
    if (m_opt.shuffle) {
        // Fisher-Yates from the counter-based stream: epoch e uses counters e n .. e n + n - 2.
        for (std::size_t i = n; i > 1; --i) {
            const double u = rng::uniform(m_opt.seed, m_opt.order_stream, epoch * n + (n - i));
            const std::size_t j = std::min(std::size_t(u * double(i)), i - 1);
            std::swap(m_order[i - 1], m_order[j]);
        }
    }
    m_epoch = epoch;
    return m_order;
}

std::size_t BatchSampler::file_of(std::uint64_t g) {
    const std::size_t n = m_data.size();
    return order(g / n)[g % n];
}

void crop_scaled(ConstView<float> rgb, int y0, int x0, float scale, TensorView<float> dst) {
    const int s_h = dst.shape.h, s_w = dst.shape.w;
    NST_REQUIRE(y0 >= 0 && x0 >= 0 && y0 + s_h <= rgb.shape.h && x0 + s_w <= rgb.shape.w && dst.shape.c == 3 &&
                    rgb.shape.c == 3,
                "crop window outside the image");
    for (int c = 0; c < 3; ++c)
        for (int y = 0; y < s_h; ++y)
            for (int x = 0; x < s_w; ++x) dst.at(0, c, y, x) = scale * rgb.at(0, c, y0 + y, x0 + x);
}

void BatchSampler::load_sample(std::uint64_t g, TensorView<float> dst) {
    const std::size_t n = m_data.size();
    const std::uint64_t epoch = g / n;
    const std::size_t pos = std::size_t(g % n);
    const int s = m_opt.image_size;
    // A file that fails to decode gives way to the next one in the epoch's order.
    for (std::size_t k = 0; k < n; ++k) {
        const std::size_t file = order(epoch)[(pos + k) % n];
        if (std::binary_search(m_failed.begin(), m_failed.end(), file)) continue;
        Tensor<float> img;
        try {
            img = load_image(m_data.file(file));
        } catch (const Error& e) {
            if (m_failed.empty()) std::fprintf(stderr, "nst: warning: %s; skipping it\n", e.what());
            m_failed.insert(std::upper_bound(m_failed.begin(), m_failed.end(), file), file);
            continue;
        }
        const int r = m_opt.resize > 0 ? m_opt.resize : s;
        int h = r, w = r;
        if (m_opt.resize_mode == ResizeMode::Short) target_size(img.shape().h, img.shape().w, r, SizeRule::Short, h, w);
        if (h != img.shape().h || w != img.shape().w) img = resize_image(img.cview(), h, w);
        int y0 = (h - s) / 2, x0 = (w - s) / 2;  // torchvision's CenterCrop rounds the offset down
        if (m_opt.crop == CropMode::Random) {
            y0 = std::min(int(rng::uniform(m_opt.seed, m_opt.crop_stream, 2 * g) * (h - s + 1)), h - s);
            x0 = std::min(int(rng::uniform(m_opt.seed, m_opt.crop_stream, 2 * g + 1) * (w - s + 1)), w - s);
        }
        crop_scaled(img.cview(), y0, x0, 255.f, dst);
        return;
    }
    throw_input(m_data.option() + " '" + m_data.dir() + "': no image could be decoded (" + std::to_string(m_failed.size()) +
                " files failed)");
}

void BatchSampler::load_batch(std::uint64_t first, TensorView<float> x) {
    const int s = m_opt.image_size;
    NST_REQUIRE(x.shape.c == 3 && x.shape.h == s && x.shape.w == s, "batch shape " + x.shape.str() + " for size " +
                                                                        std::to_string(s));
    const std::size_t per = std::size_t(3) * s * s;
    for (int b = 0; b < x.shape.n; ++b)
        load_sample(first + std::uint64_t(b), TensorView<float>(x.data + b * per, Shape{1, 3, s, s}));
}

}  // namespace nst
