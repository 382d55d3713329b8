// SPDX-License-Identifier: MIT
// `nst batch --slurm`: the sbatch array script that runs a manifest's shards, one array task per
// shard (task i runs `nst batch MANIFEST --shard i/N`, which the task also infers from its
// SLURM_ARRAY_TASK_* variables), and its submission. tools/slurm/ holds the same script as a
// template for users who submit by hand.
#pragma once
#include <string>
#include <vector>

namespace nst::cli {

struct SlurmOptions {
    int tasks = 0;               // array size N; 0: one task per job, at most kDefaultMaxTasks
    int gpus_per_task = 0;       // --gpus-per-task (0: none requested)
    int cpus_per_task = 0;       // --cpus-per-task (0: Slurm's default)
    std::string time;            // --time, as sbatch takes it ("" = the partition's default)
    std::string partition;       // "" = the default partition
    std::vector<std::string> extra;  // further #SBATCH lines, e.g. --mem=8G
    bool dry_run = false;        // print the script, submit nothing
};

constexpr int kDefaultMaxTasks = 16;

// Everything the script needs besides the options: absolute paths, since the tasks may start
// anywhere.
struct SlurmJob {
    std::string nst;            // the nst executable
    std::string manifest;       // absolute
    std::string workdir;        // where relative manifest paths are resolved (submission's cwd)
    std::string records_base;   // records go to <records_base>.<task>.jsonl
    std::string log_base;       // task logs: <log_base>.%A_%a.out
    std::vector<std::string> batch_args;  // further nst batch options passed through (e.g. --quiet)
};

// Checks the options' values (usage errors, exit 2).
void check_slurm_options(const SlurmOptions& o);

// The sbatch script text.
std::string slurm_script(const SlurmOptions& o, int tasks, const SlurmJob& job);

// Submits `script_path` with `sbatch --parsable` and returns the job id. A runtime error (exit 4)
// when sbatch is missing or refuses the script (with sbatch's message).
std::string submit_sbatch(const std::string& script_path);

// A word quoted for bash (single quotes).
std::string shell_quote(const std::string& word);

}  // namespace nst::cli
