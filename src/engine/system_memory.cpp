// SPDX-License-Identifier: MIT
#include "engine/system_memory.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace nst {

namespace {

std::string read_text(const std::string& path) {
    std::ifstream f(path);
    if (!f) return "";
    std::ostringstream s;
    s << f.rdbuf();
    return s.str();
}

// A decimal count of bytes (or KiB) at the start of `text`, after blanks; 0 if there is none.
std::size_t leading_number(const std::string& text, std::size_t pos) {
    while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\t')) ++pos;
    if (pos >= text.size() || !std::isdigit(static_cast<unsigned char>(text[pos]))) return 0;
    std::size_t v = 0;
    for (; pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos])); ++pos) {
        if (v > (std::size_t(1) << 60)) return 0;  // absurd: treat as unknown
        v = v * 10 + std::size_t(text[pos] - '0');
    }
    return v;
}

}  // namespace

std::size_t parse_meminfo_available(const std::string& meminfo) {
    const std::string key = "MemAvailable:";
    std::size_t at = meminfo.find(key);
    // The key must begin a line (no other field ends in it today, but be exact).
    while (at != std::string::npos && at != 0 && meminfo[at - 1] != '\n') at = meminfo.find(key, at + 1);
    if (at == std::string::npos) return 0;
    return leading_number(meminfo, at + key.size()) * 1024;  // the kernel reports kB = KiB
}

std::size_t parse_cgroup_memory_max(const std::string& text) {
    const std::size_t v = leading_number(text, 0);
    // cgroup v1 writes "no limit" as a huge page-aligned number (2^63 - 4096).
    return v >= (std::size_t(1) << 60) ? 0 : v;
}

std::string parse_cgroup_path(const std::string& proc_self_cgroup, const std::string& controller) {
    const std::string key = controller.empty() ? "0::" : ":" + controller + ":";
    std::istringstream lines(proc_self_cgroup);
    for (std::string line; std::getline(lines, line);) {
        const std::size_t at = controller.empty() ? (line.rfind(key, 0) == 0 ? 0 : std::string::npos) : line.find(key);
        if (at != std::string::npos) return line.substr(at + key.size());
    }
    return "";
}

std::size_t resident_bytes() {
    std::ifstream f("/proc/self/statm");
    std::size_t size = 0, resident = 0;
    if (!(f >> size >> resident)) return 0;
    const long page = sysconf(_SC_PAGESIZE);
    return resident * std::size_t(page > 0 ? page : 4096);
}

std::size_t available_bytes() { return parse_meminfo_available(read_text("/proc/meminfo")); }

namespace {

// The lowest limit `file` sets in the group `path` under `root` and the groups above it (each of
// them limits the process).
std::size_t lowest_limit(const std::string& root, std::string path, const std::string& file) {
    std::size_t lowest = 0;
    while (!path.empty()) {
        const std::size_t v = parse_cgroup_memory_max(read_text(root + (path == "/" ? "" : path) + "/" + file));
        if (v > 0) lowest = lowest == 0 ? v : std::min(lowest, v);
        if (path == "/") break;
        const std::size_t slash = path.find_last_of('/');
        path = slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
    }
    return lowest;
}

}  // namespace

std::size_t cgroup_limit_bytes() {
    const std::string self = read_text("/proc/self/cgroup");
    const std::size_t v2 = lowest_limit("/sys/fs/cgroup", parse_cgroup_path(self, ""), "memory.max");
    // cgroup v1 hierarchies (still common on older hosts) keep the limit elsewhere.
    const std::size_t v1 =
        lowest_limit("/sys/fs/cgroup/memory", parse_cgroup_path(self, "memory"), "memory.limit_in_bytes");
    if (v1 == 0 || v2 == 0) return std::max(v1, v2);
    return std::min(v1, v2);
}

std::size_t default_host_limit() {
    const std::size_t available = available_bytes();
    std::size_t have = available > 0 ? available + resident_bytes() : 0;
    const std::size_t cgroup = cgroup_limit_bytes();
    if (cgroup > 0 && (have == 0 || cgroup < have)) have = cgroup;
    return std::size_t(double(have) * (1.0 - kDefaultLimitMargin));
}

std::size_t parse_memory_size(const std::string& text, const std::string& option) {
    const auto bad = [&](const std::string& why) -> std::size_t {
        throw_usage(option + ": '" + text + "' " + why + " (expected bytes with an optional K, M, G or T suffix, e.g. 16G, 1.5G, 512M)");
    };
    std::size_t pos = 0;
    while (pos < text.size() && (std::isdigit(static_cast<unsigned char>(text[pos])) || text[pos] == '.')) ++pos;
    const std::string number = text.substr(0, pos);
    if (number.empty() || std::count(number.begin(), number.end(), '.') > 1 || number == ".")
        return bad("is not a size");
    const double value = std::strtod(number.c_str(), nullptr);
    std::string suffix = text.substr(pos);
    if (suffix.size() == 3 && (suffix.compare(1, 2, "iB") == 0 || suffix.compare(1, 2, "ib") == 0)) suffix.resize(1);
    int shift = 0;
    if (suffix.size() == 1) {
        switch (std::toupper(static_cast<unsigned char>(suffix[0]))) {
            case 'K': shift = 10; break;
            case 'M': shift = 20; break;
            case 'G': shift = 30; break;
            case 'T': shift = 40; break;
            default: return bad("has an unknown suffix");
        }
    } else if (!suffix.empty()) {
        return bad("has an unknown suffix");
    }
    const double bytes = std::floor(std::ldexp(value, shift));
    if (!(bytes >= 1)) return bad("is less than one byte");
    if (!(bytes <= std::ldexp(1.0, 62))) return bad("is too large");
    return std::size_t(bytes);
}

std::string format_bytes(std::size_t bytes) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = double(bytes);
    int u = 0;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        ++u;
    }
    char buf[32];
    if (u == 0 || v >= 100)
        std::snprintf(buf, sizeof buf, "%.0f %s", v, units[u]);
    else
        std::snprintf(buf, sizeof buf, "%.*f %s", v >= 10 ? 1 : 2, v, units[u]);
    return buf;
}

}  // namespace nst
