// SPDX-License-Identifier: MIT
// The trace lines and progress lines of src/cli (trace.h, progress.h): the "temporal" key and
// the progress's temporal column appear only for problems with temporal targets, carrying the
// term's value; without, the lines keep `nst run`'s keys (spec: --trace).
#include <doctest/doctest.h>

#include <cstdio>
#include <string>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "cli/progress.h"
#include "cli/trace.h"
#include "test_util.h"

using namespace nst;

namespace {

LossTerms sample_terms() {
    LossTerms t;
    t.content = {1.25, 0.5};
    t.style = {3.0, 0.125};
    t.tv = 0.0625;
    t.temporal = 7.3125e-3;
    t.total = t.content_sum() + t.style_sum() + t.tv + t.temporal;
    return t;
}

nlohmann::json first_line(const std::string& path) {
    const std::string text = test::read_file(path);
    REQUIRE(test::count_lines(text) == 1);
    return nlohmann::json::parse(text.substr(0, text.find('\n')));
}

// What f writes to stderr (fd 2 pointed at a file meanwhile).
template <typename F>
std::string stderr_of(const std::string& path, F&& f) {
    std::fflush(stderr);
    const int saved = dup(2);
    REQUIRE(saved >= 0);
    FILE* file = std::fopen(path.c_str(), "w");
    REQUIRE(file != nullptr);
    dup2(fileno(file), 2);
    f();
    std::fflush(stderr);
    dup2(saved, 2);
    close(saved);
    std::fclose(file);
    return test::read_file(path);
}

}  // namespace

TEST_CASE("trace: the temporal key only for temporal problems and with the term's value") {
    const std::string dir = test::temp_dir("trace_temporal");
    const LossTerms t = sample_terms();
    const cli::TraceMemory mem{};
    cli::Trace plain, video(true);
    plain.add(1, 1, t, 0.5, mem);
    video.add(1, 1, t, 0.5, mem);
    plain.write(dir + "/plain.jsonl");
    video.write(dir + "/video.jsonl");
    const nlohmann::json p = first_line(dir + "/plain.jsonl"), v = first_line(dir + "/video.jsonl");
    CHECK_FALSE(p.contains("temporal"));
    REQUIRE(v.contains("temporal"));
    CHECK(v.at("temporal").get<double>() == t.temporal);
    CHECK(v.at("total").get<double>() == t.total);
    CHECK(v.at("tv").get<double>() == t.tv);
    // Otherwise the same keys.
    nlohmann::json v_without = v;
    v_without.erase("temporal");
    CHECK(v_without == p);
}

TEST_CASE("progress: the temporal column only for temporal problems") {
    const std::string dir = test::temp_dir("progress_temporal");
    const LossTerms t = sample_terms();
    const std::string plain = stderr_of(dir + "/plain.txt", [&] { cli::Progress({{4, 1.0, 0}}, 1, false).update(1, t, 1); });
    const std::string video =
        stderr_of(dir + "/video.txt", [&] { cli::Progress({{4, 1.0, 0}}, 1, false, true).update(1, t, 1); });
    CHECK(plain.find("temporal") == std::string::npos);
    CHECK(plain.find("tv 6.2500e-02  ") != std::string::npos);
    CHECK(video.find("tv 6.2500e-02  temporal 7.3125e-03  ") != std::string::npos);
}
