#pragma once
// What is left on the host after runs: for tests that assert that a run leaves nothing behind.

#include <string>
#include <vector>

namespace pyrunner::testing {

/// Processes running as `uid` that are not the PID 1 of their own namespace (pooled children
/// waiting for code are; a daemon a run left behind is not). "pid comm" each.
std::vector<std::string> stray_processes(unsigned uid = 65534);

/// Run cgroups with no process in them. A live server's cgroups hold its waiting children, so
/// once runs are over any empty one leaked. Polls briefly: the reaper removes them just after
/// the answer.
std::vector<std::string> leaked_run_cgroups();

}  // namespace pyrunner::testing
