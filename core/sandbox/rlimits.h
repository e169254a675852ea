#pragma once
/// Resource limits that cgroups do not cover.

#include <sys/types.h>

#include "core/sandbox/plan.h"
#include "core/sandbox/step_error.h"

namespace pyrunner::sandbox {

/// File size, core dumps, open files, message queues, locked memory.
bool apply_rlimits(const SandboxPlan& plan, StepError* err);

/// What the process maps now (VmData of /proc/self/status). Read once the child is prepared,
/// so that the request path has no /proc file to read.
bool mapped_data_bytes(unsigned long long* out, StepError* err);

/// RLIMIT_DATA = `mapped` (what the process already maps) + `limit_bytes`, so that an
/// allocation beyond the run's memory limit fails at once with MemoryError even if its pages
/// are never touched (a cgroup only sees touched pages). Called when the request arrives.
bool limit_data(unsigned long long mapped, unsigned long long limit_bytes, StepError* err);

}  // namespace pyrunner::sandbox
