// SPDX-License-Identifier: MIT
// .npy reading and writing. Headers are written out by hand here, byte by byte, and one file
// is the exact output of numpy.save (see kNumpyF4), so that reader and writer are checked
// against the format rather than against each other.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "core/error.h"
#include "io/npy.h"
#include "test_errors.h"
#include "test_util.h"

using namespace nst;
using nst::test::contains;
using nst::test::error_of;

namespace {

std::string le_bytes(const void* p, std::size_t n) { return std::string(static_cast<const char*>(p), n); }

std::string f32_bytes(const std::vector<float>& v) { return le_bytes(v.data(), v.size() * 4); }
std::string f64_bytes(const std::vector<double>& v) { return le_bytes(v.data(), v.size() * 8); }

// A version 1.0 file with the dict padded by spaces to a 64-byte boundary and ended by '\n'.
std::string npy_v1(const std::string& dict, const std::string& payload) {
    std::size_t total = 10 + dict.size() + 1;
    total = (total + 63) / 64 * 64;
    const std::string header = dict + std::string(total - 10 - dict.size() - 1, ' ') + "\n";
    const std::size_t len = header.size();
    return std::string("\x93NUMPY\x01\x00", 8) + char(len & 0xFF) + char(len >> 8) + header + payload;
}

// Version 2.0 or 3.0: a 32-bit header length.
std::string npy_v2(int major, const std::string& dict, const std::string& payload) {
    const std::string header = dict + "\n";
    const std::size_t len = header.size();
    std::string out = std::string("\x93NUMPY", 6) + char(major) + '\0';
    for (int k = 0; k < 4; ++k) out += char((len >> (8 * k)) & 0xFF);
    return out + header + payload;
}

// The exact bytes numpy.save writes for
//   np.array([[1.1, 2.2, 3.3, 4.4], [9.9, 8.8, 7.7, 6.6]], dtype=np.float32)
// (format 1.0; header length 118 = 0x76, so that magic + header = 128 bytes; the same in
// numpy 1.x and 2.x for this shape). numpy is not a dependency of this project, so the bytes
// are spelled out here rather than regenerated.
const std::string& numpy_f4_bytes() {
    static const std::string bytes =
        std::string("\x93NUMPY\x01\x00\x76\x00", 10) + "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 4), }" +
        std::string(58, ' ') + "\n" +
        std::string("\xcd\xcc\x8c\x3f\xcd\xcc\x0c\x40\x33\x33\x53\x40\xcd\xcc\x8c\x40"
                    "\x66\x66\x1e\x41\xcd\xcc\x0c\x41\x66\x66\xf6\x40\x33\x33\xd3\x40",
                    32);
    return bytes;
}

}  // namespace

TEST_CASE("npy: reads the bytes numpy.save writes") {
    const std::string dir = test::temp_dir("npy_numpy");
    REQUIRE(numpy_f4_bytes().size() == 160);
    test::write_file(dir + "/np.npy", numpy_f4_bytes());
    const NpyArray a = load_npy(dir + "/np.npy");
    CHECK(a.shape == std::vector<std::int64_t>{2, 4});
    const std::vector<float> expect = {1.1f, 2.2f, 3.3f, 4.4f, 9.9f, 8.8f, 7.7f, 6.6f};
    CHECK(a.data == expect);
}

TEST_CASE("npy: save_npy writes what numpy.save writes") {
    const std::string dir = test::temp_dir("npy_write_numpy");
    const std::vector<float> v = {1.1f, 2.2f, 3.3f, 4.4f, 9.9f, 8.8f, 7.7f, 6.6f};
    save_npy(dir + "/ours.npy", v.data(), {2, 4});
    CHECK(test::read_file(dir + "/ours.npy") == numpy_f4_bytes());
}

TEST_CASE("npy: header layout") {
    const std::string dir = test::temp_dir("npy_header");
    const std::vector<float> v(60, 0.5f);
    save_npy(dir + "/a.npy", v.data(), {1, 3, 4, 5});
    const std::string b = test::read_file(dir + "/a.npy");
    REQUIRE(b.size() > 10);
    CHECK(b.substr(0, 6) == "\x93NUMPY");
    CHECK(int(b[6]) == 1);
    CHECK(int(b[7]) == 0);
    const std::size_t hlen = std::size_t((unsigned char)b[8]) | (std::size_t((unsigned char)b[9]) << 8);
    CHECK((10 + hlen) % 64 == 0);
    REQUIRE(b.size() == 10 + hlen + 60 * 4);
    CHECK(b[10 + hlen - 1] == '\n');
    const std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 4, 5), }";
    CHECK(b.substr(10, dict.size()) == dict);
    for (std::size_t i = 10 + dict.size(); i < 10 + hlen - 1; ++i) REQUIRE(b[i] == ' ');
}

TEST_CASE("npy: round trip of several ranks") {
    const std::string dir = test::temp_dir("npy_roundtrip");
    const std::vector<std::vector<std::int64_t>> shapes = {{1, 3, 4, 5}, {7, 7}, {5}, {}, {0, 3}, {2, 1, 1, 1, 3}};
    int k = 0;
    for (const auto& shape : shapes) {
        std::size_t n = 1;
        for (auto d : shape) n *= std::size_t(d);
        std::vector<float> v(n);
        for (std::size_t i = 0; i < n; ++i) v[i] = float(i) * 0.25f - 3.f + (i % 3 ? 1e-7f : -1e30f);
        const std::string path = dir + "/r" + std::to_string(k++) + ".npy";
        save_npy(path, v.data(), shape);
        const NpyArray a = load_npy(path);
        CHECK(a.shape == shape);
        REQUIRE(a.data.size() == n);
        if (n) CHECK(std::memcmp(a.data.data(), v.data(), n * 4) == 0);
    }
    // One-element tuples are written the Python way.
    const float one = 1.f;
    save_npy(dir + "/one.npy", &one, {1});
    CHECK(contains(test::read_file(dir + "/one.npy"), "'shape': (1,), }"));
    save_npy(dir + "/scalar.npy", &one, {});
    CHECK(contains(test::read_file(dir + "/scalar.npy"), "'shape': (), }"));
}

TEST_CASE("npy: accepted header variants") {
    const std::string dir = test::temp_dir("npy_variants");
    const std::vector<float> v = {1.f, -2.f, 3.5f, 0.f, 7.f, 8.f};
    const std::string payload = f32_bytes(v);
    const std::vector<std::string> files = {
        // version 2.0 and 3.0
        npy_v2(2, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", payload),
        npy_v2(3, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", payload),
        // other key order, double quotes, no trailing comma, no spaces, Python 2 longs
        npy_v1("{\"shape\":(2L,3L),\"fortran_order\":False,\"descr\":\"<f4\"}", payload),
        npy_v1("{'fortran_order': False, 'descr': '<f4', 'shape': (2, 3)}", payload),
        // trailing bytes after the data are ignored (as numpy.load does)
        npy_v1("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", payload + "garbage"),
        // a header padded to 16 bytes, as numpy < 1.14 wrote it
        std::string("\x93NUMPY\x01\x00\x46\x00", 10) + "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }" +
            std::string(10, ' ') + "\n" + payload,
    };
    int k = 0;
    for (const auto& bytes : files) {
        CAPTURE(k);
        const std::string path = dir + "/v" + std::to_string(k++) + ".npy";
        test::write_file(path, bytes);
        const NpyArray a = load_npy(path);
        CHECK(a.shape == std::vector<std::int64_t>{2, 3});
        CHECK(a.data == v);
    }
}

TEST_CASE("npy: float64 is converted to float32") {
    const std::string dir = test::temp_dir("npy_f8");
    // numpy.save(np.array([2.5, -1.0])): '<f8', shape (2,).
    const std::string bytes = npy_v1("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }",
                                     std::string("\0\0\0\0\0\0\x04\x40\0\0\0\0\0\0\xf0\xbf", 16));
    test::write_file(dir + "/a.npy", bytes);
    NpyArray a = load_npy(dir + "/a.npy");
    CHECK(a.shape == std::vector<std::int64_t>{2});
    CHECK(a.data == std::vector<float>{2.5f, -1.f});
    // Rounding to nearest float.
    const std::vector<double> d = {0.1, 1.0 / 3.0, -1e-40, 123456789.0};
    test::write_file(dir + "/b.npy", npy_v1("{'descr': '<f8', 'fortran_order': False, 'shape': (4,), }", f64_bytes(d)));
    a = load_npy(dir + "/b.npy");
    for (std::size_t i = 0; i < d.size(); ++i) CHECK(a.data[i] == float(d[i]));
}

TEST_CASE("npy: malformed and unsupported files are input errors naming the file") {
    const std::string dir = test::temp_dir("npy_bad");
    const std::string p6 = f32_bytes({1, 2, 3, 4, 5, 6});
    struct Bad {
        const char* name;
        std::string bytes;
        const char* why;  // part of the expected message
    };
    const std::string ok_dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
    const std::vector<Bad> bad = {
        {"fortran", npy_v1("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", p6), "Fortran"},
        {"bigendian", npy_v1("{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }", p6), "big-endian"},
        {"int32", npy_v1("{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3), }", p6), "'<i4'"},
        {"uint8", npy_v1("{'descr': '|u1', 'fortran_order': False, 'shape': (2, 3), }", p6), "dtype"},
        {"f2", npy_v1("{'descr': '<f2', 'fortran_order': False, 'shape': (2, 3), }", p6), "dtype"},
        {"structured", npy_v1("{'descr': [('x', '<f4')], 'fortran_order': False, 'shape': (2, 3), }", p6), "dtype"},
        {"short_data", npy_v1(ok_dict, p6.substr(0, 23)), "truncated"},
        {"no_data", npy_v1(ok_dict, ""), "truncated"},
        {"short_header", npy_v1(ok_dict, p6).substr(0, 40), "truncated"},
        {"magic", std::string("\x93NUMPZ\x01\x00\x10\x00", 10) + "{}" + std::string(13, ' ') + "\n", "magic"},
        {"tiny", "\x93NUM", "magic"},
        {"version", std::string("\x93NUMPY\x04\x00\x10\x00", 10) + "{}" + std::string(13, ' ') + "\n", "version"},
        {"negative", npy_v1("{'descr': '<f4', 'fortran_order': False, 'shape': (2, -3), }", p6), "negative"},
        {"huge_dim", npy_v1("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }", p6),
         "too large"},
        {"overflow", npy_v1("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 16), }", p6),
         "too large"},
        {"big_claim", npy_v1("{'descr': '<f4', 'fortran_order': False, 'shape': (100000, 100000), }", p6), "truncated"},
        {"float_dim", npy_v1("{'descr': '<f4', 'fortran_order': False, 'shape': (2.0, 3), }", p6), "malformed"},
        {"missing_key", npy_v1("{'descr': '<f4', 'shape': (2, 3), }", p6), "malformed"},
        {"unknown_key", npy_v1("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'x': 1}", p6), "malformed"},
        {"repeated_key", npy_v1("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}", p6),
         "malformed"},
        {"not_dict", npy_v1("['descr', '<f4']", p6), "dict"},
        {"unclosed", npy_v1("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)", p6), "malformed"},
        {"after_dict", npy_v1(ok_dict + " x", p6), "malformed"},
        {"bool", npy_v1("{'descr': '<f4', 'fortran_order': 0, 'shape': (2, 3), }", p6), "malformed"},
        {"tuple", npy_v1("{'descr': '<f4', 'fortran_order': False, 'shape': [2, 3], }", p6), "malformed"},
        {"empty_elem", npy_v1("{'descr': '<f4', 'fortran_order': False, 'shape': (2,, 3), }", p6), "malformed"},
        {"quote", npy_v1("{'descr: '<f4', 'fortran_order': False, 'shape': (2, 3), }", p6), "malformed"},
    };
    for (const auto& b : bad) {
        CAPTURE(b.name);
        const std::string path = dir + "/" + b.name + ".npy";
        test::write_file(path, b.bytes);
        const std::string msg = error_of([&] { load_npy(path); }, ExitCode::Input);
        CHECK(contains(msg, path));
        CHECK(contains(msg, b.why));
    }
    error_of([&] { load_npy(dir + "/missing.npy"); }, ExitCode::Input);
    error_of([&] { load_npy(dir); }, ExitCode::Input);
    test::write_file(dir + "/empty.npy", "");
    error_of([&] { load_npy(dir + "/empty.npy"); }, ExitCode::Input);
}

TEST_CASE("npy: load_npy_image checks shape and finiteness") {
    const std::string dir = test::temp_dir("npy_image");
    std::vector<float> v(1 * 3 * 2 * 4);
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = float(i) - 100.f;  // preprocessed values: any range
    save_npy(dir + "/ok.npy", v.data(), {1, 3, 2, 4});
    const Tensor<float> t = load_npy_image(dir + "/ok.npy");
    CHECK(t.shape() == Shape{1, 3, 2, 4});
    for (std::size_t i = 0; i < v.size(); ++i) REQUIRE(t[i] == v[i]);

    // float64 input is fine too.
    std::vector<double> d(v.begin(), v.end());
    test::write_file(dir + "/f8.npy",
                     npy_v1("{'descr': '<f8', 'fortran_order': False, 'shape': (1, 3, 2, 4), }", f64_bytes(d)));
    CHECK(load_npy_image(dir + "/f8.npy").shape() == Shape{1, 3, 2, 4});

    for (const auto& shape : std::vector<std::vector<std::int64_t>>{{3, 2, 4}, {1, 4, 2, 3}, {2, 3, 2, 2}, {1, 3, 8}, {24}}) {
        save_npy(dir + "/shape.npy", v.data(), shape);
        const std::string msg = error_of([&] { load_npy_image(dir + "/shape.npy"); }, ExitCode::Input);
        CHECK(contains(msg, "shape.npy"));
        CHECK(contains(msg, "(1, 3, H, W)"));
    }
    std::vector<float> zero;
    save_npy(dir + "/empty_img.npy", zero.data(), {1, 3, 0, 4});
    error_of([&] { load_npy_image(dir + "/empty_img.npy"); }, ExitCode::Input);

    const float bad_values[] = {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                                -std::numeric_limits<float>::infinity()};
    for (float bad : bad_values) {
        std::vector<float> w = v;
        w[17] = bad;
        save_npy(dir + "/nan.npy", w.data(), {1, 3, 2, 4});
        const std::string msg = error_of([&] { load_npy_image(dir + "/nan.npy"); }, ExitCode::Input);
        CHECK(contains(msg, "nan.npy"));
        CHECK(contains(msg, "17"));
    }
    // A float64 beyond the float32 range would become infinite.
    d[3] = 1e300;
    test::write_file(dir + "/big.npy",
                     npy_v1("{'descr': '<f8', 'fortran_order': False, 'shape': (1, 3, 2, 4), }", f64_bytes(d)));
    error_of([&] { load_npy_image(dir + "/big.npy"); }, ExitCode::Input);
}

TEST_CASE("npy: save_npy is atomic and reports bad paths") {
    const std::string dir = test::temp_dir("npy_save");
    const std::vector<float> v = {1, 2, 3};
    const std::string msg = error_of([&] { save_npy(dir + "/nope/a.npy", v.data(), {3}); }, ExitCode::Input);
    CHECK(contains(msg, "nope/a.npy"));
    save_npy(dir + "/a.npy", v.data(), {3});
    save_npy(dir + "/a.npy", v.data(), {1, 3});
    CHECK(load_npy(dir + "/a.npy").shape == std::vector<std::int64_t>{1, 3});
    int files = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
        (void)e;
        ++files;
    }
    CHECK(files == 1);
}
