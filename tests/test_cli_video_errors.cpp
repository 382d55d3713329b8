// SPDX-License-Identifier: MIT
// `nst video` on bad input: one error line, the spec's exit code (2 usage, 3 input), and an
// existing output left untouched (test_util.h's check_cli_error writes it first and compares).
#include <doctest/doctest.h>

#include <filesystem>

#include "test_util.h"
#include "video/clip.h"
#include "video/flo.h"
#include "video_cli_fixture.h"

using namespace nst;
using namespace nst::test;
namespace fs = std::filesystem;

namespace {

struct ErrorClip {
    std::string dir, clip, style, out;
    explicit ErrorClip(const std::string& name)
        : dir(temp_dir("cli_video_err_" + name)),
          clip(translating_clip(dir + "/clip", 3, 24, 32, 1, 0)),
          style(shared_image("starry_night.jpg")),
          out(dir + "/out.mkv") {}
    // A video OUT (a file check_cli_error can guard) from the frame folder, so --fps is given.
    std::vector<std::string> args(const std::string& content, const std::vector<std::string>& extra) const {
        std::vector<std::string> a = {"--fps", "10", "--image-size", "32", "--num-iterations", "2,2"};
        a.insert(a.end(), extra.begin(), extra.end());
        return video_args(content, style, out, a);
    }
};

}  // namespace

TEST_CASE("nst video errors: unreadable video and frames of differing sizes are input errors") {
    const ErrorClip t("input");
    write_file(t.dir + "/broken.mp4", "this is not a video");
    check_cli_error(t.args(t.dir + "/broken.mp4", {}), 3, t.out, "broken.mp4");
    const std::string mixed = t.dir + "/mixed";
    fs::create_directories(mixed);
    smooth_png(mixed, "frame_1.png", 24, 32, 1);
    smooth_png(mixed, "frame_2.png", 24, 30, 2);
    check_cli_error(t.args(mixed, {}), 3, t.out, "frame_2.png");
    check_cli_error(t.args(t.dir + "/nowhere", {}), 3, t.out, "nowhere");
}

TEST_CASE("nst video errors: a clip of one frame is an input error saying why") {
    const ErrorClip t("one");
    const std::string single = t.dir + "/single";
    fs::create_directories(single);
    smooth_png(single, "frame_1.png", 24, 32, 1);
    check_cli_error(t.args(single, {}), 3, t.out, "at least two");
}

TEST_CASE("nst video errors: a --flow-dir file of the wrong size names the file") {
    const ErrorClip t("flow");
    const std::string flo = t.dir + "/flo";
    fs::create_directories(flo);
    Tensor<float> small(Shape{1, 2, 10, 12});
    for (auto& v : small) v = 0;
    Tensor<float> right(Shape{1, 2, 24, 32});
    for (auto& v : right) v = 0;
    save_flo(flo + "/forward_1_2.flo", right.cview());
    save_flo(flo + "/backward_2_1.flo", small.cview());
    check_cli_error(t.args(t.clip, {"--flow-dir", flo}), 3, t.out, "backward_2_1.flo");
    // A missing supplied file is an input error too, before any frame is stylised.
    save_flo(flo + "/backward_2_1.flo", right.cview());
    check_cli_error(t.args(t.clip, {"--flow-dir", flo}), 3, t.out, ".flo");
    CHECK(!fs::exists(t.dir + "/out.mkv.nst-work/results/frame_00001.npy"));
}

TEST_CASE("nst video errors: option mistakes are usage errors") {
    const ErrorClip t("usage");
    check_cli_error(t.args(t.clip, {"--flow-relative-indices", "2,1"}), 2, t.out, "--flow-relative-indices");
    check_cli_error(t.args(t.clip, {"--flow-relative-indices", "0"}), 2, t.out, "--flow-relative-indices");
    check_cli_error(t.args(t.clip, {"--flow-relative-indices", "1,x"}), 2, t.out, "--flow-relative-indices");
    check_cli_error(t.args(t.clip, {"--passes", "3", "--model", t.dir + "/m.safetensors"}), 2, t.out, "--passes");
    check_cli_error(t.args(t.clip, {"--passes", "0"}), 2, t.out, "--passes");
    check_cli_error(t.args(t.clip, {"--passes", "2", "--num-iterations", "5,3"}), 2, t.out, "--num-iterations");
    check_cli_error(t.args(t.clip, {"--init", "sideways"}), 2, t.out, "--init");
    check_cli_error(t.args(t.clip, {"--temporal-weight", "-1"}), 2, t.out, "--temporal-weight");
    check_cli_error(t.args(t.clip, {"--flow", "farneback"}), 2, t.out, "farneback");
    // A folder clip to a video file needs a frame rate.
    check_cli_error(video_args(t.clip, t.style, t.out, {"--image-size", "32"}), 2, t.out, "--fps");
}
