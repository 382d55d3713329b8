// SPDX-License-Identifier: MIT
// The manifest of `nst batch`: JSON Lines, one job per line, turned into the argv of the `nst run`
// or `nst stylize` command line the job stands for (docs/conventions.md, "nst batch").
//
//   {"command": "run", "content": "c.jpg", "style": ["s1.jpg", "s2.jpg"], "output": "out/1.png",
//    "options": {"num-iterations": 200, "weights": "random", "original-colors": true}}
//
// Options are the CLI's long options without "--": a string or number is the option's value, a
// list becomes a comma list, true a bare flag, false leaves the option out. The command line then
// goes through the CLI's own parser, so an unknown option is the CLI's usage error.
#pragma once
#include <string>
#include <vector>

namespace nst::cli {

struct BatchJob {
    int line = 0;                   // 1-based line of the manifest
    std::string command;            // run or stylize
    std::string output;             // the job's --output ("" when the line is invalid)
    std::vector<std::string> args;  // the argv after the program name
    std::string error;              // the line cannot be a job: why (usage error, exit 2)
};

// One manifest line (not blank) as a job; a line that is not a valid job has `error` set.
BatchJob parse_manifest_line(const std::string& text, int line);

// The manifest's jobs, one per non-blank line, in order. Throws an input error (exit 3) when the
// file cannot be read.
std::vector<BatchJob> read_manifest(const std::string& path);

}  // namespace nst::cli
