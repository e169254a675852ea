#pragma once
/// The whole confinement of a run, in order. Runs in the child right after clone().

#include "core/sandbox/plan.h"
#include "core/sandbox/step_error.h"

namespace pyrunner::sandbox {

/// Applies every step; on failure returns false with `err` naming the step and the call.
bool contain(const SandboxPlan& plan, StepError* err);

}  // namespace pyrunner::sandbox
