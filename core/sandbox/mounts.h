#pragma once
/// The run's filesystem: a tmpfs root holding read-only binds of what Python needs, a private
/// size-limited /tmp, a minimal /dev, a fresh /proc; then pivot_root into it.

#include "core/sandbox/plan.h"
#include "core/sandbox/step_error.h"

namespace pyrunner::sandbox {

/// Child, as root in its new mount and PID namespaces.
bool build_root(const SandboxPlan& plan, StepError* err);

}  // namespace pyrunner::sandbox
