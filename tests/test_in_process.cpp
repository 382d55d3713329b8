// SPDX-License-Identifier: MIT
// cli/in_process.h: a command run inside this process gives what the nst binary gives on the same
// arguments (byte for byte), its hooks see every iteration and can stop the run, the weight cache
// loads a source once, and errors carry the CLI's message and exit code.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "cli/in_process.h"
#include "cli/weight_cache.h"
#include "core/error.h"
#include "io/image.h"
#include "nn/net_model.h"
#include "nn/network.h"
#include "nn/transformer_net.h"
#include "test_util.h"

using namespace nst;
using cli::RunHooks;
using cli::ScopedRunHooks;

namespace {

// The CLI's error line without its "nst: error: " prefix ("" when there is none).
std::string cli_error(const test::RunResult& r) {
    const std::string tag = "nst: error: ";
    const std::size_t at = r.err.rfind(tag);
    if (at == std::string::npos) return "";
    std::string line = r.err.substr(at + tag.size());
    if (!line.empty() && line.back() == '\n') line.pop_back();
    return line;
}

struct InProcessError {
    int code = 0;
    std::string message;
};

InProcessError run_expecting_error(const std::vector<std::string>& args) {
    try {
        cli::run_in_process(args);
    } catch (const Error& e) {
        return {int(e.code()), e.what()};
    }
    return {};
}

// A width-8 TransformerNet model file for nst stylize.

}  // namespace

TEST_CASE("in-process: run and stylize write the nst binary's bytes and hand over the written image") {
    const test::RunImages f("in_process_parity", 40, 36, 32, 32);
    const std::vector<std::string> extra = {"--num-iterations", "4", "--image-size", "40", "--seed", "2"};
    REQUIRE(test::run_nst(f.run_args(f.path("cli.png"), extra)).exit_code == 0);

    cli::WeightCache cache;
    for (int job = 0; job < 2; ++job) {  // the second job takes its weights from the cache
        RunHooks hooks;
        hooks.cache = &cache;
        Tensor<float> handed;
        hooks.on_result = [&](const Tensor<float>& rgb) { handed = rgb.clone(); };
        const std::string out = f.path("in_process" + std::to_string(job) + ".png");
        {
            ScopedRunHooks scope(hooks);
            cli::run_in_process(f.run_args(out, extra));
        }
        CHECK(test::read_file(out) == test::read_file(f.path("cli.png")));
        CHECK(hooks.iterations_done == 4);
        // The handed-over image is the one written, before 8-bit quantisation.
        const Tensor<float> written = load_image(out);
        REQUIRE(handed.shape() == written.shape());
        float worst = 0;
        for (std::size_t i = 0; i < handed.numel(); ++i) worst = std::max(worst, std::fabs(handed[i] - written[i]));
        CHECK(worst <= 0.5f / 255 + 1e-6f);
        CHECK(worst > 0);  // a float image, not the decoded PNG
    }
    CHECK(cache.loads() == 1);

    // nst stylize, with the model from the cache on the second job.
    const std::string model = test::transformer_model_file(f.dir, 3);
    const std::vector<std::string> stylize = {"stylize", "--model", model, "--content", f.content, "--quiet"};
    std::vector<std::string> cli_args = stylize;
    cli_args.insert(cli_args.end(), {"--output", f.path("stylize_cli.png")});
    REQUIRE(test::run_nst(cli_args).exit_code == 0);
    for (int job = 0; job < 2; ++job) {
        RunHooks hooks;
        hooks.cache = &cache;
        ScopedRunHooks scope(hooks);
        std::vector<std::string> args = stylize;
        const std::string out = f.path("stylize" + std::to_string(job) + ".png");
        args.insert(args.end(), {"--output", out});
        cli::run_in_process(args);
        CHECK(test::read_file(out) == test::read_file(f.path("stylize_cli.png")));
    }
    CHECK(cache.loads() == 2);
}

TEST_CASE("in-process: the iteration hook sees every iteration and its stop is a finished run") {
    const test::RunImages f("in_process_hooks", 32, 32, 32, 32);
    const std::vector<std::string> base = {"--image-size", "32", "--seed", "4"};
    auto with = [&](std::vector<std::string> a, const std::vector<std::string>& more) {
        a.insert(a.end(), more.begin(), more.end());
        return a;
    };
    // The CLI's result after 3 iterations, and the trace of 6.
    REQUIRE(test::run_nst(f.run_args(f.path("three.png"), with(base, {"--num-iterations", "3"}))).exit_code == 0);

    SUBCASE("all iterations, in order, with the terms the run ends with") {
        RunHooks hooks;
        std::vector<cli::IterationEvent> seen;
        hooks.on_iteration = [&](const cli::IterationEvent& e) {
            seen.push_back(e);
            return true;
        };
        {
            ScopedRunHooks scope(hooks);
            cli::run_in_process(f.run_args(f.path("six.png"), with(base, {"--num-iterations", "6"})));
        }
        REQUIRE(seen.size() == 6);
        for (int i = 0; i < 6; ++i) {
            CHECK(seen[std::size_t(i)].stage == 0);
            CHECK(seen[std::size_t(i)].iteration == i + 1);
            CHECK(std::isfinite(seen[std::size_t(i)].terms.total));
        }
        CHECK(seen.back().seconds >= seen.front().seconds);
        CHECK(hooks.iterations_done == 6);
        CHECK(hooks.final_terms.total == seen.back().terms.total);
        CHECK(seen.back().terms.total < seen.front().terms.total);  // it optimises
    }
    SUBCASE("false after iteration 3: saved and handed over as a 3-iteration run") {
        RunHooks hooks;
        int calls = 0;
        hooks.on_iteration = [&](const cli::IterationEvent& e) {
            ++calls;
            return e.iteration < 3;
        };
        bool got_result = false;
        hooks.on_result = [&](const Tensor<float>&) { got_result = true; };
        {
            ScopedRunHooks scope(hooks);
            cli::run_in_process(f.run_args(f.path("stopped.png"), with(base, {"--num-iterations", "10"})));
        }
        CHECK(calls == 3);
        CHECK(hooks.iterations_done == 3);
        CHECK(got_result);
        CHECK(test::read_file(f.path("stopped.png")) == test::read_file(f.path("three.png")));
    }
    SUBCASE("a result hook without --output writes nothing") {
        RunHooks hooks;
        Tensor<float> handed;
        hooks.on_result = [&](const Tensor<float>& rgb) { handed = rgb.clone(); };
        std::vector<std::string> args = f.run_args("", with(base, {"--num-iterations", "3"}));
        args.erase(args.begin() + 1, args.begin() + 3);  // drop --output ""
        {
            ScopedRunHooks scope(hooks);
            cli::run_in_process(args);
        }
        REQUIRE(handed.shape() == (Shape{1, 3, 32, 32}));
        const Tensor<float> three = load_image(f.path("three.png"));
        float worst = 0;
        for (std::size_t i = 0; i < handed.numel(); ++i) worst = std::max(worst, std::fabs(handed[i] - three[i]));
        CHECK(worst <= 0.5f / 255 + 1e-6f);
        CHECK(!test::file_exists("out.png"));
    }
}

TEST_CASE("in-process: the weight cache reloads a changed file and hands out copies") {
    const std::string dir = test::temp_dir("in_process_cache");
    cli::WeightCache cache;
    VggWeights a = cache.vgg("random:5");
    VggWeights b = cache.vgg("random:5");
    CHECK(cache.loads() == 1);
    a.conv[0].weight[0] += 1;  // a job's change is its own
    CHECK(cache.vgg("random:5").conv[0].weight[0] == b.conv[0].weight[0]);
    CHECK(b.conv[0].weight[0] == load_weights("random:5").conv[0].weight[0]);
    (void)cache.vgg("random:6");
    CHECK(cache.loads() == 2);

    const std::string model = test::transformer_model_file(dir, 1);
    const NetModel first = cache.model(model);
    CHECK(cache.model(model).params == first.params);
    CHECK(cache.loads() == 3);
    // Rewritten (same size, another time stamp): read again, and the new parameters come back.
    test::transformer_model_file(dir, 2);
    std::filesystem::last_write_time(model, std::filesystem::last_write_time(model) + std::chrono::seconds(5));
    const NetModel second = cache.model(model);
    CHECK(cache.loads() == 4);
    CHECK(second.params == load_model(model).params);
    CHECK(second.params != first.params);
    // Errors are the loader's and are not cached.
    CHECK_THROWS_AS(cache.model(dir + "/missing.safetensors"), Error);
    CHECK(cache.loads() == 4);
}

TEST_CASE("in-process: errors carry the CLI's message and exit code") {
    const test::RunImages f("in_process_errors", 32, 32, 32, 32);
    const std::vector<std::vector<std::string>> cases = {
        {"run", "--bogus"},                                                    // parse error: 2
        f.run_args(f.path("o.png"), {"--image-size", "0"}),                    // option value: 2
        f.run_args(f.path("o.png"), {"--content", f.path("missing.png")}),     // input: 3
        f.run_args(f.path("o.png"), {"--content-weight", "1e308", "--style-weight", "1e308", "--image-size", "32",
                                     "--num-iterations", "2"}),                // non-finite loss: 4
        {"stylize", "--content", f.content, "--output", f.path("s.png")},      // --model missing: 2
    };
    for (const auto& args : cases) {
        CAPTURE(args[1]);
        const test::RunResult r = test::run_nst(args);
        const InProcessError e = run_expecting_error(args);
        CHECK(e.code != 0);
        CHECK(e.code == r.exit_code);
        CHECK(e.message == cli_error(r));
        CHECK(!e.message.empty());
    }
    CHECK(run_expecting_error({"run", "--help"}).code == 2);
    CHECK(run_expecting_error({}).code == 2);
}
