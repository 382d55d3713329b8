// SPDX-License-Identifier: MIT
// Atomic writes: complete replacement or nothing, no temporary left behind, clear errors.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "core/error.h"
#include "io/atomic_file.h"
#include "test_errors.h"
#include "test_util.h"

using namespace nst;
using nst::test::contains;
using nst::test::error_of;

namespace {

std::vector<std::string> list_dir(const std::string& dir) {
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(dir)) names.push_back(e.path().filename().string());
    return names;
}

}  // namespace

TEST_CASE("atomic_file: writes / replaces and leaves nothing else behind") {
    const std::string dir = test::temp_dir("atomic_basic");
    const std::string path = dir + "/out.bin";
    const std::string first = "first content";
    write_file_atomic(path, first.data(), first.size());
    CHECK(test::read_file(path) == first);

    std::vector<unsigned char> second(100000);
    for (std::size_t i = 0; i < second.size(); ++i) second[i] = static_cast<unsigned char>(i * 7);
    write_file_atomic(path, second);
    const std::string back = test::read_file(path);
    CHECK(back == std::string(second.begin(), second.end()));

    write_file_atomic(path, nullptr, 0);  // an empty file is a valid output
    CHECK(test::read_file(path).empty());
    CHECK(list_dir(dir) == std::vector<std::string>{"out.bin"});

    // A relative path (no directory part) writes into the working directory.
    const auto cwd = std::filesystem::current_path();
    std::filesystem::current_path(dir);
    write_file_atomic("rel.txt", std::vector<unsigned char>{'x'});
    std::filesystem::current_path(cwd);
    CHECK(test::read_file(dir + "/rel.txt") == "x");
}

TEST_CASE("atomic_file: permissions follow the umask") {
    const std::string dir = test::temp_dir("atomic_mode");
    const mode_t old = ::umask(027);
    write_file_atomic(dir + "/a", std::vector<unsigned char>{1, 2, 3});
    ::umask(old);
    struct stat st {};
    REQUIRE(::stat((dir + "/a").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0640);
}

TEST_CASE("atomic_file: failures name the path and leave the target untouched") {
    const std::string dir = test::temp_dir("atomic_fail");
    const std::vector<unsigned char> data = {'n', 'e', 'w'};

    // Missing directory.
    std::string msg = error_of([&] { write_file_atomic(dir + "/no/such/out.png", data); }, ExitCode::Input);
    CHECK(contains(msg, dir + "/no/such/out.png"));
    CHECK(contains(msg, "does not exist"));

    // The "directory" is a regular file.
    test::write_file(dir + "/file", "existing");
    msg = error_of([&] { write_file_atomic(dir + "/file/out.png", data); }, ExitCode::Input);
    CHECK(contains(msg, "file/out.png"));
    CHECK(contains(msg, "not a directory"));
    CHECK(test::read_file(dir + "/file") == "existing");

    // The target is a directory.
    std::filesystem::create_directories(dir + "/sub");
    msg = error_of([&] { write_file_atomic(dir + "/sub", data); }, ExitCode::Input);
    CHECK(contains(msg, "directory"));
    error_of([&] { write_file_atomic(dir + "/sub/", data); }, ExitCode::Input);
    CHECK(std::filesystem::is_empty(dir + "/sub"));

    // Disk full, simulated with a file-size limit: the write fails part-way, the old content
    // survives and the temporary is removed.
    test::write_file(dir + "/keep.png", "old content");
    struct rlimit old_limit {};
    REQUIRE(::getrlimit(RLIMIT_FSIZE, &old_limit) == 0);
    void (*old_handler)(int) = ::signal(SIGXFSZ, SIG_IGN);  // get EFBIG instead of the signal
    struct rlimit small = old_limit;
    small.rlim_cur = 4096;
    REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
    const std::vector<unsigned char> big(100000, 'x');
    msg = error_of([&] { write_file_atomic(dir + "/keep.png", big); }, ExitCode::Input);
    ::setrlimit(RLIMIT_FSIZE, &old_limit);
    ::signal(SIGXFSZ, old_handler);
    CHECK(contains(msg, "keep.png"));
    CHECK(test::read_file(dir + "/keep.png") == "old content");

    std::vector<std::string> names = list_dir(dir);
    std::sort(names.begin(), names.end());
    CHECK(names == std::vector<std::string>{"file", "keep.png", "sub"});
}

// Root ignores permission bits, so there the case is reported as skipped.
TEST_CASE("atomic_file: a read-only directory is refused" * doctest::skip(::geteuid() == 0)) {
    const std::string dir = test::temp_dir("atomic_readonly");
    std::filesystem::create_directories(dir + "/ro");
    ::chmod((dir + "/ro").c_str(), 0555);
    const std::string msg =
        error_of([&] { write_file_atomic(dir + "/ro/a", std::vector<unsigned char>{1}); }, ExitCode::Input);
    CHECK(contains(msg, "not writable"));
    error_of([&] { check_writable(dir + "/ro/a"); }, ExitCode::Input);
    ::chmod((dir + "/ro").c_str(), 0755);
}

TEST_CASE("atomic_file: check_writable") {
    const std::string dir = test::temp_dir("atomic_check");
    check_writable(dir + "/out.png");  // does not create it
    CHECK(std::filesystem::is_empty(dir));
    test::write_file(dir + "/exists.png", "x");
    check_writable(dir + "/exists.png");
    CHECK(test::read_file(dir + "/exists.png") == "x");

    std::string msg = error_of([&] { check_writable(dir + "/missing/out.png"); }, ExitCode::Input);
    CHECK(contains(msg, "missing/out.png"));
    CHECK(contains(msg, "does not exist"));
    msg = error_of([&] { check_writable(dir); }, ExitCode::Input);
    CHECK(contains(msg, "is a directory"));
    error_of([&] { check_writable(dir + "/exists.png/x"); }, ExitCode::Input);
    error_of([&] { check_writable(""); }, ExitCode::Input);
    CHECK(list_dir(dir) == std::vector<std::string>{"exists.png"});
}
