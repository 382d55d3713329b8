// SPDX-License-Identifier: MIT
#include "cli/batch_records.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace nst::cli {

namespace {
using json = nlohmann::json;

// A JSON number, or null when not finite (a diverged loss).
json number(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }
}  // namespace

std::string record_line(const BatchRecord& r) {
    json j;  // nlohmann keeps keys sorted; the order carries no meaning
    j["line"] = r.line;
    j["status"] = r.status;
    j["output"] = r.output;
    j["seconds"] = number(r.seconds);
    if (r.iterations) j["iterations"] = *r.iterations;
    if (r.terms)
        j["terms"] = {{"total", number(r.terms->total)},
                      {"content", number(r.terms->content_sum())},
                      {"style", number(r.terms->style_sum())},
                      {"tv", number(r.terms->tv)}};
    if (r.status == "error") {
        j["error"] = r.error;
        j["exit_code"] = r.exit_code;
    }
    j["shard"] = r.shard;
    // Invalid UTF-8 in a message or path (a file name from the manifest) is replaced, not thrown.
    return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

RecordWriter::RecordWriter(const std::string& path) : m_path(path) {
    if (path.empty() || path == "-") return;
    m_fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (m_fd < 0) throw_input("--records '" + path + "': cannot open for appending (" + std::strerror(errno) + ")");
    m_owned = true;
}

RecordWriter::~RecordWriter() {
    if (m_owned) ::close(m_fd);
}

void RecordWriter::write(const BatchRecord& r) {
    const std::string line = record_line(r);
    if (!m_owned) std::fflush(stdout);  // after anything a job printed there through stdio
    ssize_t n;
    do {
        n = ::write(m_fd, line.data(), line.size());
    } while (n < 0 && errno == EINTR);
    if (n != ssize_t(line.size()))
        throw_runtime("--records '" + (m_path.empty() ? std::string("stdout") : m_path) +
                      "': cannot write a record (" + (n < 0 ? std::strerror(errno) : "short write") + ")");
}

}  // namespace nst::cli
