#pragma once
/// What this host can give a run, checked once at start-up: namespaces, seccomp, cgroups.
/// A missing layer is named exactly; without `sandbox.allow_degraded` pyrunner refuses to run.

#include <memory>
#include <string>

#include "core/config/config.h"
#include "core/sandbox/cgroup.h"
#include "core/sandbox/plan.h"

namespace pyrunner::sandbox {

struct HostSandbox {
  SandboxPlan plan;
  std::unique_ptr<CgroupManager> cgroups;  // null in degraded mode
  std::string cgroup_text;                 // "v1 (...)", "v2 (...)" or why there is none
  bool degraded = false;
};

/// Whether capability `cap` (CAP_*) is in this process's effective set.
bool has_capability(int cap);

/// Builds the plan and finds the cgroup hierarchy. Errors say what is missing and how to fix it.
Result<HostSandbox> prepare_host(const Config& config);

}  // namespace pyrunner::sandbox
