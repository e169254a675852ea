#pragma once
/// Per-run cgroups (memory, pids, CPU), on cgroup v2 or v1. Created and joined from the parent;
/// the run itself never sees the cgroup filesystem. This is the interface both versions share;
/// cgroup1.cc and cgroup2.cc hold what differs, cgroup_recycler.h the reuse of finished runs'
/// cgroups.

#include <sys/types.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "core/config/config.h"
#include "core/sandbox/cgroup_recycler.h"
#include "core/util/status.h"

namespace pyrunner::sandbox {

enum class CgroupVersion { kNone, kV1, kV2 };

/// One run's cgroup (one directory per controller on v1). When the run is over, the destructor
/// gives it back to its manager's recycler for another run if it is empty and its version can
/// reset it, and otherwise removes it, after killing whatever is still in it.
class RunCgroup {
 public:
  virtual ~RunCgroup() = default;
  RunCgroup(const RunCgroup&) = delete;
  RunCgroup& operator=(const RunCgroup&) = delete;

  Status attach(pid_t pid);
  /// Sets the limit (no swap) and, where the version can, restarts the peak. A no-op when
  /// `bytes` is the limit already set: a pool sets the default on its idle children, off the
  /// request path.
  virtual Status set_memory_limit(unsigned long long bytes) = 0;
  /// Peak memory of the cgroup in bytes since this run got it, less what an earlier run left
  /// charged.
  virtual unsigned long long peak_bytes() const = 0;
  /// Memory charged to the cgroup now, in bytes, less what an earlier run left (a session's
  /// size between its runs).
  virtual unsigned long long current_bytes() const = 0;
  /// Whether the kernel's OOM killer acted in this cgroup during this run.
  virtual bool oom_killed() const = 0;

 protected:
  RunCgroup(CgroupVersion version, RecycledCgroup state, std::shared_ptr<CgroupRecycler> recycler)
      : version_(version), state_(std::move(state)), recycler_(std::move(recycler)) {}
  /// For the derived destructor: gives the cgroup back if `reset` (the version's own reset for
  /// the next run) succeeds on it once it is empty, else removes it.
  void release(bool (*reset)(RecycledCgroup& state));
  const CgroupVersion version_;
  RecycledCgroup state_;  // dirs: v2 one; v1 memory, pids, cpu

 private:
  std::shared_ptr<CgroupRecycler> recycler_;  // null: never reused
};

/// Finds a usable cgroup hierarchy and creates per-run cgroups under `<root>/pyrunner`.
class CgroupManager {
 public:
  /// Detects v2 (unified, with memory+pids+cpu available) or v1 (memory, pids, cpu mounts).
  /// Leftover run cgroups of a previous crash are killed and removed.
  static Result<std::unique_ptr<CgroupManager>> create(const SandboxConfig& config);
  virtual ~CgroupManager() = default;

  CgroupVersion version() const { return version_; }
  /// "v2 (/sys/fs/cgroup/pyrunner)", "v2 (/sys/fs/cgroup/pyrunner, run cgroups reused)" (Linux
  /// 6.12+) or "v1 (memory, pids, cpu under /sys/fs/cgroup)".
  virtual std::string describe() const = 0;
  /// Whether finished runs' cgroups serve later runs (v1; v2 where memory.peak can be reset).
  bool reuses_run_cgroups() const { return recycler_ != nullptr; }
  /// A run cgroup with the pids and CPU limits of the config (memory is set per request): one
  /// that an earlier run gave back and that has been reset, or a new one.
  Result<std::unique_ptr<RunCgroup>> create_run();

 protected:
  CgroupManager(CgroupVersion version, std::vector<std::string> parents,
                const SandboxConfig& config);
  /// The version's run cgroup over `state`: new (`fresh`: its limits are set here) or reused.
  virtual Result<std::unique_ptr<RunCgroup>> make_run(RecycledCgroup state, bool fresh) = 0;
  void remove_stale_runs();

  const CgroupVersion version_;
  const std::vector<std::string> parents_;  // "<root>/pyrunner" per controller
  const SandboxConfig& config_;
  std::shared_ptr<CgroupRecycler> recycler_;  // null where the version cannot reset a cgroup

 private:
  std::string instance_;  // random hex: names this pyrunner's run cgroups
  std::atomic<unsigned long> run_counter_{0};
};

}  // namespace pyrunner::sandbox
