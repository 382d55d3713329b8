// SPDX-License-Identifier: MIT
// Middlebury .flo files. Files are written here byte by byte from the format's description
// (docs/research/video.md §2.2), so reader and writer are checked against the format rather than
// against each other.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "video/flo.h"
#include "test_errors.h"
#include "test_util.h"

using namespace nst;
using nst::test::contains;
using nst::test::error_of;

namespace {

std::string i32(std::int32_t v) { return std::string(reinterpret_cast<const char*>(&v), 4); }
std::string f32(float v) { return std::string(reinterpret_cast<const char*>(&v), 4); }

void write_bytes(const std::string& path, const std::string& bytes) {
    std::ofstream f(path, std::ios::binary);
    f.write(bytes.data(), std::streamsize(bytes.size()));
}

std::string read_bytes(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), {});
}

// u = 10·x + y, v = -(100·x + y) for a w×h field, in file order (row-major, (u, v) interleaved).
std::string payload(int w, int h) {
    std::string p;
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) p += f32(float(10 * x + y)) + f32(-float(100 * x + y));
    return p;
}

}  // namespace

TEST_CASE("flo: the tag is the bytes PIEH") {
    CHECK(f32(kFloTag) == "PIEH");
}

TEST_CASE("flo: reads a hand-written file into (1 2 H W) with u then v") {
    const std::string dir = test::temp_dir("flo_read");
    const std::string path = dir + "/a.flo";
    write_bytes(path, "PIEH" + i32(3) + i32(2) + payload(3, 2));
    const Tensor<float> flow = load_flo(path);
    REQUIRE(flow.shape() == (Shape{1, 2, 2, 3}));
    for (int y = 0; y < 2; ++y)
        for (int x = 0; x < 3; ++x) {
            CHECK(flow.view().at(0, 0, y, x) == float(10 * x + y));
            CHECK(flow.view().at(0, 1, y, x) == -float(100 * x + y));
        }
}

TEST_CASE("flo: writes exactly the format's bytes and round-trips") {
    const std::string dir = test::temp_dir("flo_write");
    Tensor<float> flow(Shape{1, 2, 2, 3});
    for (int y = 0; y < 2; ++y)
        for (int x = 0; x < 3; ++x) {
            flow.view().at(0, 0, y, x) = float(10 * x + y);
            flow.view().at(0, 1, y, x) = -float(100 * x + y);
        }
    save_flo(dir + "/b.flo", flow.view());
    CHECK(read_bytes(dir + "/b.flo") == "PIEH" + i32(3) + i32(2) + payload(3, 2));

    // Arbitrary values (sub-normal, huge "unknown" markers, negative zero) survive bit for bit.
    Tensor<float> odd = test::random_tensor<float>(Shape{1, 2, 5, 7}, 11, -40, 40);
    odd[0] = 1.6e9f;
    odd[1] = -0.0f;
    odd[2] = std::numeric_limits<float>::denorm_min();
    save_flo(dir + "/c.flo", odd.view());
    const Tensor<float> back = load_flo(dir + "/c.flo");
    REQUIRE(back.shape() == odd.shape());
    CHECK(std::memcmp(back.data(), odd.data(), odd.numel() * 4) == 0);
}

TEST_CASE("flo: corrupt files are input errors naming the file") {
    const std::string dir = test::temp_dir("flo_bad");
    auto bad = [&](const std::string& name, const std::string& bytes, const std::string& mention) {
        CAPTURE(name);
        write_bytes(dir + "/" + name, bytes);
        const std::string msg = error_of([&] { load_flo(dir + "/" + name); });
        CHECK(contains(msg, name));
        CHECK(contains(msg, mention));
    };
    bad("magic.flo", "PIEX" + i32(3) + i32(2) + payload(3, 2), "tag");
    bad("short_header.flo", "PIEH" + i32(3), "header");
    bad("truncated.flo", "PIEH" + i32(3) + i32(2) + payload(3, 2).substr(0, 40), "truncated");
    bad("trailing.flo", "PIEH" + i32(3) + i32(2) + payload(3, 2) + "x", "unexpected bytes");
    bad("zero_width.flo", "PIEH" + i32(0) + i32(2), "invalid size");
    bad("negative.flo", "PIEH" + i32(3) + i32(-2) + payload(3, 2), "invalid size");
    bad("absurd.flo", "PIEH" + i32(1 << 20) + i32(1 << 20) + payload(3, 2), "pixel limit");
    bad("nan.flo", "PIEH" + i32(1) + i32(1) + f32(0) + f32(std::nanf("")), "non-finite");
    const std::string missing = error_of([&] { load_flo(dir + "/missing.flo"); });
    CHECK(contains(missing, "missing.flo"));
}

TEST_CASE("flo: writing into a missing folder is an input error") {
    const std::string dir = test::temp_dir("flo_atomic");
    Tensor<float> flow = filled(Shape{1, 2, 2, 2}, 1.5f);
    error_of([&] { save_flo(dir + "/no_such_dir/x.flo", flow.view()); });
    CHECK(!std::filesystem::exists(dir + "/no_such_dir"));
    write_bytes(dir + "/keep.flo", "old");
    save_flo(dir + "/keep.flo", flow.view());
    CHECK(load_flo(dir + "/keep.flo")[7] == 1.5f);
}
