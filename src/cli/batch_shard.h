// SPDX-License-Identifier: MIT
// Which manifest lines one process of `nst batch` runs: shard i of n takes the lines whose
// 0-based index k (line number - 1) has k % n == i. Given by --shard i/n, or taken from a Slurm
// job array's environment when --shard is absent.
#pragma once
#include <functional>
#include <string>

namespace nst::cli {

struct Shard {
    int index = 0;  // 0-based, < count
    int count = 1;
    bool contains(int line) const { return (line - 1) % count == index; }
    std::string str() const { return std::to_string(index) + "/" + std::to_string(count); }
};

// "i/n" with 0 <= i < n; a usage error (exit 2) naming --shard otherwise.
Shard parse_shard(const std::string& text);

// The shard of a Slurm array task: i = SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN (0 when unset),
// n = SLURM_ARRAY_TASK_COUNT (or MAX - MIN + 1). Outside an array job: 0/1. `getenv` is the
// environment (a parameter so that tests can give their own). Inconsistent values: usage error.
Shard slurm_shard(const std::function<const char*(const char*)>& getenv);

}  // namespace nst::cli
