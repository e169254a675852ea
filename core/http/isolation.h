#pragma once
/// The isolation layers GET / and the start-up log report, read from what the runs really get:
/// the sandbox plan every child confines itself with and the clone flags it is created with.

#include <nlohmann/json.hpp>
#include <string>

#include "core/config/config.h"
#include "core/sandbox/host.h"

namespace pyrunner {

/// GET /'s "isolation" object:
///   namespaces    the names of the namespaces in `clone_flags` (sandbox/namespaces.h)
///   seccomp       the plan carries a compiled filter (the child's last confinement step)
///   no_new_privs  set by that same step, before the filter is installed (sandbox/seccomp.h)
///   capabilities  "none": every run drops them all (sandbox/credentials.h)
///   uid           the unprivileged uid of the plan
///   cgroup, degraded  what the host check found (sandbox/host.h)
///   static_policy whether the config turns the static policy on
nlohmann::ordered_json isolation_report(const sandbox::HostSandbox& host, const Config& config,
                                        int clone_flags);

/// One line for the start-up log: "namespaces pid,mount,...; seccomp on; uid 65534; cgroup ...".
std::string isolation_summary(const sandbox::HostSandbox& host, int clone_flags);

}  // namespace pyrunner
