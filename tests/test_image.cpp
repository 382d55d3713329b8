// SPDX-License-Identifier: MIT
// Image I/O: decoding (8/16-bit, grey/alpha, PNG/JPEG/BMP/TGA), encoding, resizing, the size
// rules, and refusal of every kind of bad input with exit code 3 and the file name.
//
// References are independent of the code under test: 16-bit and oversized PNGs are assembled
// byte by byte here (stored deflate blocks, our own CRC), BMP/TGA come from stb_image_write,
// and expected pixel values are computed from the integers that were written.
#include <doctest/doctest.h>
#include <stb_image_write.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/rng.h"
#include "io/image.h"
#include "io/image_encode.h"
#include "io/image_truncation.h"
#include "test_errors.h"
#include "test_util.h"

using namespace nst;
using nst::test::contains;
using nst::test::error_of;

namespace {


// ---- a minimal PNG writer: stored (uncompressed) deflate blocks, written from the spec -------

std::uint32_t crc32(const std::string& bytes) {
    std::uint32_t c = 0xFFFFFFFFu;
    for (unsigned char b : bytes) {
        c ^= b;
        for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
    }
    return c ^ 0xFFFFFFFFu;
}

void put_be32(std::string& s, std::uint32_t v) {
    for (int k = 3; k >= 0; --k) s += char((v >> (8 * k)) & 0xFF);
}

std::string png_chunk(const std::string& type, const std::string& data) {
    std::string out;
    put_be32(out, std::uint32_t(data.size()));
    out += type + data;
    put_be32(out, crc32(type + data));
    return out;
}

std::string zlib_stored(const std::string& raw) {
    std::string z = "\x78\x01";
    std::size_t pos = 0;
    do {
        const std::size_t n = std::min<std::size_t>(65535, raw.size() - pos);
        const bool last = pos + n == raw.size();
        z += char(last ? 1 : 0);
        z += char(n & 0xFF);
        z += char(n >> 8);
        z += char(~n & 0xFF);
        z += char((~n >> 8) & 0xFF);
        z += raw.substr(pos, n);
        pos += n;
    } while (pos < raw.size());
    std::uint32_t a = 1, b = 0;
    for (unsigned char ch : raw) {
        a = (a + ch) % 65521;
        b = (b + a) % 65521;
    }
    put_be32(z, (b << 16) | a);
    return z;
}

// rows: h rows of packed samples (big-endian for 16-bit), without filter bytes.
std::string make_png(std::uint32_t w, std::uint32_t h, int depth, int color_type, const std::vector<std::string>& rows) {
    std::string ihdr;
    put_be32(ihdr, w);
    put_be32(ihdr, h);
    ihdr += char(depth);
    ihdr += char(color_type);
    ihdr += std::string(3, '\0');
    std::string raw;
    for (const auto& r : rows) raw += '\0' + r;  // filter type 0 (none)
    return "\x89PNG\r\n\x1a\n" + png_chunk("IHDR", ihdr) + png_chunk("IDAT", zlib_stored(raw)) + png_chunk("IEND", "");
}

std::string be16(unsigned v) { return std::string{char(v >> 8), char(v & 0xFF)}; }

// An image whose values are k/255 for integers k, so that 8-bit storage is exact.
Tensor<float> grid_image(int h, int w, std::uint64_t seed, float levels = 255.f) {
    Tensor<float> t(Shape{1, 3, h, w});
    for (std::size_t i = 0; i < t.numel(); ++i) t[i] = std::floor(float(rng::uniform(seed, 1, i)) * (levels + 1)) / levels;
    return t;
}

}  // namespace

// ---- decoding and encoding ---------------------------------------------------------------------

TEST_CASE("image: png 8-bit round trip is exact") {
    const std::string dir = test::temp_dir("image_png8");
    const Tensor<float> img = grid_image(7, 11, 1);
    save_image(dir + "/a.png", img, 8);
    const std::string bytes = test::read_file(dir + "/a.png");
    REQUIRE(bytes.size() > 33);
    CHECK(bytes.substr(1, 3) == "PNG");
    CHECK(int(bytes[24]) == 8);  // IHDR bit depth
    CHECK(int(bytes[25]) == 2);  // colour type RGB
    const Tensor<float> back = load_image(dir + "/a.png");
    REQUIRE(back.shape() == img.shape());
    for (std::size_t i = 0; i < img.numel(); ++i) REQUIRE(back[i] == img[i]);
    // Upper-case extension selects PNG too.
    save_image(dir + "/b.PNG", img);
    CHECK(load_image(dir + "/b.PNG").shape() == img.shape());
}

TEST_CASE("image: png 16-bit round trip keeps 16-bit precision") {
    const std::string dir = test::temp_dir("image_png16");
    Tensor<float> img(Shape{1, 3, 5, 9});
    for (std::size_t i = 0; i < img.numel(); ++i) img[i] = float(rng::uniform(2, 1, i));  // off every 8-bit level
    save_image(dir + "/a.png", img, 16);
    const std::string bytes = test::read_file(dir + "/a.png");
    REQUIRE(bytes.size() > 33);
    CHECK(int(bytes[24]) == 16);
    const Tensor<float> back = load_image(dir + "/a.png");
    REQUIRE(back.shape() == img.shape());
    double worst = 0;
    for (std::size_t i = 0; i < img.numel(); ++i) {
        worst = std::max(worst, std::abs(double(back[i]) - double(img[i])));
        // The stored sample is floor(x * 65535 + 0.5); reading gives that integer / 65535.
        const double k = std::floor(double(img[i]) * 65535.0 + 0.5);
        REQUIRE(back[i] == float(k) / 65535.f);
    }
    CHECK(worst <= 0.5 / 65535 + 1e-7);
    CHECK(worst > 0);  // not trivially equal: values were off-grid
}

TEST_CASE("image: 16-bit png from an independent writer reads at full precision") {
    const std::string dir = test::temp_dir("image_png16_read");
    // 3x2 RGB, samples chosen so that 8-bit truncation would lose them (1000, 1001 differ by
    // less than 1/255).
    const unsigned s[2][3][3] = {{{0, 1000, 1001}, {65535, 257, 32768}, {12345, 54321, 1}},
                                 {{2, 3, 4}, {40000, 40001, 40002}, {65534, 0, 65535}}};
    std::vector<std::string> rows(2);
    for (int y = 0; y < 2; ++y)
        for (int x = 0; x < 3; ++x)
            for (int c = 0; c < 3; ++c) rows[y] += be16(s[y][x][c]);
    test::write_file(dir + "/rgb16.png", make_png(3, 2, 16, 2, rows));
    const Tensor<float> img = load_image(dir + "/rgb16.png");
    REQUIRE(img.shape() == Shape{1, 3, 2, 3});
    for (int y = 0; y < 2; ++y)
        for (int x = 0; x < 3; ++x)
            for (int c = 0; c < 3; ++c) CHECK(img.view().at(0, c, y, x) == float(s[y][x][c]) / 65535.f);

    // 16-bit grey is replicated into R, G and B.
    test::write_file(dir + "/grey16.png", make_png(2, 1, 16, 0, {be16(1000) + be16(64000)}));
    const Tensor<float> g = load_image(dir + "/grey16.png");
    REQUIRE(g.shape() == Shape{1, 3, 1, 2});
    for (int c = 0; c < 3; ++c) {
        CHECK(g.view().at(0, c, 0, 0) == 1000.f / 65535.f);
        CHECK(g.view().at(0, c, 0, 1) == 64000.f / 65535.f);
    }
}

TEST_CASE("image: grey / grey+alpha and RGBA become RGB with alpha dropped") {
    const std::string dir = test::temp_dir("image_channels");
    test::write_file(dir + "/g.png", make_png(2, 1, 8, 0, {std::string{char(10), char(200)}}));
    test::write_file(dir + "/ga.png", make_png(2, 1, 8, 4, {std::string{char(10), char(0), char(200), char(77)}}));
    test::write_file(dir + "/rgba.png",
                     make_png(1, 1, 8, 6, {std::string{char(1), char(2), char(3), char(0)}}));
    for (const char* name : {"/g.png", "/ga.png"}) {
        const Tensor<float> t = load_image(dir + name);
        REQUIRE(t.shape() == Shape{1, 3, 1, 2});
        for (int c = 0; c < 3; ++c) {
            CHECK(t.view().at(0, c, 0, 0) == 10.f / 255.f);
            CHECK(t.view().at(0, c, 0, 1) == 200.f / 255.f);
        }
    }
    const Tensor<float> t = load_image(dir + "/rgba.png");
    REQUIRE(t.shape() == Shape{1, 3, 1, 1});
    CHECK(t[0] == 1.f / 255.f);  // colour kept although alpha is 0 (no premultiplication)
    CHECK(t[1] == 2.f / 255.f);
    CHECK(t[2] == 3.f / 255.f);
}

TEST_CASE("image: jpeg round trip is close") {
    const std::string dir = test::temp_dir("image_jpeg");
    // A smooth image: JPEG at quality 95 should reproduce it to about 1%.
    const int h = 48, w = 64;
    Tensor<float> img(Shape{1, 3, h, w});
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            img.view().at(0, 0, y, x) = float(x) / (w - 1);
            img.view().at(0, 1, y, x) = float(y) / (h - 1);
            img.view().at(0, 2, y, x) = 0.5f + 0.4f * std::sin(0.1f * float(x + y));
        }
    for (const char* name : {"/a.jpg", "/a.jpeg", "/a.JPG"}) {
        save_image(dir + name, img);
        const std::string bytes = test::read_file(dir + name);
        REQUIRE(bytes.size() > 4);
        CHECK((unsigned char)bytes[0] == 0xFF);
        CHECK((unsigned char)bytes[1] == 0xD8);
        const Tensor<float> back = load_image(dir + name);
        REQUIRE(back.shape() == img.shape());
        double mae = 0, worst = 0;
        for (std::size_t i = 0; i < img.numel(); ++i) {
            const double d = std::abs(double(back[i]) - double(img[i]));
            mae += d;
            worst = std::max(worst, d);
        }
        mae /= double(img.numel());
        CHECK(mae < 0.01);
        CHECK(worst < 0.08);
    }
}

TEST_CASE("image: bmp and tga written by stb decode exactly") {
    const std::string dir = test::temp_dir("image_bmp_tga");
    const int h = 5, w = 7;
    const Tensor<float> img = grid_image(h, w, 3);
    const std::vector<std::uint8_t> px = quantize_rgb8(img);
    REQUIRE(stbi_write_bmp((dir + "/a.bmp").c_str(), w, h, 3, px.data()) != 0);
    REQUIRE(stbi_write_tga((dir + "/rle.tga").c_str(), w, h, 3, px.data()) != 0);
    const int old_rle = stbi_write_tga_with_rle;
    stbi_write_tga_with_rle = 0;
    REQUIRE(stbi_write_tga((dir + "/raw.tga").c_str(), w, h, 3, px.data()) != 0);
    stbi_write_tga_with_rle = old_rle;
    for (const char* name : {"/a.bmp", "/rle.tga", "/raw.tga"}) {
        CAPTURE(name);
        const Tensor<float> back = load_image(dir + name);
        REQUIRE(back.shape() == img.shape());
        for (std::size_t i = 0; i < img.numel(); ++i) REQUIRE(back[i] == img[i]);
    }
    // Truncated uncompressed files would decode with zero padding; they must be refused.
    for (const char* name : {"/a.bmp", "/raw.tga"}) {
        const std::string bytes = test::read_file(dir + name);
        test::write_file(dir + "/cut", bytes.substr(0, bytes.size() - 10));
        const std::string msg = error_of([&] { load_image(dir + "/cut"); }, ExitCode::Input);
        CHECK(contains(msg, "truncated"));
    }
}

TEST_CASE("image: quantisation rounds to nearest and clamps") {
    Tensor<float> img(Shape{1, 3, 1, 4});
    const float r[4] = {0.2f, -0.5f, 1.7f, std::nanf("")};
    const float g[4] = {0.5f, 1.0f / 510.f + 1e-6f, 1.0f / 510.f - 1e-6f, 1.0f};
    const float b[4] = {0.0f, 0.999f, 1e-9f, 0.25f};
    for (int x = 0; x < 4; ++x) {
        img.view().at(0, 0, 0, x) = r[x];
        img.view().at(0, 1, 0, x) = g[x];
        img.view().at(0, 2, 0, x) = b[x];
    }
    const std::vector<std::uint8_t> q = quantize_rgb8(img);
    // Interleaved: pixel x, channel c at 3x + c.
    const int expect8[4][3] = {{51, 128, 0}, {0, 1, 255}, {255, 0, 0}, {0, 255, 64}};
    for (int x = 0; x < 4; ++x)
        for (int c = 0; c < 3; ++c) CHECK(int(q[3 * x + c]) == expect8[x][c]);
    const std::vector<std::uint16_t> q16 = quantize_rgb16(img);
    CHECK(int(q16[0]) == 13107);      // 0.2 * 65535 = 13107.0
    CHECK(int(q16[1]) == 32768);      // 32767.5 rounds up
    CHECK(int(q16[3 * 2]) == 65535);  // clamped
    CHECK(int(q16[3 * 3]) == 0);      // NaN
}

TEST_CASE("image: shared sample images load with their documented sizes") {
    struct Expect {
        const char* name;
        int w, h;
    };
    const Expect expect[] = {{"tubingen.jpg", 1024, 768},       {"shipwreck.jpg", 960, 662},
                             {"starry_night.jpg", 1024, 640},   {"the_scream.jpg", 1200, 1528},
                             {"seated-nude.jpg", 650, 845},     {"composition_vii.jpg", 1024, 768}};
    REQUIRE_MESSAGE(test::file_exists(test::shared_image("tubingen.jpg")),
                    "the paper's images are expected at " << test::shared_image(""));
    for (const auto& e : expect) {
        CAPTURE(e.name);
        const Tensor<float> img = load_image(test::shared_image(e.name));
        REQUIRE(img.shape() == Shape{1, 3, e.h, e.w});
        double mean[3] = {0, 0, 0};
        float lo = 1, hi = 0;
        const std::size_t plane = img.shape().plane();
        for (int c = 0; c < 3; ++c)
            for (std::size_t i = 0; i < plane; ++i) {
                const float v = img[c * plane + i];
                mean[c] += v;
                lo = std::min(lo, v);
                hi = std::max(hi, v);
            }
        for (double& m : mean) m /= double(plane);
        CHECK(lo >= 0.f);
        CHECK(hi <= 1.f);
        CHECK(hi - lo > 0.5f);  // real photographs/paintings span most of the range
        for (double m : mean) {
            CHECK(m > 0.05);
            CHECK(m < 0.95);
        }
        // Colour images: the channels are not identical.
        CHECK((std::abs(mean[0] - mean[1]) > 1e-3 || std::abs(mean[1] - mean[2]) > 1e-3));
        // Every value is an 8-bit level k/255.
        for (std::size_t i = 0; i < img.numel(); i += 9973) {
            const float k = std::round(img[i] * 255.f);
            REQUIRE(img[i] == k / 255.f);
        }
    }
    // Tübingen: the sky at the top is brighter and bluer than the river bank at the bottom.
    const Tensor<float> t = load_image(test::shared_image("tubingen.jpg"));
    auto region_mean = [&](int c, int y0, int y1) {
        double s = 0;
        for (int y = y0; y < y1; ++y)
            for (int x = 0; x < 1024; ++x) s += t.view().at(0, c, y, x);
        return s / double((y1 - y0) * 1024);
    };
    CHECK(region_mean(2, 0, 100) > region_mean(0, 0, 100));      // sky: blue above red
    CHECK(region_mean(2, 0, 100) > region_mean(2, 668, 768));    // top brighter in blue than bottom
}

// ---- resizing and size rules -------------------------------------------------------------------

TEST_CASE("image: target sizes per rule") {
    int h = 0, w = 0;
    // tubingen is 1024 wide, 768 high.
    target_size(768, 1024, 512, SizeRule::Max, h, w);
    CHECK(h == 384);
    CHECK(w == 512);
    target_size(768, 1024, 512, SizeRule::Short, h, w);
    CHECK(h == 512);
    CHECK(w == 683);  // 682.67
    target_size(768, 1024, 512, SizeRule::Area, h, w);
    CHECK(h == 443);  // 768 * 512 / sqrt(768 * 1024) = 443.4
    CHECK(w == 591);  // 591.2
    // Portrait: the_scream is 1200 wide, 1528 high.
    target_size(1528, 1200, 512, SizeRule::Max, h, w);
    CHECK(h == 512);
    CHECK(w == 402);  // 402.09
    target_size(1528, 1200, 512, SizeRule::Short, h, w);
    CHECK(w == 512);
    CHECK(h == 652);  // 651.95
    // Halves round up; sides never reach 0.
    target_size(2, 3, 1, SizeRule::Max, h, w);
    CHECK(w == 1);
    CHECK(h == 1);  // 0.67
    target_size(1, 1000, 10, SizeRule::Max, h, w);
    CHECK(h == 1);  // 0.01
    CHECK(w == 10);
    target_size(3, 4, 6, SizeRule::Max, h, w);
    CHECK(h == 5);  // 4.5
    CHECK(w == 6);
    // Same size: unchanged.
    target_size(768, 1024, 1024, SizeRule::Max, h, w);
    CHECK(h == 768);
    CHECK(w == 1024);

    error_of([&] { target_size(768, 1024, 0, SizeRule::Max, h, w); }, ExitCode::Usage);
    error_of([&] { target_size(768, 1024, 2000000, SizeRule::Max, h, w); }, ExitCode::Input);
}

TEST_CASE("image: parse_size_rule") {
    CHECK(parse_size_rule("max") == SizeRule::Max);
    CHECK(parse_size_rule("short") == SizeRule::Short);
    CHECK(parse_size_rule("area") == SizeRule::Area);
    const std::string msg = error_of([] { parse_size_rule("longest"); }, ExitCode::Usage);
    CHECK(contains(msg, "longest"));
    error_of([] { parse_size_rule("MAX"); }, ExitCode::Usage);
}

TEST_CASE("image: resize keeps constants and identity is a copy") {
    Tensor<float> img(Shape{1, 3, 13, 17});
    const float value[3] = {0.25f, 0.5f, 0.875f};
    for (int c = 0; c < 3; ++c)
        for (int i = 0; i < 13 * 17; ++i) img[c * 13 * 17 + i] = value[c];
    for (auto [oh, ow] : {std::pair{4, 5}, std::pair{40, 33}, std::pair{13, 30}, std::pair{1, 1}}) {
        CAPTURE(oh);
        CAPTURE(ow);
        const Tensor<float> r = resize_image(img, oh, ow);
        REQUIRE(r.shape() == Shape{1, 3, oh, ow});
        for (int c = 0; c < 3; ++c)
            for (int i = 0; i < oh * ow; ++i) REQUIRE(std::abs(r[c * oh * ow + i] - value[c]) < 1e-6f);
    }
    const Tensor<float> rnd = test::random_tensor<float>(Shape{1, 3, 6, 9}, 5, 0, 1);
    const Tensor<float> same = resize_image(rnd, 6, 9);
    for (std::size_t i = 0; i < rnd.numel(); ++i) REQUIRE(same[i] == rnd[i]);
}

TEST_CASE("image: downscaling is antialiased") {
    // A 1-pixel checkerboard: its mean is 0.5 everywhere. Point sampling (nearest neighbour)
    // at a 4x reduction would see only one colour; a filter that widens with the scale factor
    // averages the pattern away.
    const int n = 64;
    Tensor<float> img(Shape{1, 3, n, n});
    for (int c = 0; c < 3; ++c)
        for (int y = 0; y < n; ++y)
            for (int x = 0; x < n; ++x) img.view().at(0, c, y, x) = float((x + y) % 2);
    const Tensor<float> r = resize_image(img, n / 4, n / 4);
    float lo = 1, hi = 0;
    for (float v : r) {
        lo = std::min(lo, v);
        hi = std::max(hi, v);
    }
    CHECK(lo > 0.45f);
    CHECK(hi < 0.55f);

    // A smooth ramp stays close to the ramp sampled at the output pixel centres.
    Tensor<float> ramp(Shape{1, 1, 1, 400});
    for (int x = 0; x < 400; ++x) ramp[x] = (x + 0.5f) / 400.f;
    const Tensor<float> small = resize_image(ramp, 1, 100);
    for (int x = 5; x < 95; ++x) CHECK(std::abs(small[x] - (x + 0.5f) / 100.f) < 1e-3f);
}

// ---- output errors -----------------------------------------------------------------------------

TEST_CASE("image: save_image refuses unsupported formats and depths") {
    const std::string dir = test::temp_dir("image_save_errors");
    const Tensor<float> img = grid_image(2, 2, 4);
    std::string msg = error_of([&] { save_image(dir + "/a.gif", img); }, ExitCode::Usage);
    CHECK(contains(msg, ".gif"));
    CHECK(contains(msg, ".png"));
    CHECK(contains(msg, ".jpg"));
    error_of([&] { save_image(dir + "/noext", img); }, ExitCode::Usage);
    msg = error_of([&] { save_image(dir + "/a.jpg", img, 16); }, ExitCode::Usage);
    CHECK(contains(msg, "a.jpg"));
    error_of([&] { save_image(dir + "/a.png", img, 12); }, ExitCode::Usage);
    msg = error_of([&] { save_image(dir + "/missing/a.png", img); }, ExitCode::Input);
    CHECK(contains(msg, "missing/a.png"));
    CHECK(std::filesystem::is_empty(dir));
}

// ---- input errors ------------------------------------------------------------------------------

TEST_CASE("image: bad inputs are input errors naming the file") {
    const std::string dir = test::temp_dir("image_bad");
    const Tensor<float> img = grid_image(32, 40, 6);
    save_image(dir + "/good.png", img);
    save_image(dir + "/good.jpg", img);
    const std::string png = test::read_file(dir + "/good.png");
    const std::string jpg = test::read_file(dir + "/good.jpg");

    auto expect_input_error = [&](const std::string& path, const std::string& what) {
        CAPTURE(path);
        const std::string msg = error_of([&] { load_image(path); }, ExitCode::Input);
        CHECK(contains(msg, path));
        if (!what.empty()) CHECK(contains(msg, what));
        CHECK(!contains(msg, "\n"));
    };

    expect_input_error(dir + "/missing.png", "not found");
    expect_input_error(dir, "directory");
    test::write_file(dir + "/empty.png", "");
    expect_input_error(dir + "/empty.png", "empty");
    std::string noise;
    for (int i = 0; i < 1000; ++i) noise += char(rng::bits(7, 1, i) & 0xFF);
    test::write_file(dir + "/noise.png", noise);
    expect_input_error(dir + "/noise.png", "corrupt or unsupported");
    test::write_file(dir + "/text.jpg", "this is not an image\n");
    expect_input_error(dir + "/text.jpg", "corrupt or unsupported");

    // Truncations: a few bytes short (IEND / EOI missing), half, and just past the header.
    for (std::size_t keep : {png.size() - 4, png.size() - 13, png.size() / 2, std::size_t(40), std::size_t(8)}) {
        test::write_file(dir + "/cut.png", png.substr(0, keep));
        expect_input_error(dir + "/cut.png", "");
    }
    for (std::size_t keep : {jpg.size() - 2, jpg.size() - 50, jpg.size() / 2, std::size_t(200), std::size_t(3)}) {
        test::write_file(dir + "/cut.jpg", jpg.substr(0, keep));
        expect_input_error(dir + "/cut.jpg", "");
    }
    // ... and of a real photograph.
    if (test::file_exists(test::shared_image("tubingen.jpg"))) {
        const std::string photo = test::read_file(test::shared_image("tubingen.jpg"));
        test::write_file(dir + "/tubingen_cut.jpg", photo.substr(0, photo.size() * 3 / 4));
        expect_input_error(dir + "/tubingen_cut.jpg", "truncated");
    }

    // A FIFO must be refused, not block waiting for a writer.
    REQUIRE(::mkfifo((dir + "/fifo.png").c_str(), 0600) == 0);
    expect_input_error(dir + "/fifo.png", "regular");
}

TEST_CASE("image: jpeg structure walk finds cuts in multi-scan files") {
    // A synthetic progressive-style stream: SOI, an APP1 holding a thumbnail (with its own
    // EOI, which must not count), two scans separated by a DHT, entropy data with a stuffed
    // 0xFF00, a restart marker and fill bytes, then EOI and trailing junk.
    const std::string thumb = std::string("\xFF\xD8\x01\x02\xFF\xD9", 6);
    std::string app1 = std::string("\xFF\xE1", 2) + be16(unsigned(2 + 6 + thumb.size())) + std::string("Exif\0\0", 6) + thumb;
    const std::string dht = std::string("\xFF\xC4", 2) + be16(5) + "abc";
    const std::string sos = std::string("\xFF\xDA", 2) + be16(4) + "xy";
    const std::string scan1 = std::string("\x11\x22\xFF\x00\x33\xFF\xD0\x44\xFF\xFF", 10);
    const std::string scan2 = std::string("\x55\xFF\x00\x66", 4);
    const std::string head = std::string("\xFF\xD8", 2) + app1;
    const std::string full = head + sos + scan1 + dht + sos + scan2 + std::string("\xFF\xD9", 2) + "junk";
    auto check = [](const std::string& b) {
        return find_truncation(reinterpret_cast<const unsigned char*>(b.data()), b.size());
    };
    CHECK(check(full) == nullptr);
    // Every cut before the final EOI is detected, including right after the thumbnail's EOI.
    const std::size_t eoi = full.size() - 6;
    for (std::size_t keep = 3; keep < eoi + 2; ++keep) {
        CAPTURE(keep);
        CHECK(check(full.substr(0, keep)) != nullptr);
    }
    CHECK(check(full.substr(0, eoi + 2)) == nullptr);
}

TEST_CASE("image: headers claiming huge images are refused before decoding") {
    const std::string dir = test::temp_dir("image_huge");
    // PNG: 100000 x 100000 RGB, with one row of data.
    test::write_file(dir + "/huge.png", make_png(100000, 100000, 8, 2, {std::string(300000, '\0')}));
    std::string msg = error_of([&] { load_image(dir + "/huge.png"); }, ExitCode::Input);
    CHECK(contains(msg, "huge.png"));
    CHECK(contains(msg, "too large"));

    // BMP: BITMAPINFOHEADER claiming 100000 x 100000 x 24 bit, no pixel data.
    std::string bmp = "BM";
    auto le32 = [](std::uint32_t v) { return std::string{char(v), char(v >> 8), char(v >> 16), char(v >> 24)}; };
    auto le16 = [](unsigned v) { return std::string{char(v), char(v >> 8)}; };
    bmp += le32(54) + le32(0) + le32(54);
    bmp += le32(40) + le32(100000) + le32(100000) + le16(1) + le16(24) + le32(0) + le32(0) + le32(2835) +
           le32(2835) + le32(0) + le32(0);
    test::write_file(dir + "/huge.bmp", bmp);
    msg = error_of([&] { load_image(dir + "/huge.bmp"); }, ExitCode::Input);
    CHECK(contains(msg, "huge.bmp"));

    // JPEG: SOI, a baseline SOF0 claiming 60000 x 60000 x 3 components, EOI.
    std::string jpg = "\xFF\xD8\xFF\xC0";
    jpg += std::string{0, 17, 8} + be16(60000) + be16(60000) + std::string{3, 1, 0x11, 0, 2, 0x11, 0, 3, 0x11, 0};
    jpg += "\xFF\xD9";
    test::write_file(dir + "/huge.jpg", jpg);
    msg = error_of([&] { load_image(dir + "/huge.jpg"); }, ExitCode::Input);
    CHECK(contains(msg, "huge.jpg"));
}

TEST_CASE("image: mutated files never crash the decoder") {
    // Random byte changes and cuts of valid files: each load either succeeds or throws an
    // input error; anything else (another exception, a crash) fails the test.
    const std::string dir = test::temp_dir("image_fuzz");
    const Tensor<float> img = grid_image(16, 24, 8);
    save_image(dir + "/a.png", img);
    save_image(dir + "/a.jpg", img);
    const std::vector<std::uint8_t> px = quantize_rgb8(img);
    REQUIRE(stbi_write_bmp((dir + "/a.bmp").c_str(), 24, 16, 3, px.data()) != 0);
    REQUIRE(stbi_write_tga((dir + "/a.tga").c_str(), 24, 16, 3, px.data()) != 0);
    int loaded = 0, refused = 0;
    std::uint64_t counter = 0;
    for (const char* name : {"a.png", "a.jpg", "a.bmp", "a.tga"}) {
        const std::string orig = test::read_file(dir + "/" + name);
        for (int trial = 0; trial < 150; ++trial) {
            std::string bytes = orig;
            const int edits = 1 + int(rng::bits(9, 0, counter++) % 8);
            for (int e = 0; e < edits; ++e) {
                const std::size_t at = rng::bits(9, 1, counter++) % bytes.size();
                bytes[at] = char(rng::bits(9, 2, counter++) & 0xFF);
            }
            if (trial % 3 == 0) bytes.resize(1 + rng::bits(9, 3, counter++) % bytes.size());
            const std::string path = dir + "/fuzz_" + name;
            test::write_file(path, bytes);
            try {
                const Tensor<float> t = load_image(path);
                CHECK(t.shape().c == 3);
                ++loaded;
            } catch (const Error& err) {
                CHECK(int(err.code()) == int(ExitCode::Input));
                CHECK(contains(err.what(), path));
                ++refused;
            }
        }
    }
    MESSAGE("mutated files: " << loaded << " decoded, " << refused << " refused");
    CHECK(refused > 0);
}

// Root ignores permission bits, so there the case is reported as skipped.
TEST_CASE("image: an unreadable file is an input error" * doctest::skip(::geteuid() == 0)) {
    const std::string dir = test::temp_dir("image_perm");
    save_image(dir + "/a.png", grid_image(2, 2, 9));
    ::chmod((dir + "/a.png").c_str(), 0);
    const std::string msg = error_of([&] { load_image(dir + "/a.png"); }, ExitCode::Input);
    CHECK(contains(msg, "permission denied"));
}
