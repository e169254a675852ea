#include "core/http/isolation.h"

#include "core/sandbox/namespaces.h"

namespace pyrunner {
namespace {

// install_seccomp sets no_new_privs and then loads the plan's filter; a child without either
// fails its confinement and never runs code. So both hold exactly when there is a filter.
bool has_seccomp(const sandbox::SandboxPlan& plan) { return !plan.seccomp_filter.empty(); }

std::string joined(const std::vector<std::string>& names) {
  std::string text;
  for (const auto& name : names) text += (text.empty() ? "" : ",") + name;
  return text.empty() ? "none" : text;
}

}  // namespace

nlohmann::ordered_json isolation_report(const sandbox::HostSandbox& host, const Config& config,
                                        int clone_flags) {
  return {{"namespaces", sandbox::namespace_names(clone_flags)},
          {"seccomp", has_seccomp(host.plan)},
          {"no_new_privs", has_seccomp(host.plan)},
          {"capabilities", "none"},
          {"uid", host.plan.uid},
          {"cgroup", host.cgroup_text},
          {"degraded", host.degraded},
          {"static_policy", config.policy.enabled}};
}

std::string isolation_summary(const sandbox::HostSandbox& host, int clone_flags) {
  return "namespaces " + joined(sandbox::namespace_names(clone_flags)) + "; seccomp " +
         (has_seccomp(host.plan) ? "on" : "off") + "; uid " + std::to_string(host.plan.uid) +
         "; cgroup " + host.cgroup_text;
}

}  // namespace pyrunner
