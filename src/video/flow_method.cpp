// SPDX-License-Identifier: MIT
// Flow method names (--flow) and the artistic-videos file names of flow between frames.
#include <string>

#include "core/error.h"
#include "video/flow.h"

namespace nst {

namespace {

struct MethodName {
    FlowMethod method;
    const char* name;
};
constexpr MethodName kMethods[] = {{FlowMethod::DisUltrafast, "dis-ultrafast"},
                                   {FlowMethod::DisFast, "dis-fast"},
                                   {FlowMethod::DisMedium, "dis-medium"}};

}  // namespace

FlowMethod parse_flow_method(const std::string& name) {
    for (const MethodName& m : kMethods)
        if (name == m.name) return m.method;
    throw_usage("--flow: unknown method '" + name + "' (dis-ultrafast, dis-fast or dis-medium)");
}

const char* flow_method_name(FlowMethod m) {
    for (const MethodName& k : kMethods)
        if (k.method == m) return k.name;
    NST_REQUIRE(false, "unknown flow method");
    return "";
}

std::string flow_file_name(int a, int b) {
    NST_REQUIRE(a >= 1 && b >= 1 && a != b, "flow_file_name takes two different 1-based frame numbers");
    return std::string(a < b ? "forward_" : "backward_") + std::to_string(a) + "_" + std::to_string(b) + ".flo";
}

}  // namespace nst
