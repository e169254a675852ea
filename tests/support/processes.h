#pragma once
// What is left on the host after runs: for tests that assert that a run leaves nothing behind.

#include <sys/types.h>

#include <atomic>
#include <set>
#include <string>
#include <thread>
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

/// "run-<instance>-" of the run cgroups that hold children of `server` now (run cgroups are
/// named after a random id per pyrunner process): how to tell a server's cgroups from those
/// of other pyrunners on the same host.
std::set<std::string> run_cgroup_prefixes_of(pid_t server);

/// Run cgroups whose name starts with one of `prefixes`, polled briefly until there are none.
std::vector<std::string> remaining_run_cgroups(const std::set<std::string>& prefixes);

/// The run cgroups that hold a process of ours while this object lives: those that appear
/// and list a pid in cgroup.procs (which shows only processes of our PID namespace, and the
/// tests run in a namespace of their own), so that other pyrunners on the same host, which
/// create and keep their own run cgroups, are not mistaken for ours. Polls every millisecond
/// on a thread of its own: a run that ends sooner than that may go unseen (stop() says so by
/// returning fewer names than runs).
class OwnRunCgroups {
 public:
  OwnRunCgroups();
  ~OwnRunCgroups();
  OwnRunCgroups(const OwnRunCgroups&) = delete;
  OwnRunCgroups& operator=(const OwnRunCgroups&) = delete;
  /// Stops watching; the names ("run-<id>-<n>") seen holding our processes.
  std::set<std::string> stop();

 private:
  std::set<std::string> before_, seen_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

/// Which of `names` ("run-<id>-<n>") still exist in any hierarchy, polled briefly until none.
std::vector<std::string> remaining_run_cgroup_names(const std::set<std::string>& names);

}  // namespace pyrunner::testing
