// SPDX-License-Identifier: MIT
#include "cli/slurm_script.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "cli/split.h"
#include "core/error.h"

namespace nst::cli {

namespace {

// An #SBATCH value is read by sbatch line by line: a newline would start a new directive.
void check_line(const std::string& value, const std::string& option) {
    if (value.find_first_of("\n\r") != std::string::npos) throw_usage(option + ": must be one line");
}

// The directory of PATH that holds an executable `name`, or "".
std::string find_on_path(const std::string& name) {
    const char* path = std::getenv("PATH");
    if (!path) return "";
    for (const std::string& dir : split(path, ':')) {
        const std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
        if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    return "";
}

}  // namespace

std::string shell_quote(const std::string& word) {
    std::string out = "'";
    for (char c : word) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

void check_slurm_options(const SlurmOptions& o) {
    if (o.tasks < 0 || o.tasks > 100000) throw_usage("--slurm-tasks: must be in 1..100000");
    if (o.gpus_per_task < 0) throw_usage("--slurm-gpus-per-task: must be >= 0");
    if (o.cpus_per_task < 0) throw_usage("--slurm-cpus-per-task: must be >= 0");
    check_line(o.time, "--slurm-time");
    check_line(o.partition, "--slurm-partition");
    for (const std::string& e : o.extra) {
        check_line(e, "--slurm-extra");
        if (e.rfind("-", 0) != 0)
            throw_usage("--slurm-extra '" + e + "': expected an sbatch option such as --mem=8G (give it as "
                        "--slurm-extra=--mem=8G)");
    }
}

std::string slurm_script(const SlurmOptions& o, int tasks, const SlurmJob& job) {
    std::string s = "#!/bin/bash\n";
    s += "# nst batch: " + std::to_string(tasks) + " array tasks over " + job.manifest + "\n";
    s += "# Written by `nst batch --slurm`. Task i runs the manifest lines k (0-based) with k % " +
         std::to_string(tasks) + " == i,\n# its shard taken from SLURM_ARRAY_TASK_ID / SLURM_ARRAY_TASK_COUNT. "
         "Resubmitting skips jobs\n# whose output exists (outputs are written atomically).\n";
    s += "#SBATCH --job-name=nst-batch\n";
    s += "#SBATCH --array=0-" + std::to_string(tasks - 1) + "\n";
    s += "#SBATCH --output=" + job.log_base + ".%A_%a.out\n";
    if (!o.time.empty()) s += "#SBATCH --time=" + o.time + "\n";
    if (!o.partition.empty()) s += "#SBATCH --partition=" + o.partition + "\n";
    if (o.cpus_per_task > 0) s += "#SBATCH --cpus-per-task=" + std::to_string(o.cpus_per_task) + "\n";
    if (o.gpus_per_task > 0) s += "#SBATCH --gpus-per-task=" + std::to_string(o.gpus_per_task) + "\n";
    for (const std::string& e : o.extra) s += "#SBATCH " + e + "\n";
    s += "set -eu\n";
    s += "cd " + shell_quote(job.workdir) + "\n";
    s += "exec " + shell_quote(job.nst) + " batch " + shell_quote(job.manifest) + " --records " +
         shell_quote(job.records_base) + "\".$SLURM_ARRAY_TASK_ID.jsonl\"";
    for (const std::string& a : job.batch_args) s += " " + shell_quote(a);
    return s + "\n";
}

std::string submit_sbatch(const std::string& script_path) {
    if (find_on_path("sbatch").empty())
        throw_runtime("--slurm: sbatch was not found on PATH (is this a Slurm login node?); --slurm-dry-run prints "
                      "the script without submitting it");
    const std::string command = "sbatch --parsable " + shell_quote(script_path) + " 2>&1";
    FILE* pipe = ::popen(command.c_str(), "r");
    if (!pipe) throw_runtime("--slurm: cannot run sbatch");
    std::string out;
    char buf[512];
    while (std::fgets(buf, sizeof buf, pipe)) out += buf;
    const int status = ::pclose(pipe);
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
    if (status != 0 || out.empty()) {
        for (char& c : out)
            if (c == '\n') c = ' ';
        throw_runtime("--slurm: sbatch refused " + script_path + ": " + (out.empty() ? "no output" : out));
    }
    return out.substr(0, out.find(';'));  // --parsable: JOBID[;CLUSTER]
}

}  // namespace nst::cli
