#pragma once
/// A clean environment: nothing of the server's own environment is readable by the run, not
/// through os.environ and not through /proc/self/environ.

#include "core/sandbox/plan.h"
#include "core/sandbox/step_error.h"

namespace pyrunner::sandbox {

/// Zeroes the environment block the kernel shows in /proc/self/environ (inherited from the
/// process we were cloned from) and replaces the environment with plan.env. Needs the host's
/// /proc: call before the root is pivoted.
bool reset_environment(const SandboxPlan& plan, StepError* err);

}  // namespace pyrunner::sandbox
