#pragma once
// What is left on the host after runs: for tests that assert that a run leaves nothing behind.

#include <set>
#include <string>
#include <vector>

namespace pyrunner::testing {

/// Processes running as `uid` that are not the PID 1 of their own namespace (pooled children
/// waiting for code are; a daemon a run left behind is not). "pid comm" each.
std::vector<std::string> stray_processes(unsigned uid = 65534);

/// Every run cgroup directory on the host now.
std::set<std::string> run_cgroups();

/// Run cgroups that are not in `before` and have no process in them: a live server's cgroups
/// hold its waiting children, so once runs are over such a cgroup leaked. Polls briefly, since
/// the reaper removes a run's cgroup just after the answer. (Comparing with `before` keeps
/// leftovers of servers killed outside the test from counting.)
std::vector<std::string> leaked_run_cgroups(const std::set<std::string>& before);

}  // namespace pyrunner::testing
