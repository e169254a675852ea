#pragma once
/// The run's filesystem: a tmpfs root holding read-only binds of what Python needs, a minimal
/// /dev, a private size-limited /tmp (/dev/shm links to it) and working directory /home/user
/// (/mnt/data links to it), a fresh /proc; then pivot_root into it, and the run starts in its
/// working directory.
///
/// The first part is the same for every run. A warm zygote builds it once, as a template, in
/// a mount namespace of its own and moves into it; each child's new mount namespace is a copy
/// of the template, and the child only mounts what must be its own.

#include "core/sandbox/plan.h"
#include "core/sandbox/step_error.h"

namespace pyrunner::sandbox {

/// Child, as root in its new mount and PID namespaces: the whole root, then pivot_root.
bool build_root(const SandboxPlan& plan, StepError* err);

/// Zygote, as root in a mount namespace of its own: the part every run shares (read-only),
/// then pivot_root into it and detach the host's filesystem.
bool build_root_template(const SandboxPlan& plan, StepError* err);

/// Child of a zygote that built the template, in its copy of it: fresh /tmp, working
/// directory and /proc.
bool mount_run_filesystems(const SandboxPlan& plan, StepError* err);

/// Into the working directory, as the run's user, whose it is: as root, a container's root
/// (no CAP_DAC_*) could not if it were private to that user.
bool enter_workdir(StepError* err);

}  // namespace pyrunner::sandbox
