// SPDX-License-Identifier: MIT
// What the machine has for nst (issue #11, the memory planner): the process's resident set, the
// memory the kernel could still hand out, the cgroup's limit, and the SIZE syntax of
// --memory-limit. Linux only: elsewhere the readers report "unknown" (0), and the planner then
// has no default limit.
#pragma once
#include <cstddef>
#include <string>

namespace nst {

// Resident set of this process now, in bytes (/proc/self/statm); 0 if unknown.
std::size_t resident_bytes();
// MemAvailable of /proc/meminfo in bytes; 0 if unknown.
std::size_t available_bytes();
// The lowest memory limit of this process's cgroups in bytes: cgroup v2 memory.max, or v1
// memory.limit_in_bytes, of its group and the groups above it; 0 when there is none or unknown.
std::size_t cgroup_limit_bytes();

// The parsers behind them, on the files' text (so that tests need no particular machine).
std::size_t parse_meminfo_available(const std::string& meminfo);   // 0 if the field is missing
std::size_t parse_cgroup_memory_max(const std::string& text);      // 0 for "max", v1's 2^63-ish, garbage
// The group's path in /proc/self/cgroup: controller "" = the v2 line "0::/path", else the v1 line
// "N:controller:/path"; "" when there is none.
std::string parse_cgroup_path(const std::string& proc_self_cgroup, const std::string& controller);

// The fraction of the memory found that the default limit keeps back: other processes, the page
// cache nst's own files need, and the error of the model (docs/conventions.md, "Memory planner").
constexpr double kDefaultLimitMargin = 0.10;

// The default --memory-limit on the CPU: what this process could hold, (MemAvailable + its
// resident set) or the cgroup's memory.max when that is lower, minus kDefaultLimitMargin.
// 0 when neither is known (no limit).
std::size_t default_host_limit();

// --memory-limit SIZE: a number of bytes, optionally fractional, with an optional binary suffix
// K, M, G or T (either case, optionally followed by "iB"): "16G", "1.5G", "512MiB", "1000000".
// Usage error (exit 2) naming `option` for anything else, zero, or more than 2^62 bytes.
std::size_t parse_memory_size(const std::string& text, const std::string& option);

// "812 MiB", "1.50 GiB", "512 KiB", "100 B": for messages and plans.
std::string format_bytes(std::size_t bytes);

}  // namespace nst
