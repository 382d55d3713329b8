// SPDX-License-Identifier: MIT
#include "cli/batch_manifest.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace nst::cli {

namespace {

using json = nlohmann::json;

// The job's own keys; everything else is an option under "options".
const char* const kJobKeys[] = {"command", "content", "style", "output", "options"};

// A JSON scalar as the command line would spell it; false for a value that has no spelling.
bool scalar_text(const json& v, std::string& out) {
    if (v.is_string()) {
        out = v.get<std::string>();
    } else if (v.is_number_integer()) {
        out = v.is_number_unsigned() ? std::to_string(v.get<unsigned long long>()) : std::to_string(v.get<long long>());
    } else if (v.is_number_float()) {
        const double d = v.get<double>();
        if (!std::isfinite(d)) return false;
        // The shortest text that reads back as the same double (0.7, not 0.69999999999999996).
        char buf[32];
        for (int digits = 15; digits <= 17; ++digits) {
            std::snprintf(buf, sizeof buf, "%.*g", digits, d);
            if (std::strtod(buf, nullptr) == d) break;
        }
        out = buf;
    } else {
        return false;
    }
    return true;
}

// Appends --name VALUE (or --name for true) for one option; "" when done, else the reason.
std::string append_option(const std::string& name, const json& v, std::vector<std::string>& args) {
    const std::string flag = "--" + name;
    if (v.is_boolean()) {
        if (v.get<bool>()) args.push_back(flag);
        return "";
    }
    std::string text;
    if (v.is_array()) {
        if (v.empty()) return "option '" + name + "': an empty list";
        for (const json& item : v) {
            std::string one;
            if (!scalar_text(item, one)) return "option '" + name + "': list items must be strings or numbers";
            text += (text.empty() ? "" : ",") + one;
        }
    } else if (!scalar_text(v, text)) {
        return "option '" + name + "': expected a string, number, boolean or list, got " + std::string(v.type_name());
    }
    args.push_back(flag);
    args.push_back(text);
    return "";
}

std::string job_error(const json& j, BatchJob& job) {
    if (!j.is_object()) return "expected a JSON object, got " + std::string(j.type_name());
    for (auto it = j.begin(); it != j.end(); ++it) {
        bool known = false;
        for (const char* k : kJobKeys) known = known || it.key() == k;
        if (!known)
            return "unknown key '" + it.key() + "' (a job has command, content, style, output and options; CLI options "
                   "go under \"options\")";
    }
    job.command = "run";
    if (j.contains("command")) {
        if (!j["command"].is_string()) return "'command' must be a string";
        job.command = j["command"].get<std::string>();
        if (job.command != "run" && job.command != "stylize")
            return "'command': expected run or stylize, got '" + job.command + "'";
    }
    if (!j.contains("output") || !j["output"].is_string() || j["output"].get<std::string>().empty())
        return "'output' must be a non-empty string (a batch job always writes its result)";
    if (!j.contains("content") || !j["content"].is_string()) return "'content' must be a string";
    job.args = {job.command, "--content", j["content"].get<std::string>(), "--output", j["output"].get<std::string>()};
    if (j.contains("style")) {
        // Each style its own --style, so that a path may hold a comma.
        const json& s = j["style"];
        const json list = s.is_array() ? s : json::array({s});
        for (const json& item : list) {
            if (!item.is_string()) return "'style' must be a string or a list of strings";
            job.args.push_back("--style");
            job.args.push_back(item.get<std::string>());
        }
    }
    if (j.contains("options")) {
        const json& o = j["options"];
        if (!o.is_object()) return "'options' must be an object of CLI options";
        for (auto it = o.begin(); it != o.end(); ++it) {
            const std::string& name = it.key();
            if (name == "content" || name == "style" || name == "output")
                return "option '" + name + "' belongs at the top of the job, not under \"options\"";
            if (name.empty() || name[0] == '-')
                return "option '" + name + "': give the long option's name without the dashes";
            if (std::string reason = append_option(name, it.value(), job.args); !reason.empty()) return reason;
        }
    }
    job.output = j["output"].get<std::string>();
    return "";
}

}  // namespace

BatchJob parse_manifest_line(const std::string& text, int line) {
    BatchJob job;
    job.line = line;
    json j;
    try {
        j = json::parse(text);
    } catch (const json::parse_error& e) {
        job.error = std::string("not valid JSON (") + e.what() + ")";
        return job;
    }
    job.error = job_error(j, job);
    if (!job.error.empty()) {
        job.args.clear();
        job.output.clear();
    }
    return job;
}

std::vector<BatchJob> read_manifest(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw_input("manifest '" + path + "': cannot read it (" + std::strerror(errno) + ")");
    std::vector<BatchJob> jobs;
    std::string text;
    int line = 0;
    while (std::getline(in, text)) {
        ++line;
        if (!text.empty() && text.back() == '\r') text.pop_back();
        if (text.find_first_not_of(" \t") == std::string::npos) continue;
        jobs.push_back(parse_manifest_line(text, line));
    }
    if (in.bad()) throw_input("manifest '" + path + "': read error");
    return jobs;
}

}  // namespace nst::cli
