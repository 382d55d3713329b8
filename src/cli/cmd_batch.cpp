// SPDX-License-Identifier: MIT
// `nst batch MANIFEST.jsonl` (issue #15): the manifest's jobs (batch_manifest.h) run one after
// another in this process through run_in_process(), so that each job is exactly its `nst run` /
// `nst stylize` command line, while weights and models load once (WeightCache). One record per
// job (batch_records.h); a failed job does not stop the others; a job whose output exists is
// skipped (outputs are written atomically, so existing means complete), which makes a rerun
// resume. --shard / Slurm array variables split the manifest (batch_shard.h); --slurm writes and
// submits the array script instead (slurm_script.h).
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>

#include "cli/batch_manifest.h"
#include "cli/batch_records.h"
#include "cli/batch_shard.h"
#include "cli/batch_signals.h"
#include "cli/commands.h"
#include "cli/in_process.h"
#include "cli/progress.h"
#include "cli/slurm_script.h"
#include "cli/weight_cache.h"
#include "core/error.h"
#include "io/atomic_file.h"

namespace nst::cli {

namespace {

namespace fs = std::filesystem;

struct BatchOptions {
    std::string manifest;
    std::string records;  // "" = stdout
    std::string shard;    // "" = from Slurm's variables, else 0/1
    bool quiet = false;
    bool slurm = false;
    SlurmOptions slurm_options;
    std::vector<CLI::Option*> slurm_only;  // the --slurm-* options, refused without --slurm
};

// One job through the CLI's code; its record.
BatchRecord run_job(const BatchJob& job, WeightCache& cache) {
    BatchRecord r;
    r.line = job.line;
    r.output = job.output;
    if (!job.error.empty()) {
        r.status = "error";
        r.error = "manifest line " + std::to_string(job.line) + ": " + job.error;
        r.exit_code = int(ExitCode::Usage);
        return r;
    }
    std::error_code ec;
    if (fs::is_regular_file(job.output, ec)) {
        r.status = "skipped";
        return r;
    }
    RunHooks hooks;
    hooks.cache = &cache;
    const auto start = std::chrono::steady_clock::now();
    try {
        ScopedRunHooks scope(hooks);
        run_in_process(job.args);
        r.status = "ok";
        if (job.command == "run") {
            r.iterations = hooks.iterations_done;
            if (hooks.iterations_done > 0) r.terms = hooks.final_terms;
        }
    } catch (const Error& e) {
        r.status = "error";
        r.error = e.what();
        r.exit_code = int(e.code());
    }
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return r;
}

// This executable, so that the array tasks run the same nst.
std::string self_path() {
    std::error_code ec;
    const fs::path p = fs::read_symlink("/proc/self/exe", ec);
    if (ec) throw_runtime("--slurm: cannot find the nst executable's path (" + ec.message() + ")");
    return p.string();
}

void submit(const BatchOptions& o, const std::vector<BatchJob>& jobs) {
    check_slurm_options(o.slurm_options);
    if (!o.shard.empty()) throw_usage("--shard with --slurm: each array task takes its own shard");
    if (jobs.empty()) throw_input("manifest '" + o.manifest + "': no jobs");
    const int tasks = o.slurm_options.tasks > 0 ? o.slurm_options.tasks
                                                : std::min<int>(int(jobs.size()), kDefaultMaxTasks);
    const fs::path manifest = fs::absolute(o.manifest).lexically_normal();
    const fs::path stem = manifest.parent_path() / manifest.stem();
    SlurmJob job;
    job.nst = self_path();
    job.manifest = manifest.string();
    job.workdir = fs::current_path().string();
    job.log_base = stem.string() + ".slurm";
    if (o.records.empty()) {
        job.records_base = stem.string() + ".records";
    } else {
        fs::path r = fs::absolute(o.records).lexically_normal();
        if (r.extension() == ".jsonl") r.replace_extension();
        job.records_base = r.string();
    }
    if (o.quiet) job.batch_args.push_back("--quiet");
    const std::string script = slurm_script(o.slurm_options, tasks, job);
    if (o.slurm_options.dry_run) {
        std::fputs(script.c_str(), stdout);
        return;
    }
    const std::string script_path = stem.string() + ".sbatch";
    write_file_atomic(script_path, script.data(), script.size());
    const std::string id = submit_sbatch(script_path);
    std::printf("%s\n", id.c_str());
    std::fflush(stdout);
    if (!o.quiet)
        std::fprintf(stderr, "nst: submitted %s: job %s, %d array tasks; records %s.<task>.jsonl, logs %s.%s_<task>.out\n",
                     script_path.c_str(), id.c_str(), tasks, job.records_base.c_str(), job.log_base.c_str(),
                     id.c_str());
}

void batch(const BatchOptions& o) {
    // Option values first (exit 2), then files (exit 3).
    for (const CLI::Option* opt : o.slurm_only)
        if (!o.slurm && opt->count() > 0) throw_usage(opt->get_name() + ": needs --slurm");
    std::optional<Shard> shard;
    if (!o.slurm) shard = o.shard.empty() ? slurm_shard(std::getenv) : parse_shard(o.shard);
    std::error_code ec;
    if (fs::is_directory(o.manifest, ec)) throw_input("manifest '" + o.manifest + "' is a folder");
    const std::vector<BatchJob> jobs = read_manifest(o.manifest);
    if (o.slurm) return submit(o, jobs);

    std::vector<const BatchJob*> mine;
    for (const BatchJob& j : jobs)
        if (shard->contains(j.line)) mine.push_back(&j);
    RecordWriter records(o.records);
    BatchSignalGuard signals;
    WeightCache cache;
    const auto start = std::chrono::steady_clock::now();
    double run_seconds = 0;  // of the jobs that ran (skips cost nothing), for the ETA
    int ran = 0, failed = 0, first_failure = 0;
    std::string first_message;
    std::size_t done = 0;
    for (; done < mine.size() && !BatchSignalGuard::stop_signal(); ++done) {
        BatchRecord r = run_job(*mine[done], cache);
        r.shard = shard->str();
        records.write(r);
        if (r.status != "skipped") {
            ++ran;
            run_seconds += r.seconds;
        }
        if (r.status == "error" && failed++ == 0) {
            first_failure = r.exit_code;
            first_message = "line " + std::to_string(r.line) + ": " + r.error;
        }
        if (!o.quiet) {
            const std::size_t left = mine.size() - done - 1;
            const double eta = ran > 0 ? run_seconds / ran * double(left) : 0;
            std::fprintf(stderr, "nst: batch %zu/%zu (line %d) %s%s  %.2f s  ETA %s\n", done + 1, mine.size(), r.line,
                         r.status.c_str(), r.status == "error" ? (": " + r.error).c_str() : "", r.seconds,
                         format_duration(eta).c_str());
        }
    }
    if (const int sig = BatchSignalGuard::stop_signal())
        throw_runtime(std::string("interrupted by ") + (sig == SIGINT ? "SIGINT" : "SIGTERM") + " after " +
                      std::to_string(done) + " of " + std::to_string(mine.size()) + " jobs of shard " + shard->str() +
                      "; their outputs are complete, a rerun resumes");
    if (!o.quiet)
        std::fprintf(stderr, "nst: batch: %zu jobs (shard %s) in %.2f s, %d failed\n", mine.size(),
                     shard->str().c_str(),
                     std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), failed);
    if (failed > 0)
        throw Error(ExitCode(first_failure), std::to_string(failed) + " of " + std::to_string(mine.size()) +
                                                 " jobs failed (see the records); the first, " + first_message);
}

}  // namespace

Command add_batch_command(CLI::App& app) {
    auto o = std::make_shared<BatchOptions>();
    CLI::App* sub = app.add_subcommand(
        "batch", "run the nst run / nst stylize jobs of a JSON Lines manifest in one process (weights load once)");
    sub->add_option("manifest", o->manifest, "JSON Lines: one job per line (see README, 'Batch and clusters')")
        ->required();
    sub->add_option("--records", o->records, "append one JSON record per job to this file (default: stdout)");
    sub->add_option("--shard", o->shard,
                    "I/N: run the lines k (0-based) with k % N == I (default: from SLURM_ARRAY_TASK_ID/COUNT)");
    sub->add_flag("--quiet", o->quiet, "no progress line per job (the jobs' own output is their options')");
    sub->add_flag("--slurm", o->slurm, "write an sbatch array script next to the manifest and submit it");
    SlurmOptions& s = o->slurm_options;
    o->slurm_only = {
        sub->add_option("--slurm-tasks", s.tasks, "array tasks (default: one per job, at most 16)"),
        sub->add_option("--slurm-gpus-per-task", s.gpus_per_task, "GPUs per task (default: none)"),
        sub->add_option("--slurm-cpus-per-task", s.cpus_per_task, "CPUs per task (default: Slurm's)"),
        sub->add_option("--slurm-time", s.time, "time limit per task, as sbatch --time takes it"),
        sub->add_option("--slurm-partition", s.partition, "partition (default: the cluster's)"),
        sub->add_option("--slurm-extra", s.extra, "further sbatch option, e.g. --slurm-extra=--mem=8G (repeatable)")
            ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll),
        sub->add_flag("--slurm-dry-run", s.dry_run, "print the script; write and submit nothing"),
    };
    return [o] { batch(*o); };
}

}  // namespace nst::cli
