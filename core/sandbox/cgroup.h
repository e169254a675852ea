#pragma once
/// Per-run cgroups (memory, pids, CPU), on cgroup v2 or v1. Created and joined from the parent;
/// the run itself never sees the cgroup filesystem.

#include <sys/types.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "core/config/config.h"
#include "core/util/status.h"

namespace pyrunner::sandbox {

enum class CgroupVersion { kNone, kV1, kV2 };

class CgroupRecycler;

/// One run's cgroup (one directory per controller on v1). When the run is over, the destructor
/// gives it back to its manager for another run if it is empty and can be reset (v1), and
/// otherwise removes it, after killing whatever is still in it.
class RunCgroup {
 public:
  RunCgroup(CgroupVersion version, std::vector<std::string> dirs,
            std::shared_ptr<CgroupRecycler> recycler = nullptr, unsigned long long memory_limit = 0,
            unsigned long long oom_kills_before = 0, unsigned long long memory_before = 0)
      : version_(version),
        dirs_(std::move(dirs)),
        recycler_(std::move(recycler)),
        memory_limit_(memory_limit),
        oom_kills_before_(oom_kills_before),
        memory_before_(memory_before) {}
  ~RunCgroup();
  RunCgroup(const RunCgroup&) = delete;
  RunCgroup& operator=(const RunCgroup&) = delete;

  Status attach(pid_t pid);
  /// Sets the limit (no swap) and, on v1, restarts the peak. A no-op when `bytes` is the limit
  /// already set: a pool sets the default on its idle children, off the request path.
  Status set_memory_limit(unsigned long long bytes);
  /// Peak memory of the cgroup in bytes since creation (v2) or since the last limit change or
  /// reuse (v1), less what an earlier run left charged.
  unsigned long long peak_bytes() const;
  /// Whether the kernel's OOM killer acted in this cgroup during this run.
  bool oom_killed() const;
  /// Kills every process left and removes the directories (retrying while they drain).
  void destroy();

 private:
  std::string file(const char* controller, const char* name) const;
  CgroupVersion version_;
  std::vector<std::string> dirs_;  // v2: one; v1: memory, pids, cpu
  std::shared_ptr<CgroupRecycler> recycler_;
  unsigned long long memory_limit_ = 0;      // 0: not set yet
  unsigned long long oom_kills_before_ = 0;  // v1, when this run got the cgroup: the OOM count
  unsigned long long memory_before_ = 0;     // and what an earlier run left charged
};

/// Finds a usable cgroup hierarchy and creates per-run cgroups under `<root>/pyrunner`.
class CgroupManager {
 public:
  /// Detects v2 (unified, with memory+pids+cpu available) or v1 (memory, pids, cpu mounts).
  /// Leftover run cgroups of a previous crash are killed and removed.
  static Result<std::unique_ptr<CgroupManager>> create(const SandboxConfig& config);

  CgroupVersion version() const { return version_; }
  /// "v2 (/sys/fs/cgroup/pyrunner)" or "v1 (memory, pids, cpu under /sys/fs/cgroup)".
  std::string describe() const;
  /// A run cgroup with the pids and CPU limits of the config (memory is set per request): one
  /// that an earlier run gave back and that has been reset (v1), or a new one.
  Result<std::unique_ptr<RunCgroup>> create_run();

 private:
  CgroupManager(CgroupVersion version, std::vector<std::string> parents,
                const SandboxConfig& config);
  void remove_stale_runs();
  CgroupVersion version_;
  std::shared_ptr<CgroupRecycler> recycler_;  // v1 only: v2 cannot restart memory.peak before 6.12
  std::vector<std::string> parents_;          // "<root>/pyrunner" per controller
  const SandboxConfig& config_;
  std::string instance_;  // random hex: names this pyrunner's run cgroups
  std::atomic<unsigned long> run_counter_{0};
};

}  // namespace pyrunner::sandbox
