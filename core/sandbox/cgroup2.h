#pragma once
/// cgroup v2: one unified hierarchy. A run cgroup is one directory under `<base>/pyrunner`,
/// base being pyrunner's own cgroup (a container's cgroup namespace root, a systemd unit with
/// Delegate=yes) or sandbox.cgroup_root. Before Linux 6.12 memory.peak cannot be reset, so a
/// run cgroup serves one run and is then removed.

#include <memory>

#include "core/sandbox/cgroup.h"

namespace pyrunner::sandbox {

/// Whether /sys/fs/cgroup (or sandbox.cgroup_root) is a cgroup v2 hierarchy.
bool cgroup2_available(const SandboxConfig& config);
/// Checks that memory, pids and cpu are available, creates `<base>/pyrunner` and enables the
/// controllers for the run cgroups below it.
Result<std::unique_ptr<CgroupManager>> make_cgroup2_manager(const SandboxConfig& config);

}  // namespace pyrunner::sandbox
