#pragma once
// What a run sees of its own confinement (/proc/self inside the sandbox), to compare the
// isolation pyrunner reports with the isolation a run really has.

#include <sys/types.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace pyrunner::testing {

/// A program that prints one JSON line: {"ns": {"pid": "pid:[4026...]", ...}, "NoNewPrivs",
/// "Seccomp", "CapEff", "Uid"} read from its /proc/self.
extern const char* const kSandboxViewProgram;

/// The JSON line kSandboxViewProgram printed (null if there is none).
nlohmann::json parse_sandbox_view(const std::string& stdout_text);

/// The namespaces (named as GET / names them: "pid", "mount", "network", ...) in which the run
/// differs from every process in `creators` (the processes the run was cloned from or by).
/// Covers pid, mount, network, ipc, uts, cgroup, user and time.
std::vector<std::string> new_namespaces(const nlohmann::json& view,
                                        const std::vector<pid_t>& creators);

}  // namespace pyrunner::testing
