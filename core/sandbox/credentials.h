#pragma once
/// Dropping privileges: the run continues as an unprivileged uid/gid with no capabilities in
/// any set, and cannot regain them.

#include "core/sandbox/plan.h"
#include "core/sandbox/step_error.h"

namespace pyrunner::sandbox {

bool drop_privileges(const SandboxPlan& plan, StepError* err);

}  // namespace pyrunner::sandbox
