#pragma once
/// The run's own hostname, in its own UTS namespace: the host's name is not revealed.

#include "core/sandbox/plan.h"
#include "core/sandbox/step_error.h"

namespace pyrunner::sandbox {

bool set_hostname(const SandboxPlan& plan, StepError* err);

}  // namespace pyrunner::sandbox
