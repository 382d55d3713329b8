// SPDX-License-Identifier: MIT
// The training dataset (io/dataset.h): listing, skipped files, errors, and reproducible batches
// checked against crops cut here from the resized images.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "core/rng.h"
#include "io/dataset.h"
#include "io/image.h"
#include "test_errors.h"
#include "test_util.h"

using namespace nst;

namespace {

// Three images of different aspect ratios (one in a sub-folder), a text file, a hidden file and
// a PNG cut short after its header (readable header, undecodable data).
std::string make_dataset(const std::string& name) {
    const std::string dir = test::temp_dir(name);
    test::smooth_png(dir, "b.png", 40, 56, 1);
    test::smooth_png(dir, "a.png", 48, 36, 2);
    std::filesystem::create_directories(dir + "/sub");
    test::smooth_png(dir + "/sub", "c.png", 36, 36, 3);
    test::write_file(dir + "/notes.txt", "not an image\n");
    test::write_file(dir + "/.hidden.png", test::read_file(dir + "/a.png"));
    const std::string full = test::read_file(dir + "/b.png");
    test::write_file(dir + "/truncated.png", full.substr(0, 64));
    return dir;
}

}  // namespace

TEST_CASE("dataset: lists readable images sorted and counts the unreadable") {
    const std::string dir = make_dataset("dataset_list");
    const ImageDataset d(dir);
    REQUIRE(d.size() == 4);  // a, b, sub/c and the truncated PNG (its header is fine)
    CHECK(d.unreadable() == 1);  // notes.txt; the hidden file is not counted
    CHECK(d.file(0) == dir + "/a.png");
    CHECK(d.file(1) == dir + "/b.png");
    CHECK(d.file(2) == dir + "/sub/c.png");
    CHECK(d.file(3) == dir + "/truncated.png");
}

TEST_CASE("dataset: a folder without readable images is an input error") {
    const std::string empty = test::temp_dir("dataset_empty");
    std::string msg = test::error_of([&] { ImageDataset d(empty); });
    CHECK(test::contains(msg, "no readable image"));
    CHECK(test::contains(msg, "empty"));
    const std::string junk = test::temp_dir("dataset_junk");
    test::write_file(junk + "/x.jpg", "garbage");
    test::write_file(junk + "/y.txt", "garbage");
    msg = test::error_of([&] { ImageDataset d(junk); });
    CHECK(test::contains(msg, "2 files are not images"));
    msg = test::error_of([&] { ImageDataset d(junk + "/missing"); });
    CHECK(test::contains(msg, "no such folder"));
}

TEST_CASE("dataset: random crops are reproducible and cut from the resized image") {
    const std::string dir = make_dataset("dataset_crops");
    const ImageDataset d(dir);
    const int s = 24, batch = 3;
    SampleOptions o;
    o.image_size = s;
    o.seed = 11;
    BatchSampler a(d, o), b(d, o);
    Tensor<float> xa(Shape{batch, 3, s, s}), xb(Shape{batch, 3, s, s});
    for (std::uint64_t first : {0ull, 5ull, 9ull}) {
        a.load_batch(first, xa.view());
        b.load_batch(first, xb.view());
        CHECK(std::equal(xa.begin(), xa.end(), xb.begin()));
        for (int k = 0; k < batch; ++k) {
            const std::uint64_t g = first + k;
            const std::size_t file = a.file_of(g);
            if (file == 3) continue;  // the truncated file: replaced by the next one (checked below)
            // The reference: resize the shorter side to s, crop at the stream's offsets, x 255.
            const Tensor<float> img = load_image(d.file(file));
            int h = 0, w = 0;
            target_size(img.shape().h, img.shape().w, s, SizeRule::Short, h, w);
            const Tensor<float> r = resize_image(img.cview(), h, w);
            const int y0 = int(rng::uniform(11, rng::kStreamDatasetCrop, 2 * g) * (h - s + 1));
            const int x0 = int(rng::uniform(11, rng::kStreamDatasetCrop, 2 * g + 1) * (w - s + 1));
            double worst = 0;
            for (int c = 0; c < 3; ++c)
                for (int y = 0; y < s; ++y)
                    for (int x = 0; x < s; ++x)
                        worst = std::max(worst, double(std::abs(xa.view().at(k, c, y, x) -
                                                                255.f * r.view().at(0, c, y0 + y, x0 + x))));
            CHECK(worst == 0);
        }
    }
    CHECK(a.decode_failures() <= 1);
    // Another seed gives other batches.
    o.seed = 12;
    BatchSampler c(d, o);
    Tensor<float> xc(Shape{batch, 3, s, s});
    a.load_batch(0, xa.view());
    c.load_batch(0, xc.view());
    CHECK(!std::equal(xa.begin(), xa.end(), xc.begin()));
}

TEST_CASE("dataset: each epoch visits every file once and the centre crop is centred") {
    const std::string dir = make_dataset("dataset_epochs");
    const ImageDataset d(dir);
    SampleOptions o;
    o.image_size = 20;
    o.seed = 5;
    BatchSampler s(d, o);
    std::vector<std::size_t> e0, e1;
    for (std::uint64_t g = 0; g < 4; ++g) e0.push_back(s.file_of(g));
    for (std::uint64_t g = 4; g < 8; ++g) e1.push_back(s.file_of(g));
    CHECK(std::set<std::size_t>(e0.begin(), e0.end()).size() == 4);
    CHECK(std::set<std::size_t>(e1.begin(), e1.end()).size() == 4);
    o.shuffle = false;
    o.crop = CropMode::Center;
    BatchSampler u(d, o);
    for (std::uint64_t g = 0; g < 8; ++g) CHECK(u.file_of(g) == g % 4);
    // Sample 1 is b.png, 40 x 56 -> 20 x 28: the window starts at x = 4.
    Tensor<float> x(Shape{1, 3, 20, 20});
    u.load_batch(1, x.view());
    const Tensor<float> img = load_image(d.file(1));
    const Tensor<float> r = resize_image(img.cview(), 20, 28);
    CHECK(x.view().at(0, 1, 3, 0) == 255.f * r.view().at(0, 1, 3, 4));
    CHECK(x.view().at(0, 2, 19, 19) == 255.f * r.view().at(0, 2, 19, 23));
}

TEST_CASE("dataset: an undecodable file is replaced by the next one and counted") {
    const std::string dir = make_dataset("dataset_truncated");
    const ImageDataset d(dir);
    SampleOptions o;
    o.image_size = 16;
    o.shuffle = false;
    o.crop = CropMode::Center;
    BatchSampler s(d, o);
    Tensor<float> x(Shape{1, 3, 16, 16}), ref(Shape{1, 3, 16, 16});
    s.load_batch(3, x.view());  // truncated.png -> the next in order: a.png (sample 4's)
    CHECK(s.decode_failures() == 1);
    s.load_batch(4, ref.view());
    CHECK(std::equal(x.begin(), x.end(), ref.begin()));
}
