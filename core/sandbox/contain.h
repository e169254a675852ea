#pragma once
/// The whole confinement of a run, in order, on both paths: the cold one (`pyrunner run`, the
/// pool off: a child of the server sets up everything itself) and the warm one (a child of the
/// zygote, which did the shared part once for all its children). contain.cc lists every step
/// of both and marks where privileges drop.

#include "core/sandbox/plan.h"
#include "core/sandbox/step_error.h"

namespace pyrunner::sandbox {

/// Zygote, once, at its start (before it imports anything): the steps that would otherwise
/// repeat in every child it clones.
bool contain_zygote_start(const SandboxPlan& plan, StepError* err);

/// Warm zygote, once, after its preload: a mount namespace of its own holding the root
/// template, which it moves into, and the run's environment. Sets plan->prebuilt_root, which
/// makes contain() skip those steps in its children.
bool contain_zygote_root(SandboxPlan* plan, StepError* err);

/// In the child right after clone(): applies every per-run step; on failure returns false with
/// `err` naming the step and the call.
bool contain(const SandboxPlan& plan, StepError* err);

}  // namespace pyrunner::sandbox
