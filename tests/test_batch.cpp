// SPDX-License-Identifier: MIT
// `nst batch` (issue #15): manifest lines become the command lines they stand for, shards split
// the lines as documented, a batch's outputs are those of the single commands (bytes), failures
// are recorded without stopping the batch, reruns skip finished jobs, SIGTERM stops between jobs,
// and --slurm writes the array script (the real Slurm run is tests/slurm/run_slurm_test.sh).
#include <doctest/doctest.h>

#include <sys/wait.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <nlohmann/json.hpp>

#include "cli/batch_manifest.h"
#include "cli/batch_records.h"
#include "cli/batch_shard.h"
#include "core/error.h"
#include "test_errors.h"
#include "test_util.h"

using namespace nst;
using json = nlohmann::json;

namespace {

std::vector<json> read_records(const std::string& path) {
    std::vector<json> out;
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) out.push_back(json::parse(line));
    return out;
}

// One manifest line for a job of the fixture.
std::string job_line(const std::string& content, const std::string& style, const std::string& output,
                     const json& options) {
    return json{{"content", content}, {"style", style}, {"output", output}, {"options", options}}.dump();
}

// The options of the quick jobs, as RunImages::run_args spells them.
json quick_options(int seed) {
    return json{{"weights", "random:3"}, {"backend", "cpu"},      {"print-iter", 0},
                {"num-iterations", 3},   {"image-size", 32},      {"seed", seed}};
}

}  // namespace

TEST_CASE("batch: a manifest line is the command line it stands for") {
    const cli::BatchJob j = cli::parse_manifest_line(
        R"({"content": "c.png", "style": ["a,1.png", "b.png"], "output": "o.png",)"
        R"( "options": {"num-iterations": 20, "style-weight": 1e-3, "content-weight": 2.5, "original-colors": true,)"
        R"( "quiet": false, "scales": [64, 128], "weights": "random:2"}})",
        7);
    REQUIRE(j.error.empty());
    CHECK(j.line == 7);
    CHECK(j.command == "run");
    CHECK(j.output == "o.png");
    // nlohmann keeps object keys sorted: the options come in name order.
    const std::vector<std::string> want = {
        "run", "--content", "c.png", "--output", "o.png", "--style", "a,1.png", "--style", "b.png",
        "--content-weight", "2.5", "--num-iterations", "20", "--original-colors", "--scales", "64,128",
        "--style-weight", "0.001", "--weights", "random:2"};
    CHECK(j.args == want);
    const cli::BatchJob s = cli::parse_manifest_line(
        R"({"command": "stylize", "content": "c.png", "output": "o.png", "options": {"model": "m.safetensors"}})", 1);
    REQUIRE(s.error.empty());
    CHECK(s.args == std::vector<std::string>{"stylize", "--content", "c.png", "--output", "o.png", "--model",
                                             "m.safetensors"});
    // A double is written as the shortest text the CLI reads back as the same value.
    for (const double v : {0.1, 0.7, 1.0 / 3, 1e-300, 123456789.125, 5e22}) {
        const cli::BatchJob d = cli::parse_manifest_line(
            json{{"content", "c"}, {"style", "s"}, {"output", "o"}, {"options", {{"tv-weight", v}}}}.dump(), 1);
        REQUIRE(d.args.size() == 9);
        CHECK(std::stod(d.args[8]) == v);
        CAPTURE(d.args[8]);
        CHECK(d.args[8].size() <= 23);
    }
    const cli::BatchJob seven = cli::parse_manifest_line(
        R"({"content": "c", "style": "s", "output": "o", "options": {"style-blend-weights": [0.7, 0.3]}})", 1);
    CHECK(seven.args.back() == "0.7,0.3");

    const std::vector<std::pair<std::string, std::string>> bad = {
        {"{\"content\": ", "not valid JSON"},
        {"[1, 2]", "expected a JSON object"},
        {R"({"content": "c", "style": "s"})", "'output'"},
        {R"({"content": "c", "style": "s", "output": "o", "stlye": "x"})", "unknown key 'stlye'"},
        {R"({"content": "c", "style": "s", "output": "o", "command": "train"})", "expected run or stylize"},
        {R"({"content": "c", "style": "s", "output": "o", "options": {"output": "p"}})", "belongs at the top"},
        {R"({"content": "c", "style": "s", "output": "o", "options": {"--seed": 1}})", "without the dashes"},
        {R"({"content": "c", "style": "s", "output": "o", "options": {"seed": null}})", "option 'seed'"},
        {R"({"content": "c", "style": "s", "output": "o", "options": {"scales": [1, [2]]}})", "list items"},
        {R"({"content": "c", "style": 3, "output": "o"})", "'style'"},
    };
    for (const auto& [text, mention] : bad) {
        CAPTURE(text);
        const cli::BatchJob b = cli::parse_manifest_line(text, 2);
        CHECK(b.error.find(mention) != std::string::npos);
        CHECK(b.args.empty());
    }
}

TEST_CASE("batch: shards from --shard and from a Slurm array's variables") {
    const cli::Shard s = cli::parse_shard("1/3");
    CHECK(s.index == 1);
    CHECK(s.count == 3);
    std::vector<int> lines;
    for (int k = 1; k <= 9; ++k)
        if (s.contains(k)) lines.push_back(k);
    CHECK(lines == std::vector<int>{2, 5, 8});
    CHECK(s.str() == "1/3");
    for (const char* bad : {"3/3", "-1/3", "1/0", "1", "a/2", "1/2/3", "", "1/ 2"})
        CHECK_THROWS_WITH_AS(cli::parse_shard(bad), doctest::Contains("--shard"), Error);

    auto env = [](std::map<std::string, std::string> vars) {
        return [vars](const char* name) -> const char* {
            const auto it = vars.find(name);
            return it == vars.end() ? nullptr : it->second.c_str();
        };
    };
    const cli::Shard none = cli::slurm_shard(env({}));
    CHECK((none.index == 0 && none.count == 1));
    const cli::Shard a = cli::slurm_shard(env({{"SLURM_ARRAY_TASK_ID", "2"}, {"SLURM_ARRAY_TASK_COUNT", "4"}}));
    CHECK((a.index == 2 && a.count == 4));
    // An array 5-8: task 7 is the third.
    const cli::Shard b = cli::slurm_shard(
        env({{"SLURM_ARRAY_TASK_ID", "7"}, {"SLURM_ARRAY_TASK_MIN", "5"}, {"SLURM_ARRAY_TASK_COUNT", "4"}}));
    CHECK((b.index == 2 && b.count == 4));
    const cli::Shard c = cli::slurm_shard(
        env({{"SLURM_ARRAY_TASK_ID", "7"}, {"SLURM_ARRAY_TASK_MIN", "5"}, {"SLURM_ARRAY_TASK_MAX", "8"}}));
    CHECK((c.index == 2 && c.count == 4));
    // Steps (0-6:2 gives 4 tasks with ids up to 6) cannot be mapped: an error, not a wrong shard.
    CHECK_THROWS_AS(cli::slurm_shard(env({{"SLURM_ARRAY_TASK_ID", "6"}, {"SLURM_ARRAY_TASK_COUNT", "4"}})), Error);
    CHECK_THROWS_AS(cli::slurm_shard(env({{"SLURM_ARRAY_TASK_ID", "x"}, {"SLURM_ARRAY_TASK_COUNT", "4"}})), Error);
}

TEST_CASE("batch: records are one JSON line each and errors carry message and code") {
    cli::BatchRecord r;
    r.line = 3;
    r.status = "ok";
    r.output = "o\"ut.png";
    r.seconds = 1.5;
    r.iterations = 10;
    LossTerms t;
    t.content = {1.0, 2.0};
    t.style = {3.0};
    t.tv = 0.5;
    t.total = 6.5;
    r.terms = t;
    r.shard = "0/1";
    const std::string line = cli::record_line(r);
    CHECK(line.back() == '\n');
    CHECK(line.find('\n') == line.size() - 1);
    const json j = json::parse(line);
    CHECK(j["line"] == 3);
    CHECK(j["output"] == "o\"ut.png");
    CHECK(j["iterations"] == 10);
    CHECK(j["terms"]["content"] == 3.0);
    CHECK(j["terms"]["style"] == 3.0);
    CHECK(j["terms"]["total"] == 6.5);
    CHECK(!j.contains("error"));
    r.status = "error";
    r.error = "bad\nthing";
    r.exit_code = 3;
    r.terms.reset();
    r.iterations.reset();
    r.seconds = std::nan("");
    const json e = json::parse(cli::record_line(r));
    CHECK(e["error"] == "bad\nthing");
    CHECK(e["exit_code"] == 3);
    CHECK(e["seconds"].is_null());
    CHECK(!e.contains("terms"));
}

TEST_CASE("batch: jobs give the single commands bytes - failures are recorded - reruns skip") {
    const test::RunImages f("batch_run", 32, 32, 32, 32);
    // The same jobs as plain nst run commands.
    for (int k : {0, 1}) {
        const std::vector<std::string> extra = {"--num-iterations", "3", "--image-size", "32", "--seed",
                                                std::to_string(k)};
        REQUIRE(test::run_nst(f.run_args(f.path("cli" + std::to_string(k) + ".png"), extra)).exit_code == 0);
    }
    const std::string manifest = f.path("jobs.jsonl");
    const std::string lines =
        job_line(f.content, f.style, f.path("b0.png"), quick_options(0)) + "\n" +
        "{\"content\": oops}\n" +                                                          // line 2: bad JSON
        "\n" +                                                                            // blank: no job
        job_line(f.path("missing.png"), f.style, f.path("b3.png"), quick_options(0)) + "\n" +  // line 4: input
        job_line(f.content, f.style, f.path("b4.png"), quick_options(1)) + "\n" +
        job_line(f.content, f.style, f.path("b5.png"),                                     // line 6: non-finite
                 json{{"weights", "random:3"}, {"backend", "cpu"}, {"num-iterations", 2}, {"image-size", 32},
                      {"content-weight", 1e308}, {"style-weight", 1e308}}) + "\n" +
        job_line(f.content, f.style, f.path("b6.png"), json{{"no-such-option", 1}}) + "\n";  // line 7: usage
    test::write_file(manifest, lines);
    const std::string records = f.path("records.jsonl");

    const test::RunResult r = test::run_nst({"batch", manifest, "--records", records});
    INFO("stderr: " << r.err);
    CHECK(r.exit_code == 2);  // the first failure: line 2's manifest error
    CHECK(test::contains(r.err, "nst: error: 4 of 6 jobs failed"));
    std::vector<json> rec = read_records(records);
    REQUIRE(rec.size() == 6);
    const std::vector<int> want_lines = {1, 2, 4, 5, 6, 7};
    const std::vector<std::string> want_status = {"ok", "error", "error", "ok", "error", "error"};
    const std::vector<int> want_code = {0, 2, 3, 0, 4, 2};
    for (std::size_t i = 0; i < rec.size(); ++i) {
        CAPTURE(i);
        CHECK(rec[i]["line"] == want_lines[i]);
        CHECK(rec[i]["status"] == want_status[i]);
        CHECK(rec[i]["shard"] == "0/1");
        if (want_status[i] == "error") {
            CHECK(rec[i]["exit_code"] == want_code[i]);
            CHECK(!rec[i]["error"].get<std::string>().empty());
        } else {
            CHECK(rec[i]["iterations"] == 3);
            CHECK(rec[i]["terms"]["total"].get<double>() > 0);
        }
    }
    CHECK(test::contains(rec[2]["error"].get<std::string>(), "missing.png"));
    CHECK(test::contains(rec[4]["error"].get<std::string>(), "non-finite"));
    CHECK(test::contains(rec[5]["error"].get<std::string>(), "--no-such-option"));
    // Byte for byte the plain commands' outputs; nothing written for the failures.
    CHECK(test::read_file(f.path("b0.png")) == test::read_file(f.path("cli0.png")));
    CHECK(test::read_file(f.path("b4.png")) == test::read_file(f.path("cli1.png")));
    for (const char* none : {"b3.png", "b5.png", "b6.png"}) CHECK(!test::file_exists(f.path(none)));

    // A rerun appends: finished jobs are skipped, the failures fail again.
    const test::RunResult again = test::run_nst({"batch", manifest, "--records", records, "--quiet"});
    CHECK(again.exit_code == 2);
    rec = read_records(records);
    REQUIRE(rec.size() == 12);
    CHECK(rec[6]["status"] == "skipped");
    CHECK(rec[9]["status"] == "skipped");
    CHECK(rec[7]["status"] == "error");
    CHECK(test::read_file(f.path("b0.png")) == test::read_file(f.path("cli0.png")));

    // Shard 1/2 takes the lines k with (k - 1) % 2 == 1: 2, 4, 6 (to stdout).
    const test::RunResult shard = test::run_nst({"batch", manifest, "--shard", "1/2", "--quiet"});
    CHECK(shard.exit_code == 2);
    std::vector<int> shard_lines;
    std::istringstream out(shard.out);
    for (std::string line; std::getline(out, line);) {
        const json j = json::parse(line);
        CHECK(j["shard"] == "1/2");
        shard_lines.push_back(j["line"].get<int>());
    }
    CHECK(shard_lines == std::vector<int>{2, 4, 6});
}

TEST_CASE("batch: exit codes of the batch itself") {
    const test::RunImages f("batch_errors", 32, 32, 32, 32);
    test::check_cli_error({"batch", f.path("none.jsonl"), "--records", f.path("r.jsonl")}, 3, f.path("r.jsonl"),
                          "none.jsonl");
    test::check_cli_error({"batch", f.dir}, 3, f.path("r.jsonl"), "folder");
    test::write_file(f.path("ok.jsonl"), job_line(f.content, f.style, f.path("o.png"), quick_options(0)) + "\n");
    test::check_cli_error({"batch", f.path("ok.jsonl"), "--shard", "2/2"}, 2, f.path("r.jsonl"), "--shard");
    test::check_cli_error({"batch", f.path("ok.jsonl"), "--slurm-tasks", "2"}, 2, f.path("r.jsonl"), "--slurm");
    test::check_cli_error({"batch", f.path("ok.jsonl"), "--slurm", "--shard", "0/2", "--slurm-dry-run"}, 2,
                          f.path("r.jsonl"), "--shard");
    test::check_cli_error({"batch", f.path("ok.jsonl"), "--slurm", "--slurm-dry-run", "--slurm-extra=mem"}, 2,
                          f.path("r.jsonl"), "--slurm-extra");
    // A bad SLURM_ARRAY_TASK_ID without --shard is a usage error too.
    ::setenv("SLURM_ARRAY_TASK_ID", "9", 1);
    ::setenv("SLURM_ARRAY_TASK_COUNT", "2", 1);
    test::check_cli_error({"batch", f.path("ok.jsonl")}, 2, f.path("r.jsonl"), "SLURM_ARRAY_TASK_ID");
    // ... and a good one picks the shard: task 1 of 2 has no job in a one-line manifest.
    ::setenv("SLURM_ARRAY_TASK_ID", "1", 1);
    const test::RunResult empty = test::run_nst({"batch", f.path("ok.jsonl")});
    ::unsetenv("SLURM_ARRAY_TASK_ID");
    ::unsetenv("SLURM_ARRAY_TASK_COUNT");
    CHECK(empty.exit_code == 0);
    CHECK(empty.out.empty());
    CHECK(!test::file_exists(f.path("o.png")));
    CHECK(test::read_file(f.path("r.jsonl")) == "previous output");  // check_cli_error's sentinel, untouched
}

TEST_CASE("batch: --slurm writes the array script and without sbatch says so") {
    const test::RunImages f("batch_slurm", 32, 32, 32, 32);
    std::string lines;
    for (int k = 0; k < 5; ++k) lines += job_line(f.content, f.style, f.path("o" + std::to_string(k) + ".png"), quick_options(k)) + "\n";
    test::write_file(f.path("jobs.jsonl"), lines);
    const test::RunResult dry = test::run_nst({"batch", f.path("jobs.jsonl"), "--slurm", "--slurm-dry-run",
                                               "--slurm-tasks", "3", "--slurm-gpus-per-task", "1", "--slurm-time",
                                               "00:10:00", "--slurm-partition", "gpu", "--slurm-cpus-per-task", "4",
                                               "--slurm-extra=--mem=8G", "--slurm-extra=--qos=low", "--quiet"});
    INFO("stderr: " << dry.err);
    REQUIRE(dry.exit_code == 0);
    const std::string base = f.dir + "/jobs";
    for (const std::string& want :
         {std::string("#!/bin/bash\n"), std::string("#SBATCH --array=0-2\n"), "#SBATCH --output=" + base + ".slurm.%A_%a.out\n",
          std::string("#SBATCH --time=00:10:00\n"), std::string("#SBATCH --partition=gpu\n"),
          std::string("#SBATCH --cpus-per-task=4\n"), std::string("#SBATCH --gpus-per-task=1\n"),
          std::string("#SBATCH --mem=8G\n#SBATCH --qos=low\n"),
          " batch '" + base + ".jsonl' --records '" + base + ".records'\".$SLURM_ARRAY_TASK_ID.jsonl\" '--quiet'\n"}) {
        CAPTURE(want);
        CHECK(test::contains(dry.out, want));
    }
    CHECK(!test::file_exists(base + ".sbatch"));  // a dry run writes nothing
    // Default: one task per job (5 here); --records names the records' base.
    const test::RunResult dflt = test::run_nst(
        {"batch", f.path("jobs.jsonl"), "--slurm", "--slurm-dry-run", "--records", f.path("rec/all.jsonl")});
    CHECK(test::contains(dflt.out, "#SBATCH --array=0-4\n"));
    CHECK(test::contains(dflt.out, "--records '" + f.dir + "/rec/all'\".$SLURM_ARRAY_TASK_ID.jsonl\""));
    CHECK(!test::contains(dflt.out, "--gpus-per-task"));

    // No sbatch on PATH: a runtime error naming it; the script is written, the records untouched.
    const char* old_path = std::getenv("PATH");
    const std::string saved = old_path ? old_path : "";
    ::setenv("PATH", f.dir.c_str(), 1);
    test::check_cli_error({"batch", f.path("jobs.jsonl"), "--slurm"}, 4, f.path("jobs.records.0.jsonl"), "sbatch");
    ::setenv("PATH", saved.c_str(), 1);
    CHECK(test::file_exists(base + ".sbatch"));
}

TEST_CASE("batch: SIGTERM stops after the job in flight and its output is complete") {
    const test::RunImages f("batch_sigterm", 48, 48, 32, 32);
    std::string lines;
    for (int k = 0; k < 4; ++k) {
        json o = quick_options(k);
        o["num-iterations"] = 20;
        o["image-size"] = 48;
        lines += job_line(f.content, f.style, f.path("o" + std::to_string(k) + ".png"), o) + "\n";
    }
    test::write_file(f.path("jobs.jsonl"), lines);
    // The batch in the background; SIGTERM once the first record is out (job 2 then runs).
    // (cd is a command of its own: `cd && nst &` would background a subshell, and $! be its pid.)
    const std::string script = "cd " + f.dir + " || exit 1; " + std::string(NST_EXE) +
                               " batch jobs.jsonl --records rec.jsonl 2>err.txt & pid=$!; "
                               "for i in $(seq 2400); do [ -s rec.jsonl ] && break; sleep 0.05; done; "
                               "kill -TERM $pid; wait $pid; echo $? > code.txt";
    REQUIRE(std::system(("bash -c '" + script + "'").c_str()) == 0);
    const std::string err = test::read_file(f.path("err.txt"));
    INFO("stderr: " << err);
    CHECK(std::stoi(test::read_file(f.path("code.txt"))) == 4);
    CHECK(test::contains(err, "nst: error: interrupted by SIGTERM after "));
    const std::vector<json> rec = read_records(f.path("rec.jsonl"));
    CHECK(rec.size() >= 1);
    CHECK(rec.size() <= 2);
    for (const json& r : rec) {
        CHECK(r["status"] == "ok");
        CHECK(r["iterations"] == 20);  // the job in flight ran to its end
        CHECK(test::file_exists(r["output"].get<std::string>()));
    }
    for (std::size_t k = rec.size(); k < 4; ++k) CHECK(!test::file_exists(f.path("o" + std::to_string(k) + ".png")));
}
