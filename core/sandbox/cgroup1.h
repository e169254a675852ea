#pragma once
/// cgroup v1: one hierarchy per controller. A run cgroup is a directory in each of the memory,
/// pids and cpu hierarchies; its peak (memory.max_usage_in_bytes) can be reset, so finished
/// runs' cgroups are reused (cgroup_recycler.h).

#include <memory>

#include "core/sandbox/cgroup.h"

namespace pyrunner::sandbox {

/// Whether the v1 memory controller is mounted under /sys/fs/cgroup.
bool cgroup1_available();
/// `<base>/{memory,pids,cpu}/pyrunner`, base being /sys/fs/cgroup or sandbox.cgroup_root.
Result<std::unique_ptr<CgroupManager>> make_cgroup1_manager(const SandboxConfig& config);

}  // namespace pyrunner::sandbox
