// SPDX-License-Identifier: MIT
#include "cli/batch_shard.h"

#include <cstdio>

#include "core/error.h"

namespace nst::cli {

namespace {

// A whole decimal number in [0, 2^31), or -1.
int parse_count(const std::string& s) {
    if (s.empty() || s.size() > 9 || s.find_first_not_of("0123456789") != std::string::npos) return -1;
    return std::stoi(s);
}

}  // namespace

Shard parse_shard(const std::string& text) {
    const std::size_t slash = text.find('/');
    const int i = slash == std::string::npos ? -1 : parse_count(text.substr(0, slash));
    const int n = slash == std::string::npos ? -1 : parse_count(text.substr(slash + 1));
    if (i < 0 || n < 1 || i >= n)
        throw_usage("--shard: expected I/N with 0 <= I < N (0-based, e.g. 0/4), got '" + text + "'");
    return {i, n};
}

Shard slurm_shard(const std::function<const char*(const char*)>& getenv) {
    const char* id = getenv("SLURM_ARRAY_TASK_ID");
    if (!id) return {};
    const auto value = [&](const char* name) {
        const char* v = getenv(name);
        if (!v) return -2;  // unset
        const int n = parse_count(v);
        if (n < 0) throw_usage(std::string(name) + "='" + v + "' is not a whole number");
        return n;
    };
    const int task = value("SLURM_ARRAY_TASK_ID");
    const int min = value("SLURM_ARRAY_TASK_MIN");
    const int max = value("SLURM_ARRAY_TASK_MAX");
    int count = value("SLURM_ARRAY_TASK_COUNT");
    const int first = min >= 0 ? min : 0;
    if (count < 0 && max >= 0) count = max - first + 1;
    if (count < 1) throw_usage("SLURM_ARRAY_TASK_ID is set but not SLURM_ARRAY_TASK_COUNT: give --shard I/N");
    const int index = task - first;
    if (index < 0 || index >= count)
        throw_usage("SLURM_ARRAY_TASK_ID=" + std::to_string(task) + " is outside the array (min " +
                    std::to_string(first) + ", " + std::to_string(count) +
                    " tasks): arrays with gaps or steps need --shard I/N");
    return {index, count};
}

}  // namespace nst::cli
