// SPDX-License-Identifier: MIT
// safetensors reading/writing and VGG19 weights (spec §3). Files are built here byte by byte by a
// small writer independent of the library's, so a bug shared by reader and writer cannot hide.
// Files whose data does not matter (header-level errors, metadata) are written sparse: header,
// then the file extended with zeros, which costs no disk and no time although VGG19 is 80 MB.
#include <doctest/doctest.h>

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/rng.h"
#include "nn/safetensors.h"
#include "nn/weights.h"
#include "test_errors.h"
#include "test_util.h"

using namespace nst;
using nst::test::contains;
using nst::test::error_of;

namespace {

// --- an independent little safetensors writer ---------------------------------------------

struct Desc {
    std::string name, dtype;
    std::vector<long long> shape;
    std::uint64_t begin = 0, end = 0;
};

std::string header_json(const std::vector<Desc>& descs, const std::string& metadata_json = "") {
    std::string h = "{";
    bool first = true;
    if (!metadata_json.empty()) {
        h += "\"__metadata__\": " + metadata_json;
        first = false;
    }
    for (const auto& d : descs) {
        h += first ? "" : ", ";
        first = false;
        h += "\"" + d.name + "\": {\"dtype\": \"" + d.dtype + "\", \"shape\": [";
        for (std::size_t i = 0; i < d.shape.size(); ++i) h += (i ? ", " : "") + std::to_string(d.shape[i]);
        h += "], \"data_offsets\": [" + std::to_string(d.begin) + ", " + std::to_string(d.end) + "]}";
    }
    return h + "}";
}

std::string le64(std::uint64_t n) {
    std::string s(8, '\0');
    for (int i = 0; i < 8; ++i) s[i] = char((n >> (8 * i)) & 0xff);
    return s;
}

// Length + header + data; with total_size > the bytes given, the file is extended (sparse zeros).
void write_st(const std::string& path, const std::string& header, const std::string& data,
              std::uint64_t total_data = 0) {
    test::write_file(path, le64(header.size()) + header + data);
    if (total_data > data.size()) std::filesystem::resize_file(path, 8 + header.size() + total_data);
}

// Overwrites bytes at a file offset (to plant a NaN in a sparse file).
void patch(const std::string& path, std::uint64_t offset, const void* bytes, std::size_t n) {
    std::FILE* f = std::fopen(path.c_str(), "r+b");
    REQUIRE(f);
    REQUIRE(std::fseek(f, long(offset), SEEK_SET) == 0);
    REQUIRE(std::fwrite(bytes, 1, n, f) == n);
    std::fclose(f);
}

std::string f32_bytes(const std::vector<float>& v) {
    std::string s(v.size() * 4, '\0');
    std::memcpy(s.data(), v.data(), s.size());
    return s;
}

// Lays out tensors back to back from offset 0.
std::vector<Desc> sequential(std::vector<Desc> descs, std::size_t esize_default = 4) {
    std::uint64_t off = 0;
    for (auto& d : descs) {
        std::uint64_t n = 1;
        for (auto x : d.shape) n *= std::uint64_t(x);
        const std::size_t es = d.dtype == "F64" ? 8 : (d.dtype == "F16" || d.dtype == "BF16") ? 2 : esize_default;
        d.begin = off;
        d.end = off + n * es;
        off = d.end;
    }
    return descs;
}

// --- VGG19 files --------------------------------------------------------------------------

const int kTorchvisionIndex[16] = {0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34};
const char* kConvNames[16] = {"conv1_1", "conv1_2", "conv2_1", "conv2_2", "conv3_1", "conv3_2", "conv3_3", "conv3_4",
                              "conv4_1", "conv4_2", "conv4_3", "conv4_4", "conv5_1", "conv5_2", "conv5_3", "conv5_4"};
const int kOut[16] = {64, 64, 128, 128, 256, 256, 256, 256, 512, 512, 512, 512, 512, 512, 512, 512};
int in_ch(int k) { return k == 0 ? 3 : kOut[k - 1]; }
constexpr std::uint64_t kVggDataBytes = 80097536;  // 20,024,384 float32 parameters

std::string vgg_name(bool torchvision, int k, const char* what) {
    return torchvision ? "features." + std::to_string(kTorchvisionIndex[k]) + "." + what
                       : std::string(kConvNames[k]) + "." + what;
}

// conv1_1.weight, conv1_1.bias, ..., conv5_4.bias, F32, back to back.
std::vector<Desc> vgg_descs(bool torchvision) {
    std::vector<Desc> d;
    for (int k = 0; k < 16; ++k) {
        d.push_back({vgg_name(torchvision, k, "weight"), "F32", {kOut[k], in_ch(k), 3, 3}});
        d.push_back({vgg_name(torchvision, k, "bias"), "F32", {kOut[k]}});
    }
    return sequential(d);
}

// Ramp values, exact in float: element j of conv k's weight (bias: b = 1).
float ramp(int k, int b, std::size_t j) { return float(long((j * 131 + k * 17 + b * 5) % 2001) - 1000) / 1024.f; }

const std::string& vgg_ramp_data() {
    static const std::string data = [] {
        std::string s;
        s.reserve(kVggDataBytes);
        for (int k = 0; k < 16; ++k)
            for (int b = 0; b < 2; ++b) {
                const std::size_t n = b ? kOut[k] : std::size_t(kOut[k]) * in_ch(k) * 9;
                std::vector<float> v(n);
                for (std::size_t j = 0; j < n; ++j) v[j] = ramp(k, b, j);
                s += f32_bytes(v);
            }
        return s;
    }();
    return data;
}

void check_ramp(const Vgg19Weights& w) {
    std::size_t bad = 0;
    for (int k = 0; k < 16; ++k) {
        REQUIRE(w.conv[k].weight.shape() == Shape{kOut[k], in_ch(k), 3, 3});
        REQUIRE(w.conv[k].bias.shape() == Shape{1, kOut[k], 1, 1});
        for (std::size_t j = 0; j < w.conv[k].weight.numel(); ++j) bad += w.conv[k].weight[j] != ramp(k, 0, j);
        for (std::size_t j = 0; j < w.conv[k].bias.numel(); ++j) bad += w.conv[k].bias[j] != ramp(k, 1, j);
    }
    CHECK(bad == 0);
}

const Desc& find_desc(const std::vector<Desc>& d, const std::string& name) {
    for (const auto& x : d)
        if (x.name == name) return x;
    FAIL("no desc " << name);
    return d[0];
}

// A sparse all-zero VGG file with the given header tweaks (for errors and metadata).
std::string sparse_vgg(const std::string& dir, const std::string& file, const std::vector<Desc>& descs,
                       const std::string& metadata_json = "") {
    const std::string path = dir + "/" + file;
    std::uint64_t end = 0;
    for (const auto& d : descs) end = std::max(end, d.end);
    write_st(path, header_json(descs, metadata_json), "", end);
    return path;
}

// Runs f, requires an nst::Error of the given class, and returns its one-line message.
std::uint32_t bits_of(float f) {
    std::uint32_t u;
    std::memcpy(&u, &f, 4);
    return u;
}

}  // namespace

// --- VGG19 weight files -------------------------------------------------------------------

TEST_CASE("weights: canonical safetensors file loads every value") {
    const std::string dir = test::temp_dir("weights_canonical");
    const std::string path = dir + "/vgg.safetensors";
    write_st(path, header_json(vgg_descs(false)), vgg_ramp_data());

    const Vgg19Weights w = load_weights(path);
    check_ramp(w);
    CHECK(w.preprocess == PreprocessKind::Caffe);  // canonical names, no metadata
    CHECK_FALSE(w.normalized);
    CHECK_FALSE(w.random);
    CHECK(w.source == "");
    CHECK(w.path == path);

    // Hashing values: the checksum is an FNV-1a 64 over the float bytes in canonical order.
    std::uint64_t h = 0xcbf29ce484222325ull;
    for (unsigned char c : vgg_ramp_data()) h = (h ^ c) * 0x100000001b3ull;
    char expect[32];
    std::snprintf(expect, sizeof expect, "fnv1a64:%016llx", (unsigned long long)h);
    CHECK(weights_checksum(w) == expect);
    std::filesystem::remove_all(dir);  // the big test files (80 MB and more) are not kept
}

TEST_CASE("weights: torchvision names load / extra tensors are skipped unread") {
    const std::string dir = test::temp_dir("weights_torchvision");
    const std::string path = dir + "/tv.safetensors";
    // Extra tensors before, between and after the conv data; their NaNs must not matter.
    const std::size_t n_cls = 1 << 20;
    std::vector<float> cls(n_cls, std::numeric_limits<float>::quiet_NaN());
    std::vector<Desc> descs;
    std::string data;
    descs.push_back({"pre_logits.fc1.weight", "F32", {16, 8, 2, 2}, 0, 16 * 8 * 4 * 4});
    data += f32_bytes(std::vector<float>(16 * 8 * 4, NAN));
    const auto conv = vgg_descs(true);
    for (auto d : conv) {
        d.begin += data.size();
        d.end += data.size();
        descs.push_back(d);
    }
    data += vgg_ramp_data();
    const std::uint64_t base = data.size();
    descs.push_back({"classifier.0.weight", "F32", {1024, 1024}, base, base + n_cls * 4});
    data += f32_bytes(cls);
    descs.push_back({"classifier.0.bias", "I64", {4}, base + n_cls * 4, base + n_cls * 4 + 32});  // unreadable as float
    data += std::string(32, '\x01');
    write_st(path, header_json(descs), data);

    const Vgg19Weights w = load_weights(path);
    check_ramp(w);
    CHECK(w.preprocess == PreprocessKind::Torchvision);

    // The reader seeks over what is not asked for: only the conv bytes are read.
    SafetensorsReader r(path);
    for (const auto& e : r.entries())
        if (e.name.rfind("features.", 0) == 0) {
            std::vector<float> buf(e.numel());
            r.read(e, buf.data());
        }
    CHECK(r.bytes_read() == kVggDataBytes);
    // and the I64 tensor only fails when read as float.
    std::vector<float> four(4);
    CHECK(contains(error_of([&] { r.read(*r.find("classifier.0.bias"), four.data()); }),
                   "tensor classifier.0.bias has dtype I64"));
    std::filesystem::remove_all(dir);
}

TEST_CASE("weights: metadata overrides the defaults / bad values are errors") {
    const std::string dir = test::temp_dir("weights_metadata");
    auto load = [&](bool tv, const std::string& meta) {
        return load_weights(sparse_vgg(dir, "m.safetensors", vgg_descs(tv), meta));
    };
    CHECK(load(true, "").preprocess == PreprocessKind::Torchvision);
    CHECK(load(false, "").preprocess == PreprocessKind::Caffe);
    CHECK(load(false, R"({"nst.preprocess": "torchvision"})").preprocess == PreprocessKind::Torchvision);
    Vgg19Weights w = load(true, R"({"nst.preprocess": "caffe", "nst.normalized": "true", "nst.source": "vgg_conv.pth, Gatys"})");
    CHECK(w.preprocess == PreprocessKind::Caffe);
    CHECK(w.normalized);
    CHECK(w.source == "vgg_conv.pth, Gatys");
    CHECK_FALSE(load(false, R"({"nst.normalized": "false", "other": "x"})").normalized);

    std::string m = error_of([&] { load(false, R"({"nst.preprocess": "bgr"})"); });
    CHECK(contains(m, "weights '" + dir + "/m.safetensors': metadata nst.preprocess is 'bgr', expected caffe or torchvision"));
    m = error_of([&] { load(false, R"({"nst.normalized": "yes"})"); });
    CHECK(contains(m, "metadata nst.normalized is 'yes'"));
    m = error_of([&] { load(false, R"({"nst.normalized": true})"); });
    CHECK(contains(m, "__metadata__ value of 'nst.normalized' is not a string"));
    m = error_of([&] { load(false, R"(["a"])"); });
    CHECK(contains(m, "__metadata__ is not an object"));
}

TEST_CASE("weights: a file with both namings loads the canonical tensors") {
    const std::string dir = test::temp_dir("weights_mixed");
    auto descs = vgg_descs(false);
    const std::uint64_t off = kVggDataBytes;
    for (auto d : vgg_descs(true)) {
        d.begin += off;
        d.end += off;
        descs.push_back(d);
    }
    const std::string path = dir + "/both.safetensors";
    // Canonical data is the ramp, torchvision's copy is zeros.
    write_st(path, header_json(descs), vgg_ramp_data(), 2 * kVggDataBytes);
    const Vgg19Weights w = load_weights(path);
    check_ramp(w);
    CHECK(w.preprocess == PreprocessKind::Caffe);

    const std::string none = dir + "/none.safetensors";
    write_st(none, header_json(sequential({{"classifier.0.weight", "F32", {2, 2}}})), std::string(16, '\0'));
    CHECK(contains(error_of([&] { load_weights(none); }), "no VGG19 conv tensors"));
    std::filesystem::remove_all(dir);
}

TEST_CASE("weights: wrong shape / missing tensor / wrong dtype are named") {
    const std::string dir = test::temp_dir("weights_names");
    std::string path;

    auto d = vgg_descs(false);
    for (auto& x : d)
        if (x.name == "conv3_2.weight") x.shape = {256, 128, 3, 3};
    path = sparse_vgg(dir, "w.safetensors", sequential(d));
    CHECK(error_of([&] { load_weights(path); }) ==
          "weights '" + path + "': tensor conv3_2.weight has shape (256, 128, 3, 3), expected (256, 256, 3, 3)");

    d = vgg_descs(false);
    for (auto& x : d)
        if (x.name == "conv1_1.bias") x.shape = {1, 64, 1, 1};  // right size, wrong rank
    path = sparse_vgg(dir, "r.safetensors", sequential(d));
    CHECK(contains(error_of([&] { load_weights(path); }), "tensor conv1_1.bias has shape (1, 64, 1, 1), expected (64)"));

    d = vgg_descs(false);
    d.erase(d.begin() + 2 * 12 + 1);  // conv5_1.bias
    path = sparse_vgg(dir, "m.safetensors", sequential(d));
    CHECK(error_of([&] { load_weights(path); }) == "weights '" + path + "': missing tensor conv5_1.bias");

    d = vgg_descs(true);
    d.erase(d.begin() + 2 * 12 + 1);
    path = sparse_vgg(dir, "mt.safetensors", sequential(d));
    CHECK(contains(error_of([&] { load_weights(path); }), "missing tensor features.28.bias (conv5_1.bias)"));

    d = vgg_descs(false);
    d[0].dtype = "I32";
    path = sparse_vgg(dir, "t.safetensors", sequential(d));
    CHECK(contains(error_of([&] { load_weights(path); }), "tensor conv1_1.weight has dtype I32, expected F32"));

    d = vgg_descs(false);
    d[3].dtype = "F33";
    path = sparse_vgg(dir, "u.safetensors", sequential(d));
    CHECK(contains(error_of([&] { load_weights(path); }), "tensor conv1_2.bias has unknown dtype 'F33'"));
}

TEST_CASE("weights: non-finite values are named with their index") {
    const std::string dir = test::temp_dir("weights_nonfinite");
    const auto d = vgg_descs(false);
    struct Case {
        const char* tensor;
        std::size_t index;
        float value;
        const char* word;
    };
    const Case cases[] = {{"conv2_1.weight", 17, NAN, "nan"},
                          {"conv1_1.bias", 3, INFINITY, "inf"},
                          {"conv5_4.weight", 512 * 512 * 9 - 1, -INFINITY, "-inf"}};
    for (const auto& c : cases) {
        const std::string path = sparse_vgg(dir, "n.safetensors", d);
        patch(path, 8 + header_json(d).size() + find_desc(d, c.tensor).begin + 4 * c.index, &c.value, 4);
        const std::string m = error_of([&] { load_weights(path); });
        CHECK(m == "weights '" + path + "': tensor " + c.tensor + " has a non-finite value at index " +
                       std::to_string(c.index) + " (" + c.word + ")");
    }
}

TEST_CASE("weights: F16 / BF16 and F64 conv tensors are converted") {
    const std::string dir = test::temp_dir("weights_dtypes");
    auto d = vgg_descs(false);
    d[0].dtype = "F16";   // conv1_1.weight, 1728 elements
    d[1].dtype = "BF16";  // conv1_1.bias, 64
    d[3].dtype = "F64";   // conv1_2.bias, 64
    d = sequential(d);
    const std::string path = sparse_vgg(dir, "d.safetensors", d);
    const std::uint64_t base = 8 + header_json(d).size();
    const std::uint16_t h = 0xC000;   // -2 in F16
    const std::uint16_t b = 0x4049;   // 3.140625 in BF16
    const double x = 0.1;
    patch(path, base + d[0].begin + 2 * 5, &h, 2);
    patch(path, base + d[1].begin + 2 * 63, &b, 2);
    patch(path, base + d[3].begin + 8 * 7, &x, 8);
    const Vgg19Weights w = load_weights(path);
    CHECK(w.conv[0].weight[5] == -2.f);
    CHECK(w.conv[0].weight[4] == 0.f);
    CHECK(w.conv[0].bias[63] == 3.140625f);
    CHECK(w.conv[1].bias[7] == 0.1f);
}

TEST_CASE("weights: a missing file says how to get weights / directories and .pth are rejected") {
    const std::string dir = test::temp_dir("weights_missing");
    const std::string path = dir + "/weights/vgg19.safetensors";
    CHECK(error_of([&] { load_weights(path); }) ==
          "weights file '" + path +
              "' not found: fetch the pretrained VGG19 (see weights/README.md) or pass --weights random");
    CHECK(contains(error_of([&] { load_weights(dir); }), "is a directory"));
    CHECK(contains(error_of([&] { load_weights("/dev/null"); }), "is not a regular file"));  // and never blocks
    test::write_file(dir + "/vgg19.pth", std::string("PK\x03\x04", 4) + std::string(100, '\0'));
    CHECK(contains(error_of([&] { load_weights(dir + "/vgg19.pth"); }), "zip archive"));
}

TEST_CASE("weights: truncated VGG file reports header and file sizes") {
    const std::string dir = test::temp_dir("weights_truncated");
    const auto d = vgg_descs(false);
    const std::string path = sparse_vgg(dir, "t.safetensors", d);
    std::filesystem::resize_file(path, 8 + header_json(d).size() + 1000);
    CHECK(error_of([&] { load_weights(path); }) ==
          "weights '" + path + "': truncated (header says 80097536 data bytes, file has 1000)");
}

// --- random weights -----------------------------------------------------------------------

TEST_CASE("weights: random weights follow the documented He-normal formula") {
    const Vgg19Weights a = random_weights(0);
    CHECK(a.random);
    CHECK(a.seed == 0);
    CHECK(a.source == "random:0");
    CHECK(a.path == "");
    CHECK(a.preprocess == PreprocessKind::Caffe);
    CHECK_FALSE(a.normalized);

    // Values computed independently in Python (the cross-language contract of weights.h):
    // float32(sqrt(2 / (O * 9)) * normal(seed, 1 + k, j)).
    CHECK(bits_of(a.conv[0].weight[0]) == 0x3d32f796u);     // 0.043693147...
    CHECK(bits_of(a.conv[0].weight[1727]) == 0x3e098c29u);  // 0.134323731...
    CHECK(bits_of(float(std::sqrt(2.0 / (256 * 9)) * rng::normal(7, rng::kStreamWeights + 4, 0))) == 0x3d727f69u);
    const Vgg19Weights s42 = load_weights("random:42");
    CHECK(s42.seed == 42);
    CHECK(s42.source == "random:42");
    CHECK(bits_of(s42.conv[15].weight[12345]) == 0xbb8a47e4u);

    // and the formula holds everywhere we look.
    for (int k = 0; k < 16; ++k) {
        const double sd = std::sqrt(2.0 / (kOut[k] * 9));
        for (std::size_t j : {std::size_t(0), std::size_t(999), a.conv[k].weight.numel() - 1})
            CHECK(a.conv[k].weight[j] == float(sd * rng::normal(0, rng::kStreamWeights + k, j)));
    }

    // Per layer: mean ~ 0 and std ~ sqrt(2 / (9 O)) within 5 standard errors; zero biases.
    for (int k = 0; k < 16; ++k) {
        const auto& t = a.conv[k].weight;
        REQUIRE(t.shape() == Shape{kOut[k], in_ch(k), 3, 3});
        const double n = double(t.numel());
        double s1 = 0, s2 = 0;
        for (float v : t) {
            s1 += v;
            s2 += double(v) * v;
        }
        const double mean = s1 / n, sd = std::sqrt(s2 / n - mean * mean);
        const double sigma = std::sqrt(2.0 / (9.0 * kOut[k]));
        CAPTURE(k);
        CHECK(std::fabs(mean) < 5 * sigma / std::sqrt(n));
        CHECK(std::fabs(sd / sigma - 1) < 5 / std::sqrt(2 * n));
        REQUIRE(a.conv[k].bias.shape() == Shape{1, kOut[k], 1, 1});
        for (float v : a.conv[k].bias) CHECK(v == 0.f);
    }

    // Same seed, same bits; another seed, other values.
    const Vgg19Weights a2 = load_weights("random");
    CHECK(a2.seed == 0);
    CHECK(weights_checksum(a2) == weights_checksum(a));
    CHECK(std::memcmp(a2.conv[9].weight.data(), a.conv[9].weight.data(), a.conv[9].weight.numel() * 4) == 0);
    // (Each random set is 20M normals, so the test reuses seed 42's rather than making another.)
    CHECK(weights_checksum(s42) != weights_checksum(a));
    std::size_t same = 0;
    for (std::size_t j = 0; j < s42.conv[9].weight.numel(); ++j) same += s42.conv[9].weight[j] == a.conv[9].weight[j];
    CHECK(same < 10);
}

TEST_CASE("weights: bad random seeds are usage errors naming --weights") {
    for (const char* spec : {"random:abc", "random:-1", "random:", "random:+3", "random: 3", "random:0x10",
                             "random:18446744073709551616"}) {
        CAPTURE(spec);
        const std::string m = error_of([&] { load_weights(spec); }, ExitCode::Usage);
        CHECK(contains(m, "--weights"));
    }
    CHECK(contains(error_of([&] { load_weights(""); }, ExitCode::Usage), "--weights"));
}

TEST_CASE("weights: save_weights_safetensors round trip keeps values / metadata and checksum") {
    const std::string dir = test::temp_dir("weights_roundtrip");
    // Uniform test data rather than random_weights: as good for a round trip and much cheaper.
    Vgg19Weights w;
    for (int k = 0; k < 16; ++k) {
        w.conv[k].weight = test::random_tensor<float>(Shape{kOut[k], in_ch(k), 3, 3}, 100 + k);
        w.conv[k].bias = test::random_tensor<float>(Shape{1, kOut[k], 1, 1}, 200 + k);
    }
    w.source = "random:3";
    w.preprocess = PreprocessKind::Torchvision;
    w.normalized = true;
    const std::string path = dir + "/r.safetensors";
    save_weights_safetensors(path, w);
    Vgg19Weights r = load_weights(path);
    CHECK(weights_checksum(r) == weights_checksum(w));
    for (int k = 0; k < 16; ++k) {
        CHECK(std::memcmp(r.conv[k].weight.data(), w.conv[k].weight.data(), w.conv[k].weight.numel() * 4) == 0);
        CHECK(std::memcmp(r.conv[k].bias.data(), w.conv[k].bias.data(), w.conv[k].bias.numel() * 4) == 0);
    }
    CHECK(r.preprocess == PreprocessKind::Torchvision);
    CHECK(r.normalized);
    CHECK(r.source == "random:3");
    CHECK_FALSE(r.random);
    // A bit flip anywhere changes the checksum.
    r.conv[15].bias[0] = 1e-30f;
    CHECK(weights_checksum(r) != weights_checksum(w));
    std::filesystem::remove_all(dir);
}

// --- the general safetensors reader and writer --------------------------------------------

TEST_CASE("safetensors: writer and reader round trip with metadata and alignment") {
    const std::string dir = test::temp_dir("st_roundtrip");
    const std::string path = dir + "/a.safetensors";
    const std::vector<float> a = {1.5f, -2.f, 3.25f, NAN, INFINITY, -0.f};
    const std::vector<float> b = {42.f};
    const std::map<std::string, std::string> meta = {{"nst.source", "test \"quoted\" \xc3\xa9"}, {"k", ""}};
    save_safetensors(path, {{"layer.a", {2, 3}, a.data()}, {"s", {}, b.data()}, {"empty", {0, 4}, nullptr}}, meta);

    const std::string raw = test::read_file(path);
    std::uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | (unsigned char)raw[i];
    CHECK((8 + n) % 8 == 0);
    CHECK(raw.size() == 8 + n + 4 * 7);
    CHECK(raw[8] == '{');

    const SafetensorsFile f = read_safetensors(path);
    CHECK(f.metadata == meta);
    REQUIRE(f.tensors.size() == 3);
    const auto* ta = f.find("layer.a");
    REQUIRE(ta);
    CHECK(ta->dtype == SafetensorsDtype::F32);
    CHECK(ta->shape == std::vector<std::int64_t>{2, 3});
    REQUIRE(ta->data.size() == 6);
    CHECK(std::memcmp(ta->data.data(), a.data(), 24) == 0);  // bitwise: NaN, -0 preserved
    CHECK(f.find("s")->shape.empty());
    CHECK(f.find("s")->data == b);
    CHECK(f.find("empty")->data.empty());
    CHECK(f.find("nope") == nullptr);

    // Writing back what was read gives the same file.
    save_safetensors(dir + "/b.safetensors", views_of(f), f.metadata);
    const SafetensorsFile g = read_safetensors(dir + "/b.safetensors");
    CHECK(g.metadata == meta);
    CHECK(g.tensors.size() == 3);
    CHECK(std::memcmp(g.find("layer.a")->data.data(), a.data(), 24) == 0);

    // The filter skips tensors without reading them.
    const SafetensorsFile h = read_safetensors(path, [](const std::string& name) { return name == "s"; });
    CHECK(h.tensors.size() == 1);
}

TEST_CASE("safetensors: F16 / BF16 and F64 convert to the hand-computed floats") {
    const std::string dir = test::temp_dir("st_dtypes");
    const std::vector<std::uint16_t> f16 = {0x3C00, 0xC000, 0x3555, 0x7BFF, 0x0001, 0x03FF, 0x0400,
                                            0x8000, 0x7C00, 0xFC00, 0x7E00};
    const std::vector<float> f16_expect = {1.f, -2.f, 0.333251953125f, 65504.f, 5.9604644775390625e-8f,
                                           6.0975551605224609375e-5f, 6.103515625e-5f, -0.f, INFINITY, -INFINITY, NAN};
    const std::vector<std::uint16_t> bf16 = {0x3F80, 0xC040, 0x4049, 0x0001, 0x7F80, 0xFFC0};
    const std::vector<std::uint32_t> bf16_expect = {0x3F800000, 0xC0400000, 0x40490000, 0x00010000, 0x7F800000,
                                                    0xFFC00000};
    // 3.4028235e38 is above FLT_MAX but rounds down to it; 0x1.ffffffp127 is the halfway point to
    // 2^128, which rounds (to even) to infinity; 1 + 2^-24 is halfway between 1 and the next float.
    const std::vector<double> f64 = {0.1, -1e300, 1e300, 3.4028235e38, 0x1.ffffffp127, 1.0000000596046448, 1e-50, -2.5};
    const std::vector<float> f64_expect = {0.1f, -INFINITY, INFINITY, FLT_MAX, INFINITY, 1.f, 0.f, -2.5f};

    auto d = sequential({{"h", "F16", {11}}, {"b", "BF16", {6}}, {"d", "F64", {8}}});
    std::string data(reinterpret_cast<const char*>(f16.data()), f16.size() * 2);
    data.append(reinterpret_cast<const char*>(bf16.data()), bf16.size() * 2);
    data.append(reinterpret_cast<const char*>(f64.data()), f64.size() * 8);
    const std::string path = dir + "/d.safetensors";
    write_st(path, header_json(d), data);

    const SafetensorsFile f = read_safetensors(path);
    const auto& h = f.find("h")->data;
    for (std::size_t i = 0; i < f16.size(); ++i) {
        CAPTURE(i);
        if (std::isnan(f16_expect[i]))
            CHECK(std::isnan(h[i]));
        else
            CHECK(bits_of(h[i]) == bits_of(f16_expect[i]));
    }
    for (std::size_t i = 0; i < bf16.size(); ++i) CHECK(bits_of(f.find("b")->data[i]) == bf16_expect[i]);
    for (std::size_t i = 0; i < f64.size(); ++i) {
        CAPTURE(i);
        CHECK(bits_of(f.find("d")->data[i]) == bits_of(f64_expect[i]));
    }
    CHECK(f.find("h")->dtype == SafetensorsDtype::F16);
}

TEST_CASE("safetensors: truncation at every stage is detected") {
    const std::string dir = test::temp_dir("st_truncated");
    const auto d = sequential({{"x", "F32", {4}}, {"y", "F32", {2, 2}}});
    const std::string header = header_json(d);
    std::string data(32, '\0');
    const std::string full = le64(header.size()) + header + data;
    const std::string path = dir + "/t.safetensors";
    test::write_file(path, full);
    CHECK(read_safetensors(path).tensors.size() == 2);

    struct Cut {
        std::size_t at;
        std::string expect;
    };
    const std::size_t hs = header.size();
    const Cut cuts[] = {
        {0, "truncated (file has 0 bytes, fewer than the 8-byte header length)"},
        {5, "truncated (file has 5 bytes"},
        {8, "truncated (header says " + std::to_string(hs) + " header bytes, file has 0 after the length)"},
        {8 + hs / 2, "truncated (header says " + std::to_string(hs) + " header bytes"},
        {8 + hs, "truncated (header says 32 data bytes, file has 0)"},
        {8 + hs + 17, "truncated (header says 32 data bytes, file has 17)"},
        {full.size() - 1, "truncated (header says 32 data bytes, file has 31)"},
    };
    for (const auto& c : cuts) {
        CAPTURE(c.at);
        test::write_file(path, full.substr(0, c.at));
        const std::string m = error_of([&] { read_safetensors(path); });
        CHECK(contains(m, "safetensors file '" + path + "': " + c.expect));
    }
}

TEST_CASE("safetensors: bad header lengths and malformed JSON") {
    const std::string dir = test::temp_dir("st_header");
    const std::string path = dir + "/h.safetensors";
    auto err = [&](const std::string& bytes) {
        test::write_file(path, bytes);
        return error_of([&] { read_safetensors(path); });
    };
    CHECK(contains(err(le64(1000) + std::string(92, ' ')), "truncated (header says 1000 header bytes, file has 92"));
    CHECK(contains(err(le64(1ull << 40) + "{}"), "exceeds the 100 MiB limit"));
    CHECK(contains(err(le64(~0ull) + "{}"), "exceeds the 100 MiB limit"));
    auto hdr = [](const std::string& h) { return le64(h.size()) + h; };
    CHECK(contains(err(hdr("")), "header is not a JSON object"));
    CHECK(contains(err(hdr("[1, 2]")), "header is not a JSON object"));
    CHECK(contains(err(hdr("{\"x\": {\"dtype\": \"F32\",")), "header is not valid JSON"));
    CHECK(contains(err(hdr("{\"x\" 1}")), "header is not valid JSON"));
    CHECK(contains(err(hdr("{\"x\": {}} trailing")), "header is not valid JSON"));
    CHECK(contains(err(hdr("{\"a\\nb\": 1}")), "tensor a?b is not described by an object"));  // one line
    CHECK(contains(err(hdr(R"({"x": {"dtype": "F32", "shape": [[1]], "data_offsets": [0, 4]}})")), "nests deeper"));
    CHECK(contains(err(hdr(R"({"x": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
                               "x": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}})") + std::string(4, '\0')),
                   "the key 'x' twice"));
    CHECK(contains(err(hdr(R"({"x": {"dtype": "F32", "dtype": "F16", "shape": [1], "data_offsets": [0, 4]}})")),
                   "the key 'dtype' twice in one entry"));
    // Spaces after the JSON are the format's padding, not an error.
    const std::string padded = R"({"x": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}})" + std::string(5, ' ');
    test::write_file(path, hdr(padded) + std::string(4, '\0'));
    CHECK(read_safetensors(path).tensors.size() == 1);
}

TEST_CASE("safetensors: entries are validated against their dtype / shape and offsets") {
    const std::string dir = test::temp_dir("st_entries");
    const std::string path = dir + "/e.safetensors";
    auto err = [&](const std::vector<Desc>& d, std::size_t data_bytes) {
        write_st(path, header_json(d), std::string(data_bytes, '\0'));
        return error_of([&] { read_safetensors(path); });
    };
    CHECK(contains(err({{"w", "F32", {2, 3}, 0, 20}}, 20),
                   "tensor w has shape (2, 3) of F32 (24 bytes) but data_offsets [0, 20] span 20 bytes"));
    CHECK(contains(err({{"w", "F64", {2}, 0, 8}}, 8), "tensor w has shape (2) of F64 (16 bytes)"));
    CHECK(contains(err({{"w", "F32", {2}, 8, 0}}, 8), "tensor w has data_offsets [8, 0] that end before they begin"));
    CHECK(contains(err({{"a", "F32", {4}, 0, 16}, {"b", "F32", {4}, 8, 24}}, 24),
                   "tensors a and b overlap (data_offsets [0, 16] and [8, 24])"));
    CHECK(contains(err({{"a", "F32", {8}, 0, 32}, {"b", "F32", {2}, 8, 16}, {"c", "F32", {2}, 16, 24}}, 32),
                   "tensors a and b overlap"));
    CHECK(contains(err({{"a", "F32", {4}, 0, 16}, {"b", "F32", {4}, 1000, 1016}}, 32),
                   "truncated (header says 1016 data bytes, file has 32)"));
    CHECK(contains(err({{"w", "F32", {-1}, 0, 4}}, 4), "tensor w has a shape entry that is not a non-negative integer"));
    CHECK(contains(err({{"w", "F32", {4294967296LL, 4294967296LL}, 0, 4}}, 4), "size overflows"));
    CHECK(contains(err({{"w", "F32", {1LL << 62}, 0, 4}}, 4), "(too many bytes)"));
    CHECK(contains(err({{"w", "X1", {1}, 0, 4}}, 4), "tensor w has unknown dtype 'X1'"));

    auto hdr_err = [&](const std::string& h) {
        test::write_file(path, le64(h.size()) + h + std::string(8, '\0'));
        return error_of([&] { read_safetensors(path); });
    };
    CHECK(contains(hdr_err(R"({"w": {"shape": [1], "data_offsets": [0, 4]}})"), "tensor w has no dtype string"));
    CHECK(contains(hdr_err(R"({"w": {"dtype": "F32", "data_offsets": [0, 4]}})"), "tensor w has no shape array"));
    CHECK(contains(hdr_err(R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0]}})"), "no data_offsets pair"));
    CHECK(contains(hdr_err(R"({"w": {"dtype": "F32", "shape": [1.0], "data_offsets": [0, 4]}})"), "shape entry"));
    CHECK(contains(hdr_err(R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, -4]}})"), "no data_offsets pair"));

    // Valid layouts: gaps, empty tensors anywhere, other dtypes that are only skipped.
    write_st(path, header_json({{"a", "F32", {1}, 4, 8}, {"z", "F32", {0}, 4, 4}, {"i", "U8", {3}, 8, 11}}),
             std::string(11, '\0'));
    const SafetensorsFile f = read_safetensors(path, [](const std::string& n) { return n != "i"; });
    CHECK(f.tensors.size() == 2);
    CHECK(contains(error_of([&] { read_safetensors(path); }), "tensor i has dtype U8, which cannot be read as float"));
}
