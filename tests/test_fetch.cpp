// SPDX-License-Identifier: MIT
// tools/fetch_weights.sh without a network: the offline path, size and checksum mismatches, and a
// full fetch-verify-convert from a file:// URL with overridden expectations.
#include <doctest/doctest.h>

#include <filesystem>

#include "convert_inputs.h"
#include "nn/safetensors.h"
#include "nn/weights.h"
#include "test_util.h"

using namespace nst;
using nst::test::run_shell;
using nst::test::shell_quoted;

namespace {

bool have_curl() { return run_shell("command -v curl") == 0; }

// Runs the script with a clean proxy environment and downloads going to `dir`.
int fetch(const std::string& dir, const std::string& env, const std::string& args, std::string* err) {
    const std::string cmd = "env -u http_proxy -u https_proxy -u HTTP_PROXY -u HTTPS_PROXY -u ALL_PROXY -u all_proxy "
                            "NST_EXE=" + shell_quoted(NST_EXE) + " NST_WEIGHTS_DIR=" + shell_quoted(dir) + " " + env +
                            " bash " + shell_quoted(std::string(NST_SOURCE_DIR) + "/tools/fetch_weights.sh") + " " + args;
    return run_shell(cmd, nullptr, err);
}

}  // namespace

TEST_CASE("fetch_weights.sh: offline and usage errors" * doctest::skip(!have_curl())) {
    const std::string dir = test::temp_dir("fetch_offline");
    const std::string out = dir + "/vgg19.safetensors";
    std::string err;
    // Port 9 (discard) on the loopback: connection refused, as when offline.
    CHECK(fetch(dir, "NST_FETCH_URL=http://127.0.0.1:9/vgg19.pth", "--output " + shell_quoted(out) + " torchvision", &err) == 3);
    INFO(err);
    CHECK(err.find("nst: error: fetch_weights.sh: cannot reach http://127.0.0.1:9/vgg19.pth") != std::string::npos);
    CHECK(err.find("offline") != std::string::npos);
    CHECK(!test::file_exists(out));
    CHECK(!test::file_exists(dir + "/vgg19-dcbb9e9d.pth.part"));

    CHECK(fetch(dir, "", "nonsense", &err) == 2);
    CHECK(err.find("unknown SOURCE 'nonsense'") != std::string::npos);
    CHECK(fetch(dir, "", "", &err) == 2);
    CHECK(fetch(dir, "NST_EXE=/nonexistent/nst", "keras", &err) == 4);
    CHECK(fetch(dir, "", "--list", &err) == 0);
}

TEST_CASE("fetch_weights.sh: size and checksum mismatches are refused" * doctest::skip(!have_curl())) {
    const std::string dir = test::temp_dir("fetch_mismatch");
    const std::string src = dir + "/src/fake.h5";
    std::filesystem::create_directories(dir + "/src");
    test::write_file(src, "not the Keras weights");
    const std::string out = dir + "/vgg19.safetensors";
    const std::string url = "NST_FETCH_URL=" + shell_quoted("file://" + src);
    std::string err;

    // Published size of the Keras notop file: 80,134,624 bytes.
    CHECK(fetch(dir, url, "--output " + shell_quoted(out) + " keras", &err) == 3);
    CHECK(err.find("size 21 bytes, expected 80134624") != std::string::npos);
    CHECK(!test::file_exists(out));
    CHECK(test::file_exists(dir + "/vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5.bad"));
    CHECK(!test::file_exists(dir + "/vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"));

    // Right size, wrong MD5 (the published one).
    CHECK(fetch(dir, url + " NST_FETCH_EXPECT_SIZE=21", "--output " + shell_quoted(out) + " keras", &err) == 3);
    CHECK(err.find("MD5") != std::string::npos);
    CHECK(err.find("253f8cb515780f3b799900260a226db6") != std::string::npos);

    // torchvision's file name carries its SHA-256 prefix.
    CHECK(fetch(dir, url, "--output " + shell_quoted(out) + " torchvision", &err) == 3);
    CHECK(err.find("expected dcbb9e9d") != std::string::npos);

    // A missing local file.
    CHECK(fetch(dir, "NST_FETCH_URL=file:///nonexistent/x.pth", "--output " + shell_quoted(out) + " gatys-pth", &err) == 3);
    CHECK(!test::file_exists(out));
}

TEST_CASE("fetch_weights.sh: download / verify and convert from a file:// URL" * doctest::skip(!have_curl())) {
    const std::string dir = test::temp_dir("fetch_ok");
    std::filesystem::create_directories(dir + "/src");
    const std::string src = dir + "/src/model.safetensors";
    save_weights_safetensors(src, random_weights(11));
    std::string md5;
    REQUIRE(run_shell("md5sum < " + shell_quoted(src) + " | cut -d' ' -f1", &md5) == 0);
    md5.erase(md5.find_last_not_of(" \n") + 1);
    const std::string size = std::to_string(std::filesystem::file_size(src));
    const std::string out = dir + "/vgg19.safetensors";
    const std::string env = "NST_FETCH_URL=" + shell_quoted("file://" + src) + " NST_FETCH_EXPECT_MD5=" + md5 +
                            " NST_FETCH_EXPECT_SIZE=" + size;
    std::string err;
    REQUIRE(fetch(dir, env, "--output " + shell_quoted(out) + " timm", &err) == 0);
    INFO(err);
    const Vgg19Weights w = load_weights(out);
    CHECK(w.preprocess == PreprocessKind::Torchvision);  // the timm row's rule
    CHECK(w.source.find("vgg19.tv_in1k.safetensors") != std::string::npos);
    CHECK(weights_checksum(w) == weights_checksum(random_weights(11)));
    // A second run reuses the verified download.
    REQUIRE(fetch(dir, env, "--output " + shell_quoted(out) + " timm", &err) == 0);
    CHECK(err.find("already downloaded and verified") != std::string::npos);
    // timm publishes no checksum here: without overrides the script says it could not verify.
    REQUIRE(fetch(dir, "NST_FETCH_URL=" + shell_quoted("file://" + src), "--output " + shell_quoted(out) + " timm", &err) == 0);
    CHECK(err.find("not verified") != std::string::npos);
    std::filesystem::remove_all(dir);  // large files; kept only when a REQUIRE stops the test
}
