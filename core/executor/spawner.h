#pragma once
/// Where confined children come from, and how one is made ready (channels, cgroup, confined,
/// waiting for code). The seam between cold runs (DirectSpawner) and the warm pool.

#include <memory>

#include "core/executor/child.h"
#include "core/sandbox/cgroup.h"

namespace pyrunner {

class Spawner {
 public:
  virtual ~Spawner() = default;
  /// Creates a confined child holding `ends` as its fds 0-3. The caller must be able to wait
  /// for it (it is our child).
  virtual Result<SpawnedChild> spawn(const ChildChannels& ends) = 0;
};

/// Clones from this very process. Only for single-threaded callers (`pyrunner run`, tests).
class DirectSpawner : public Spawner {
 public:
  explicit DirectSpawner(ChildSpec spec) : spec_(spec) {}
  Result<SpawnedChild> spawn(const ChildChannels& ends) override {
    return spawn_child(spec_, ends, false);
  }

 private:
  ChildSpec spec_;
};

/// A confined child in its own cgroup, waiting for a request.
struct ReadyChild {
  pid_t pid = -1;
  UniqueFd pidfd;
  ParentChannels io;
  std::unique_ptr<sandbox::RunCgroup> cgroup;  // null only in the degraded (no cgroup) mode
  // Its working directory as its own mount namespace has it (O_PATH, sent with "R"): the
  // server reads a session's files beneath it without /proc/<pid>/root, which would take
  // CAP_SYS_PTRACE (a container's root has none).
  UniqueFd workdir;
  ~ReadyChild();  // kills the child (and with it its whole PID namespace) if still alive
};

/// Channels, a fresh cgroup (when `cgroups` is set), spawn, join the cgroup, wait for "R".
/// A child that fails its confinement yields its exact reason.
Result<std::unique_ptr<ReadyChild>> prepare_child(Spawner& spawner,
                                                  sandbox::CgroupManager* cgroups);

/// Whether the child has exited (its pidfd is readable).
bool child_exited(const ReadyChild& child);

/// The two halves of prepare_child, so that a pool can start several children and wait for
/// them together: start_child returns once the child is in its cgroup and confining itself.
Result<std::unique_ptr<ReadyChild>> start_child(Spawner& spawner, sandbox::CgroupManager* cgroups);
/// Waits for the child's "R" (ok) or its "E <reason>" (that reason).
Status await_ready(ReadyChild& child, int timeout_ms);

inline constexpr int kReadyTimeoutMs = 10000;

}  // namespace pyrunner
