// SPDX-License-Identifier: MIT
// Runs tests/make_convert_inputs.py (see convert_inputs.h) and checks what it wrote.
#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "convert_inputs.h"
#include "test_util.h"

namespace nst::test {

namespace {
// Debian's Python, where python3-torch installs (the `python3` on PATH may be another one);
// NST_TEST_PYTHON overrides it (e.g. to check that the tests skip cleanly without torch).
std::string python() {
    const char* env = std::getenv("NST_TEST_PYTHON");
    return env && *env ? env : "/usr/bin/python3";
}
}  // namespace

std::string shell_quoted(const std::string& s) {
    std::string out = "'";
    for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

int run_shell(const std::string& cmd, std::string* out, std::string* err) {
    const std::string base = std::string(NST_TEST_TMP) + "/shell_" + std::to_string(::getpid());
    std::filesystem::create_directories(NST_TEST_TMP);
    const std::string full = "( " + cmd + " ) >" + shell_quoted(base + ".out") + " 2>" + shell_quoted(base + ".err") +
                             " </dev/null";
    const int status = std::system(full.c_str());
    if (out) *out = read_file(base + ".out");
    if (err) *err = read_file(base + ".err");
    std::filesystem::remove(base + ".out");
    std::filesystem::remove(base + ".err");
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

const std::string& convert_inputs_missing() {
    static const std::string missing = [] {
        std::string m;
        if (::access(python().c_str(), X_OK) != 0) {
            m = "python3 python3-torch python3-h5py python3-protobuf";
        } else {
            // find_spec does not import torch (2 s); it only looks for the packages.
            const std::string code =
                "import importlib.util as u\n"
                "def has(m):\n"
                "    try:\n"
                "        return u.find_spec(m) is not None\n"
                "    except Exception:\n"
                "        return False\n"
                "print(' '.join(p for m, p in (('torch', 'python3-torch'), ('h5py', 'python3-h5py'),\n"
                "      ('google.protobuf', 'python3-protobuf'), ('numpy', 'python3-numpy')) if not has(m)))\n";
            std::string out;
            if (run_shell(shell_quoted(python()) + " -c " + shell_quoted(code), &out) != 0)
                out = "python3-torch python3-h5py python3-protobuf";
            while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
            m = out;
        }
        if (run_shell("command -v protoc") != 0) m += (m.empty() ? "" : " ") + std::string("protobuf-compiler");
        if (!m.empty())
            std::fprintf(stderr, "nst_tests: converter tests skipped: %s lacks Debian package(s) %s (apt-get install %s)\n",
                         python().c_str(), m.c_str(), m.c_str());
        return m;
    }();
    return missing;
}

const std::string& convert_inputs() {
    static const std::string dir = [] {
        const std::string d = (std::filesystem::path(NST_TEST_TMP).parent_path() / "convert_inputs").string();
        std::filesystem::create_directories(d);
        std::string out, err;
        const int rc = run_shell(shell_quoted(python()) + " " + shell_quoted(std::string(NST_SOURCE_DIR) +
                                                                         "/tests/make_convert_inputs.py") +
                                     " " + shell_quoted(d),
                                 &out, &err);
        if (rc != 0) FAIL("make_convert_inputs.py failed (" << rc << "):\n" << out << err);
        return d;
    }();
    return dir;
}

}  // namespace nst::test

TEST_CASE("convert inputs: the generator writes every file" * doctest::skip(nst::test::convert_inputs_unavailable())) {
    const std::string& d = nst::test::convert_inputs();
    for (const char* f : {"tv_zip.pth", "tv_legacy.pth", "vgg_conv_legacy.pth", "keras_notop.h5", "vgg_layer.caffemodel",
                          "vgg_layers_v1.caffemodel", "timm_vgg19.safetensors", "x.npy", "ref_relu5_4.npy", "stamp"})
        CHECK_MESSAGE(std::filesystem::exists(d + "/" + f), f);
}
